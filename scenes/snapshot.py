"""A rendered picture of a scene, made off screen (no display needed).

Buildings are coloured by use, the terrain by a hypsometric ramp, water blue,
roads grey, sensors as bright pins; the camera looks down at the city from
the south-south-west (``view="oblique"``) or straight down (``view="top"``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyvista as pv

from scenes.meshes import Scene, scene_bounds

__all__ = ["render_png", "VIEWS"]

VIEWS = {"oblique": (200.0, 35.0), "top": (180.0, 89.0), "north": (0.0, 30.0)}
"""View name -> (azimuth the camera stands at, degrees clockwise from north;
elevation above the horizon, degrees)."""

_LOOK = {
    "terrain": dict(smooth_shading=True, ambient=0.25, diffuse=0.8, specular=0.0),
    "buildings": dict(ambient=0.3, diffuse=0.75, specular=0.05),
    "roads": dict(ambient=0.35, diffuse=0.6),
    "water": dict(ambient=0.3, diffuse=0.6, specular=0.6, specular_power=30, opacity=0.92),
    "sensors": dict(smooth_shading=True, ambient=0.4, diffuse=0.7, specular=0.3),
    "bim": dict(ambient=0.3, diffuse=0.75),
}
_BACKGROUND = ("#dfe9f3", "#7f9cc0")  # top and bottom of the sky gradient


def render_png(scene: Scene, path: str | os.PathLike, *, window_size=(1600, 1000),
               view: str = "oblique") -> Path:
    """Render a scene to a PNG picture off screen.

    Parameters
    ----------
    scene : Scene
        Blocks coloured by their ``rgb`` point or cell data.
    path : path-like
        Output ``.png``; written to ``path.partial.png`` and renamed.
    window_size : (int, int)
        Width and height in pixels.
    view : {"oblique", "top", "north"}
        Camera direction, see :data:`VIEWS`.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> render_png(city_scene(city), "out/ezhou.png")  # doctest: +SKIP
    PosixPath('out/ezhou.png')
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose among {sorted(VIEWS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
    try:
        plotter.set_background(_BACKGROUND[1], top=_BACKGROUND[0])
        for name, block in scene.blocks.items():
            if block.n_cells:
                plotter.add_mesh(block, scalars="rgb", rgb=True, show_scalar_bar=False,
                                 **_LOOK.get(name, {}))
        plotter.enable_anti_aliasing("ssaa")
        _place_camera(plotter, scene, view)
        tmp = path.with_name(path.stem + ".partial.png")
        plotter.screenshot(str(tmp))
    finally:
        plotter.close()
    os.replace(tmp, path)
    return path


def _place_camera(plotter: pv.Plotter, scene: Scene, view: str) -> None:
    """Look at the scene centre from the view's direction, framing it all."""
    xmin, xmax, ymin, ymax, zmin, zmax = scene_bounds(scene)
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2])
    radius = 0.5 * float(np.hypot(xmax - xmin, ymax - ymin))
    azimuth, elevation = np.radians(VIEWS[view])
    direction = np.array([np.sin(azimuth) * np.cos(elevation),
                          np.cos(azimuth) * np.cos(elevation), np.sin(elevation)])
    angle = 30.0
    distance = radius / np.tan(np.radians(angle / 2)) * 0.75
    plotter.camera.focal_point = centre
    plotter.camera.position = centre + direction * distance
    plotter.camera.up = (0.0, 0.0, 1.0) if elevation < np.radians(80) else (0.0, 1.0, 0.0)
    plotter.camera.view_angle = angle
    plotter.reset_camera_clipping_range()
