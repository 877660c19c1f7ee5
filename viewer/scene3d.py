"""The 3D view: the city scene in a synchronised Panel VTK pane.

One actor per city layer (terrain, buildings, BIM, roads, lakes and rivers,
sensors) and one per engine layer that draws a grid on the ground (flood
water, crowd density) as a surface on the terrain
(:class:`viewer.water.TerrainDrape`). The pane sends the whole scene once;
after that a frame change, a colour mode, a pick or a layer toggle updates the
meshes here and sends only what changed through a
:class:`~viewer.scenestream.SceneStream` (the heights and colour classes of
the surface vertices that changed, quantised; runs of recoloured cells;
visibilities), which writes it into the browser's existing arrays: no scene
rebuild, no new WebGL context. The meshes here always hold what the browser shows, so a new
session's first scene is right. A click in the view comes back as a ray that
:meth:`Scene3D.pick` casts into the meshes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import panel as pn
import pyvista as pv

from viewer import transport
from viewer.scenestream import SceneStream, click_ray, color_runs, encode, quantize, vertex_update
from viewer.viewmodel import Camera, ViewModel

__all__ = ["Scene3D", "CITY_LAYERS", "FEATURES"]

CITY_LAYERS: dict[str, str] = {"terrain": "Terrain", "buildings": "Buildings", "bim": "BIM model",
                               "roads": "Roads", "water": "Lakes and rivers",
                               "sensors": "Sensors"}
"""City layer key -> label of its toggle (engine layers add theirs)."""

FEATURES = ("buildings", "roads", "sensors")
"""Scene blocks whose cells belong to a feature (``<feature>_index`` cell data)."""

_BACKGROUND = (0.06, 0.08, 0.12)

_BELOW_M = 20.0
"""Surface vertices are sent at most this far below the lowest ground of their mesh."""
_ABOVE_M = 100.0
"""... and at most this far above its highest ground."""


class Scene3D:
    """The city in 3D with replay, colouring, layers, picking and cameras.

    Parameters
    ----------
    model : viewer.viewmodel.ViewModel
    width, height : int
        Pane size in pixels; without ``width`` the pane fills the width of its column
        (the stream redraws it only when its size really changes).
    on_pick : callable, optional
        Called with ``(kind, row)`` when a building, road or sensor is clicked in 3D
        (``(None, None)`` for empty ground).
    on_drawn : callable, optional
        Called with each replay frame the browser has drawn.

    Examples
    --------
    >>> view = Scene3D(ViewModel(city, scene, run))  # doctest: +SKIP
    >>> view.show_frame(12); view.fly_to("venue")    # doctest: +SKIP
    """

    def __init__(self, model: ViewModel, *, width: int | None = None, height: int = 600,
                 on_pick: Callable[[str | None, int | None], None] | None = None,
                 on_drawn: Callable[[int], None] | None = None) -> None:
        self.model = model
        self.frame = 0
        self.color_mode = "use"
        self.selected: tuple[str, int] | None = None
        self.on_pick = on_pick
        self.visible = dict.fromkeys(self.toggles(), True)
        transport.install()
        self.plotter = pv.Plotter(off_screen=True, window_size=(160, 120))
        # Panel's serializer renders the window before each synchronisation only to bring
        # the mappers up to date; the browser draws the picture, so the server updates the
        # pipelines instead of rendering (0.4 s a frame for the sample city in software GL)
        self.plotter.ren_win.Render = self._update_pipelines
        self.plotter.set_background(_BACKGROUND)
        self.meshes: dict[str, pv.PolyData] = {}
        self.actors: dict = {}
        self.surfaces: dict = {}
        self.shown_cells: dict[str, int] = {}
        self._vertices: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        self._quantum: dict[str, tuple[float, float]] = {}
        self._up: dict[str, np.ndarray] = {}
        self._updates = 0
        for key in CITY_LAYERS:
            self._add_city_layer(key)
        for name in model.layers:
            self._add_grid_layer(name)
        own = f"scene3d-{id(self):x}"
        size = {"width": width} if width else {"sizing_mode": "stretch_width"}
        self.pane = pn.pane.VTK(self.plotter.ren_win, height=height, enable_keybindings=False,
                                orientation_widget=False, css_classes=["scene3d", own], **size)
        self.stream = SceneStream(on_click=self._clicked, on_drawn=on_drawn,
                                  on_resync=self._resync, pane_class=own)
        self.panel = pn.Column(self.pane, self.stream, margin=0, **size)
        """The pane and its stream, to put in a layout."""
        self._describe_grids()
        self.set_camera(model.camera_presets()["district"])

    def toggles(self) -> dict[str, str]:
        """Layer key -> toggle label: the city's layers, then the engines'."""
        return {**CITY_LAYERS, **{k: v.title for k, v in self.model.layers.items()}}

    # -- building ----------------------------------------------------------
    def _add_city_layer(self, key: str) -> None:
        blocks = self.model.scene.blocks
        if key not in blocks or blocks[key] is None or not blocks[key].n_points:
            return
        mesh = blocks[key].copy(deep=True)
        if key in FEATURES:
            mesh.cell_data["rgb"] = self.model.cell_colors(key, self._feature_colors(key))
        self._add_actor(key, mesh)

    def _add_actor(self, key: str, mesh: pv.PolyData) -> None:
        where = "cell" if "rgb" in mesh.cell_data else "point" if "rgb" in mesh.point_data else None
        kw = {"scalars": "rgb", "rgb": True, "preference": where} if where else {"color": "white"}
        # all opaque: a translucent layer costs the browser an extra render pass with its
        # own framebuffers and shaders (seconds to set up in software WebGL)
        self.actors[key] = self.plotter.add_mesh(mesh, show_scalar_bar=False, name=key, **kw)
        self.meshes[key] = mesh

    def _add_grid_layer(self, name: str) -> None:
        mesh = self._grid_mesh(name)
        if mesh is None:
            return
        self._add_actor(name, mesh)
        self.actors[name].SetVisibility(False)

    def _grid_mesh(self, name: str) -> pv.PolyData | None:
        drape = self.model.layers[name].drape() if self.model.run is not None else None
        if drape is None:
            return None
        self.surfaces[name] = drape
        self.shown_cells[name] = 0
        if drape.n_points == 0:
            return _placeholder()
        mesh = drape.mesh()
        low, high = float(drape.ground.min()), float(drape.ground.max())
        floor = low - _BELOW_M - drape.origin[2]
        scale = max(0.01, (high - low + _BELOW_M + _ABOVE_M) / 65535)
        self._quantum[name] = (floor, scale)
        z = quantize(mesh.points[:, 2], floor, scale)
        mesh.points[:, 2] = floor + z * scale
        self._vertices[name] = (z, np.zeros(drape.n_points, np.uint8), 0)
        return mesh

    def _update_pipelines(self) -> None:
        for actor in self.actors.values():
            actor.GetMapper().Update()

    @property
    def water_cells(self) -> int:
        """Wet cells of the flood grid on screen (0 without flood)."""
        return self.shown_cells.get("flood", 0)

    def _feature_colors(self, key: str) -> np.ndarray:
        row = self.selected[1] if self.selected and self.selected[0] == key else None
        if key == "buildings":
            return self.model.building_colors(self.frame, self.color_mode, highlight=row)
        if key == "roads":
            return self.model.road_colors(self.frame, highlight=row)
        return self.model.sensor_colors(self.frame, highlight=row)

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
        self.stream.send({**delta, "frame": self.frame})

    def _grid_visibility(self) -> dict[str, bool]:
        out = {}
        for name in self.surfaces:
            actor = self.actors[name]
            actor.SetVisibility(self.shown_cells[name] > 0 and self.visible.get(name, True))
            out[actor.__this__] = bool(actor.GetVisibility())
        return out

    # -- replay ------------------------------------------------------------
    def show_frame(self, i: int) -> None:
        """Show replay frame ``i``: engine grids (water), building, road and sensor states."""
        self.frame = int(i)
        if self.model.run is None:
            return
        if set(self.surfaces) != {k for k, v in self.model.layers.items()
                                  if v.drape() is not None} or any(
                self.model.layers[k].drape() is not s for k, s in self.surfaces.items()):
            self._replace_grids()
        grids = [g for name in self.surfaces if (g := self._grid_frame(name)) is not None]
        colors = [run for key in FEATURES for run in self._recolor(key)]
        self._send(surfaces=grids, colors=colors, visible=self._grid_visibility())

    def _grid_frame(self, name: str) -> dict | None:
        """Move the vertices of grid ``name`` to the frame; the update of the vertices
        that changed (None when the grid has none)."""
        drape = self.surfaces[name]
        frame = self.model.layers[name].drape_frame(self.frame)
        self.shown_cells[name] = int(frame.cells)
        if drape.n_points == 0:
            return None
        floor, scale = self._quantum[name]
        z = quantize(drape.heights(frame.height), floor, scale)
        cls = np.asarray(frame.cls, np.uint8)
        mesh = self.meshes[name]
        # new arrays, not in-place edits: the pane keys arrays it has sent by content
        mesh.points = np.column_stack([mesh.points[:, :2],
                                       (floor + z * scale).astype(np.float32)])
        mesh.point_data["rgb"] = drape.colors(cls)
        old_z, old_cls, base = self._vertices[name]
        self._updates += 1
        self._vertices[name] = (z, cls, self._updates)
        self._up[name] = np.asarray(frame.height) > 0
        return {"actor": self.actors[name].__this__, "id": self._updates, "base": base,
                **vertex_update((old_z, old_cls), (z, cls), self._up[name])}

    def _resync(self, actor: str) -> None:
        """The browser missed an update of a surface: send all its vertices."""
        for name in self.surfaces:
            if name in self.actors and self.actors[name].__this__ == actor \
                    and name in self._vertices:
                z, cls, _ = self._vertices[name]
                self._updates += 1
                self._vertices[name] = (z, cls, self._updates)
                self._send(surfaces=[{"actor": actor, "id": self._updates, "base": -1,
                                      **vertex_update(None, (z, cls), self._up.get(name))}])

    def _replace_grids(self) -> None:
        """Another run: its grids replace the old ones (one re-synchronisation)."""
        for name in list(self.surfaces):
            self.plotter.remove_actor(self.actors.pop(name))
            self.meshes.pop(name)
        self.surfaces, self.shown_cells, self._vertices, self._quantum = {}, {}, {}, {}
        for name in self.model.layers:
            self._add_grid_layer(name)
        self.visible = {**dict.fromkeys(self.toggles(), True), **self.visible}
        self._describe_grids()
        self.pane.synchronize()

    def _describe_grids(self) -> None:
        grids = {}
        for name, drape in self.surfaces.items():
            if drape.n_points == 0:
                continue
            floor, scale = self._quantum[name]
            grids[self.actors[name].__this__] = {
                "n": drape.n_points, "floor": floor, "scale": scale,
                "palette": encode(drape.palette.astype(np.uint8))}
        self.stream.grids = grids

    # -- controls ------------------------------------------------------------
    def set_layers(self, visible: list[str]) -> None:
        """Show exactly the layers whose keys are in ``visible``."""
        self.visible = {k: k in visible for k in self.toggles()}
        shown = {}
        for key, actor in self.actors.items():
            actor.SetVisibility(self.visible.get(key, False) and
                                (key not in self.surfaces or self.shown_cells[key] > 0))
            shown[actor.__this__] = bool(actor.GetVisibility())
        self._send(visible=shown)

    def set_color_mode(self, mode: str) -> None:
        """Colour buildings by a mode of :attr:`ViewModel.building_modes`."""
        self.color_mode = mode
        self._send(colors=self._recolor("buildings"))

    def select(self, kind: str | None, row: int | None) -> None:
        """Paint one feature (``kind`` in :data:`FEATURES`, its row) in the highlight
        colour; ``None`` clears."""
        before = self.selected[0] if self.selected else None
        self.selected = (kind, int(row)) if kind is not None and row is not None else None
        keys = {k for k in (before, kind) if k in FEATURES}
        self._send(colors=[run for key in sorted(keys) for run in self._recolor(key)])

    def highlight(self, building_index: int | None) -> None:
        """Paint one building (row of ``city.buildings``) in the highlight colour."""
        self.select("buildings" if building_index is not None else None, building_index)

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

    # -- picking -------------------------------------------------------------
    def pick(self, origin, direction) -> tuple[str | None, int | None]:
        """The nearest visible building, road or sensor hit by the ray from ``origin``
        along ``direction`` (local coordinates): ``(kind, row)`` or ``(None, None)``.

        Examples
        --------
        >>> view.pick((0, -600, 600), (0, 1, -1))   # doctest: +SKIP
        ('buildings', 17)
        """
        o = np.asarray(origin, float)
        d = np.asarray(direction, float)
        d = d / np.linalg.norm(d)
        far = o + d * 1e6
        best = (np.inf, None, None)
        for key in FEATURES:
            if key not in self.meshes or not self.visible.get(key, True):
                continue
            mesh = self.model.scene.blocks[key]
            points, cells = mesh.ray_trace(o, far, first_point=True)
            if len(cells):
                dist = float(np.linalg.norm(np.asarray(points) - o))
                if key == "roads":       # flat ribbons on the ground: let buildings win ties
                    dist += 0.5
                if dist < best[0]:
                    index = mesh.cell_data[f"{key[:-1]}_index"][int(np.atleast_1d(cells)[0])]
                    best = (dist, key, int(index))
        return best[1], best[2]

    def _clicked(self, click: dict) -> None:
        kind, row = self.pick(*click_ray(click))
        if self.on_pick is not None:
            self.on_pick(kind, row)


def _follow(pane, camera: dict | None) -> None:
    if camera is not None and pane.camera != camera:
        pane.camera = camera


def _placeholder() -> pv.PolyData:
    mesh = pv.PolyData(np.zeros((3, 3), np.float32), faces=np.array([3, 0, 1, 2]))
    mesh.cell_data["rgb"] = np.zeros((1, 3), np.uint8)
    return mesh
