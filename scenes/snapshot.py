"""A rendered picture of a scene, made off screen (no display needed).

Buildings are coloured by use, the terrain by a hypsometric ramp, water blue,
roads grey, sensors as bright pins; the camera looks down at the city from
the south-south-west (``view="oblique"``) or straight down (``view="top"``).

:func:`render_run` draws a run over its city at one frame (or its maxima):
flood depth as a smooth water surface, crowd density draped on the ground,
traffic speed as coloured lines along the roads (layers from
:mod:`scenes.runlayers`), under a dark sky, with the clock and one legend per
layer drawn on top (:mod:`scenes.overlay`).
"""
from __future__ import annotations

import os
from pathlib import Path

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
import pyvista as pv
from PIL import Image

from scenes.meshes import Scene, city_scene, scene_bounds
from scenes.runlayers import RunLayer, frame_index, frame_label, run_layers

__all__ = ["render_png", "render_run", "Picture", "VIEWS"]

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
    "venue": dict(ambient=0.4, diffuse=0.6, opacity=0.3),
}
_BACKGROUND = ("#dfe9f3", "#7f9cc0")  # top and bottom of the sky gradient
_NIGHT = ("#2a3a4f", "#0d141d")       # the dark sky of run pictures, top and bottom


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
    rgb = _screenshot(scene, window_size, view)
    return _write(rgb, Path(path))


@dataclass
class Picture:
    """A rendered run picture and where its parts are.

    Attributes
    ----------
    path : pathlib.Path
    frame : int or None
        The frame drawn, None for the maxima.
    time : pandas.Timestamp or None
        Its local time.
    layers : list of str
        The run layers drawn (``flood``, ``crowd``, ``traffic``).
    boxes : dict
        ``"clock"``, ``"legend:<layer>"`` -> ``(x0, y0, x1, y1)`` pixels.
    """

    path: Path
    frame: int | None
    time: pd.Timestamp | None
    layers: list[str] = field(default_factory=list)
    boxes: dict[str, tuple] = field(default_factory=dict)


def render_run(city, run, path: str | os.PathLike, *, frame="max", window_size=(1600, 1000),
               view: str = "oblique", terrain_step: int = 1) -> Picture:
    """Render a run over its city at one frame, with its clock and legends.

    Parameters
    ----------
    city : twin.City
        The run's city.
    run : twin.Run
    path : path-like
        Output ``.png`` (written to a temporary name and renamed).
    frame : int or str
        A frame number ``0..n-1``, ``"last"``, or ``"max"`` for the maxima
        (flood ``max_depth``, crowd ``peak_density``, lowest traffic speeds).
    window_size : (int, int)
    view : {"oblique", "top", "north"}
    terrain_step : int
        Use every n-th terrain cell.

    Returns
    -------
    Picture

    Raises
    ------
    DataError
        A frame that is not in the run.

    Examples
    --------
    >>> pic = render_run(city, open_run("runs/demo.zarr"), "out/demo-flood.png")  # doctest: +SKIP
    >>> pic.layers, sorted(pic.boxes)                                              # doctest: +SKIP
    (['flood'], ['clock', 'legend:flood'])
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose among {sorted(VIEWS)}")
    index = frame_index(run, frame)
    scene = city_scene(city, terrain_step=terrain_step)
    layers = run_layers(run, city, scene.origin, index, terrain_step=terrain_step)
    if "crowd" in [layer.name for layer in layers]:
        scene = _venue_see_through(scene, city, run["crowd"].attrs.get("venue"))
    rgb = _screenshot(scene, window_size, view, layers=layers, sky=_NIGHT, zoom=1.2,
                      focus=_focus(scene, layers))
    from scenes.overlay import draw_panels
    name = run.name or Path(run.path).stem
    status = getattr(run, "status", "complete")
    subtitle = frame_label(run, index) + ("" if status == "complete" else f" · {status} run")
    rgb, boxes = draw_panels(rgb, title=name, subtitle=subtitle,
                             legends=[(layer.name, layer.legend) for layer in layers])
    out = _write(rgb, Path(path))
    return Picture(out, index, None if index is None else run.times[index],
                   [layer.name for layer in layers], boxes)


def _screenshot(scene: Scene, window_size, view: str, *, layers: Sequence[RunLayer] = (),
                sky=_BACKGROUND, zoom: float = 1.0, focus=None) -> np.ndarray:
    """The scene (and run layers) rendered off screen, ``(height, width, 3)`` uint8."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose among {sorted(VIEWS)}")
    plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
    try:
        plotter.set_background(sky[1], top=sky[0])
        for name, block in scene.blocks.items():
            if block.n_cells:
                plotter.add_mesh(block, scalars="rgb", rgb=True, show_scalar_bar=False,
                                 **_LOOK.get(name, {}))
        width = max(2.0, 3.0 * min(window_size) / 1000)
        for layer in layers:
            look = (dict(line_width=width, render_lines_as_tubes=True, ambient=0.6, diffuse=0.5)
                    if layer.lines else dict(smooth_shading=True, ambient=0.45, diffuse=0.6,
                                             specular=0.25, specular_power=25))
            plotter.add_mesh(layer.mesh, scalars="klass", cmap=layer.legend.lookup_table(),
                             clim=(0.0, float(len(layer.legend.colors))),
                             interpolate_before_map=True, show_scalar_bar=False, **look)
        plotter.enable_anti_aliasing("ssaa")
        _place_camera(plotter, scene, view, zoom, focus)
        rgb = plotter.screenshot(return_img=True)
    finally:
        plotter.close()
    return np.asarray(rgb)[..., :3].astype(np.uint8)


