"""The 3D view: the city scene in a synchronised Panel VTK pane.

One actor per layer (terrain, buildings, BIM, roads, lakes and rivers, flood
water, sensors). The pane sends the whole scene once; after that a frame
change, a colour mode, a highlight or a layer toggle updates the meshes here
and sends only what changed through a :class:`~viewer.scenestream.SceneStream`
(the wet cells of a fixed flood grid, runs of recoloured cells, visibilities),
which writes it into the browser's existing arrays: no scene rebuild, no new
WebGL context. The meshes here always hold what the browser shows, so a new
session's first scene is right.
"""
from __future__ import annotations

import numpy as np
import panel as pn
import pyvista as pv

from viewer import transport
from viewer.scenestream import SceneStream, color_runs, encode
from viewer.viewmodel import Camera, ViewModel

__all__ = ["Scene3D", "LAYERS"]

LAYERS: dict[str, str] = {"terrain": "Terrain", "buildings": "Buildings", "bim": "BIM model",
                          "roads": "Roads", "water": "Lakes and rivers", "flood": "Flood water",
                          "sensors": "Sensors"}
"""Layer key -> label of its toggle."""

_BACKGROUND = (0.06, 0.08, 0.12)


class Scene3D:
    """The city in 3D with replay, colouring, layers, highlight and cameras.

    Parameters
    ----------
    model : viewer.viewmodel.ViewModel
    width, height : int
        Pane size in pixels (fixed: a resizing canvas re-renders on every layout change).

    Examples
    --------
    >>> view = Scene3D(ViewModel(city, scene, run))  # doctest: +SKIP
    >>> view.show_frame(12); view.fly_to("venue")    # doctest: +SKIP
    """

    def __init__(self, model: ViewModel, *, width: int = 940, height: int = 640) -> None:
        self.model = model
        self.frame = 0
        self.color_mode = "use"
        self.highlighted: int | None = None
        self.visible = dict.fromkeys(LAYERS, True)
        transport.install()
        self.plotter = pv.Plotter(off_screen=True, window_size=(160, 120))
        # Panel's serializer renders the window before each synchronisation only to bring
        # the mappers up to date; the browser draws the picture, so the server updates the
        # pipelines instead of rendering (0.4 s a frame for the sample city in software GL)
        self.plotter.ren_win.Render = self._update_pipelines
        self.plotter.set_background(_BACKGROUND)
        self.meshes: dict[str, pv.PolyData] = {}
        self.actors: dict = {}
        for key in LAYERS:
            self._add_layer(key)
        self.pane = pn.pane.VTK(self.plotter.ren_win, width=width, height=height,
                                enable_keybindings=False, orientation_widget=False,
                                css_classes=["scene3d"])
        self.stream = SceneStream()
        self.panel = pn.Column(self.pane, self.stream, margin=0)
        """The pane and its stream, to put in a layout."""
        self._describe_water_grid()
        self.set_camera(model.camera_presets()["district"])

    # -- building ----------------------------------------------------------
    def _add_layer(self, key: str) -> None:
        blocks = self.model.scene.blocks
        if key == "flood":
            mesh = self._water_grid()
        elif key in blocks and blocks[key] is not None and blocks[key].n_points:
            mesh = blocks[key].copy(deep=True)
        else:
            return
        if key in ("buildings", "roads", "sensors"):
            mesh.cell_data["rgb"] = self.model.cell_colors(key, self._feature_colors(key))
        where = "cell" if "rgb" in mesh.cell_data else "point" if "rgb" in mesh.point_data else None
        kw = {"scalars": "rgb", "rgb": True, "preference": where} if where else {"color": "white"}
        # all opaque: a translucent layer costs the browser an extra render pass with its
        # own framebuffers and shaders (seconds to set up in software WebGL)
        actor = self.plotter.add_mesh(mesh, show_scalar_bar=False,
                                      name=key, **kw)
        if key == "flood":
            actor.SetVisibility(self._has_water())
        self.meshes[key] = mesh
        self.actors[key] = actor

    def _water_grid(self) -> pv.PolyData:
        self.surface = self.model.surface
        self.water_cells = 0
        if self.surface is None or self.surface.cells.size == 0:
            return _placeholder()
        mesh = self.surface.grid()
        mesh.cell_data["rgb"] = np.zeros((mesh.n_cells, 3), np.uint8)
        return mesh

    def _update_pipelines(self) -> None:
        for actor in self.actors.values():
            actor.GetMapper().Update()

    def _has_water(self) -> bool:
        return self.water_cells > 0

    def _feature_colors(self, key: str) -> np.ndarray:
        if key == "buildings":
            return self.model.building_colors(self.frame, self.color_mode,
                                              highlight=self.highlighted)
        if key == "roads":
            return self.model.road_colors(self.frame)
        return self.model.sensor_colors(self.frame)

    def _recolor(self, key: str) -> list[dict]:
        """New cell colours of layer ``key``; the runs of changed cells to send."""
        if key not in self.meshes:
            return []
        old = self.meshes[key].cell_data["rgb"]
        new = self.model.cell_colors(key, self._feature_colors(key))
        # a new array, not an in-place edit: the pane keys arrays it has sent by content
        self.meshes[key].cell_data["rgb"] = new
        runs = color_runs(np.asarray(old), new)
        return [] if runs is None else [{"actor": self.actors[key].__this__, **runs}]

    def _send(self, **delta) -> None:
        self.stream.send(delta)

    def _flood_visibility(self) -> dict[str, bool]:
        actor = self.actors["flood"]
        actor.SetVisibility(self._has_water() and self.visible["flood"])
        return {actor.__this__: bool(actor.GetVisibility())}

    # -- replay ------------------------------------------------------------
    def show_frame(self, i: int) -> None:
        """Show replay frame ``i``: flood water, building impact, closed roads, sensor status."""
        self.frame = int(i)
        if self.model.run is None:
            return
        if self.model.surface is not self.surface:    # another run: another flood grid
            self._replace_water_grid()
        wet, level, rgb = self.model.water_levels(self.frame)
        self.water_cells = int(wet.sum())
        water = None
        if self.surface.cells.size:
            mesh = self.meshes["flood"]
            mesh.points = self.surface.points(wet, level)
            wet, rgb = wet.ravel()[self.surface.cells], rgb[self.surface.cells]
            mesh.cell_data["rgb"] = rgb
            water = {"actor": self.actors["flood"].__this__, "wet": encode(np.packbits(wet)),
                     "level": encode(level[np.isfinite(level)].astype("<f4")),
                     "rgb": encode(rgb[wet])}
        colors = [run for key in ("buildings", "roads", "sensors") for run in self._recolor(key)]
        self._send(water=water, colors=colors, visible=self._flood_visibility())

    def _replace_water_grid(self) -> None:
        mesh = self._water_grid()
        mesh.set_active_scalars("rgb", preference="cell")
        self.meshes["flood"] = mesh
        self.actors["flood"].mapper.SetInputData(mesh)
        self._describe_water_grid()
        self.pane.synchronize()

    def _describe_water_grid(self) -> None:
        if self.surface is None or self.surface.cells.size == 0:
            return
        cx, cy = self.surface.corners
        rows, cols = self.surface.shape
        self.stream.grids = {self.actors["flood"].__this__: {
            "rows": rows, "cols": cols, "cells": encode(self.surface.cells.astype("<u4")),
            "cx": encode(cx.astype("<f8")), "cy": encode(cy.astype("<f8")),
            "floor": self.surface.floor}}

    # -- controls ------------------------------------------------------------
    def set_layers(self, visible: list[str]) -> None:
        """Show exactly the layers whose keys are in ``visible``."""
        self.visible = {k: k in visible for k in LAYERS}
        shown = {}
        for key, actor in self.actors.items():
            actor.SetVisibility(self.visible[key] and (key != "flood" or self._has_water()))
            shown[actor.__this__] = bool(actor.GetVisibility())
        self._send(visible=shown)

    def set_color_mode(self, mode: str) -> None:
        """Colour buildings by ``"use"``, ``"height"`` or ``"impact"``."""
        self.color_mode = mode
        self._send(colors=self._recolor("buildings"))

    def highlight(self, building_index: int | None) -> None:
        """Paint one building (row of ``city.buildings``) in the highlight colour."""
        self.highlighted = building_index
        self._send(colors=self._recolor("buildings"))

    def set_camera(self, camera: Camera) -> None:
        """Move the camera (browser and server side)."""
        cam = self.plotter.camera
        cam.position, cam.focal_point, cam.up = camera.position, camera.focal_point, \
            camera.view_up
        self.plotter.renderer.ResetCameraClippingRange()
        self.pane.camera = camera.as_vtk()

    def fly_to(self, where: str | tuple[float, float], *, distance: float = 600.0) -> None:
        """Camera preset by name (``"district"``, a place) or onto world point ``(x, y)``."""
        if isinstance(where, str):
            self.set_camera(self.model.camera_presets()[where])
        else:
            self.set_camera(self.model.camera_on(*where, distance=distance))

    def link(self, other: "Scene3D") -> None:
        """Share the camera with another view: moving one moves the other."""
        other.pane.camera = self.pane.camera
        for a, b in ((self, other), (other, self)):
            a.pane.param.watch(lambda e, b=b: _follow(b.pane, e.new), "camera")


def _follow(pane, camera: dict | None) -> None:
    if camera is not None and pane.camera != camera:
        pane.camera = camera


def _placeholder() -> pv.PolyData:
    mesh = pv.PolyData(np.zeros((3, 3), np.float32), faces=np.array([3, 0, 1, 2]))
    mesh.cell_data["depth"] = np.zeros(1, np.float32)
    mesh.cell_data["rgb"] = np.zeros((1, 3), np.uint8)
    return mesh