def _venue_see_through(scene: Scene, city, venue) -> Scene:
    """The scene with the crowd's venue building in a block of its own (drawn
    see-through, so the crowd in the stands shows)."""
    block = scene.blocks.get("buildings")
    ids = city.buildings["id"].astype(str).to_numpy() if len(city.buildings) else []
    if venue is None or block is None or str(venue) not in ids or \
            "building_index" not in block.cell_data:
        return scene
    row = int(np.flatnonzero(ids == str(venue))[0])
    mine = np.asarray(block.cell_data["building_index"]) == row
    blocks = dict(scene.blocks)
    for name, cells in (("buildings", ~mine), ("venue", mine)):
        part = block.extract_cells(np.flatnonzero(cells))
        blocks[name] = part.extract_surface(algorithm="dataset_surface")
    return Scene(scene.origin, scene.crs, blocks)


def _focus(scene: Scene, layers: Sequence[RunLayer], *, least: float = 600.0):
    """Bounds to frame when a crowd is drawn (a venue's surroundings, with the
    other layers there): the crowd's box grown by half, at least ``least``
    metres across; None (the whole city) without a crowd or when the crowd
    covers half the city."""
    crowd = [layer for layer in layers if layer.name == "crowd"]
    if not crowd:
        return None
    lo, hi = np.array(crowd[0].mesh.bounds[0::2]), np.array(crowd[0].mesh.bounds[1::2])
    full = np.array(scene_bounds(scene))
    size = hi[:2] - lo[:2]
    if (size > 0.5 * (full[1::2][:2] - full[0::2][:2])).any():
        return None
    half = np.maximum(size * 0.75, least / 2)
    mid = (lo[:2] + hi[:2]) / 2
    return (mid[0] - half[0], mid[0] + half[0], mid[1] - half[1], mid[1] + half[1],
            full[4], full[5])


def _write(rgb: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial.png")
    Image.fromarray(rgb).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def _place_camera(plotter: pv.Plotter, scene: Scene, view: str, zoom: float = 1.0,
                  focus=None) -> None:
    """Look at the scene centre (or the ``focus`` bounds) from the view's
    direction, framing it all (``zoom`` > 1 comes closer)."""
    xmin, xmax, ymin, ymax, zmin, zmax = scene_bounds(scene) if focus is None else focus
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2])
    radius = 0.5 * float(np.hypot(xmax - xmin, ymax - ymin))
    azimuth, elevation = np.radians(VIEWS[view])
    direction = np.array([np.sin(azimuth) * np.cos(elevation),
                          np.cos(azimuth) * np.cos(elevation), np.sin(elevation)])
    angle = 30.0
    distance = radius / np.tan(np.radians(angle / 2)) * 0.75 / zoom
    plotter.camera.focal_point = centre
    plotter.camera.position = centre + direction * distance
    plotter.camera.up = (0.0, 0.0, 1.0) if elevation < np.radians(80) else (0.0, 1.0, 0.0)
    plotter.camera.view_angle = angle
    plotter.reset_camera_clipping_range()
