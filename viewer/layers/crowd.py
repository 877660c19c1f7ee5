"""The crowd layer: people per square metre on the ground, the exits and how many
left by each, the crowd KPIs, and the close-an-exit / attendance what-ifs.

The crowd grid (``run.crowd``: ``density (time, y, x)`` in persons/m2) is drawn
as flood water is, a fixed mesh on the terrain over the cells ever occupied
(:class:`viewer.water.TerrainDrape`, at the crowd grid's resolution or the
terrain's, whichever is finer): each frame lifts the vertices of the occupied
cells :data:`LIFT_M` above the ground and sinks the others as far below it, so
the edge of the crowd runs half-way between them; vertices take the colour of
their cell's density class; exit cells are always shown in :data:`EXIT_COLOR`.

Examples
--------
>>> layer = CrowdLayer(ViewModel(city, scene, run))   # doctest: +SKIP
>>> shown, level, rgb = layer.surface_frame(3)         # doctest: +SKIP
"""
from __future__ import annotations

import html

import numpy as np
import panel as pn

from viewer import palette
from viewer.layers import Control, Kpi, Layer, Legend, register
from viewer.water import DrapeFrame, TerrainDrape, WaterSurface

__all__ = ["CrowdLayer", "DENSITY_BREAKS", "DENSITY_COLORS", "EXIT_COLOR", "LIFT_M",
           "crowd_settings", "crowd_changes"]

DENSITY_BREAKS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 6.0)
"""Class breaks of crowd density (persons/m2): free walking, comfortable, restricted,
dense, 4 (the alert level: pushing starts), crush risk."""

DENSITY_COLORS: tuple[palette.RGB, ...] = (
    (255, 244, 180), (255, 220, 110), (252, 160, 50), (235, 95, 45), (215, 40, 90),
    (235, 90, 220))
"""Density classes -> colour: pale yellow, yellow, orange, red-orange, crimson, magenta
(lightness falls with density, no red-green pair, all readable on the dark background)."""

EXIT_COLOR: palette.RGB = (70, 170, 255)
"""Cells of an exit (blue, apart from the warm density ramp)."""

LIFT_M = 0.3
"""Height of the density cells above the ground (m), so they sit on top of it."""

_MAP_PALETTE = (["#00000000"] + [palette.hex_color(c) + "cc" for c in DENSITY_COLORS]
                + [palette.hex_color(EXIT_COLOR) + "ff"])


def crowd_settings(scenario):
    """The ``[crowd]`` settings of a scenario (None without them)."""
    engines = getattr(scenario, "engines", None)
    return engines.get("crowd") if isinstance(engines, dict) else None


def crowd_changes(scenario, *, closed_exits=None, attendance: float | None = None,
                  current_attendance: float | None = None) -> dict:
    """The ``Scenario.with_changes`` keywords asking for exits ``closed_exits`` closed
    (when that set differs from the scenario's) and ``attendance`` people (when it
    differs from the scenario's number, or ``current_attendance`` where the scenario
    counts them at the gates).

    Examples
    --------
    >>> crowd_changes(s, closed_exits=["edge_south"])   # doctest: +SKIP
    {'close_exits': ['edge_south']}
    """
    cfg = crowd_settings(scenario)
    if cfg is None:
        return {}
    out: dict = {}
    if closed_exits is not None and set(closed_exits) != set(cfg.closed_exits):
        out["close_exits"] = [str(e) for e in closed_exits]
    now = cfg.attendance if not isinstance(cfg.attendance, str) else current_attendance
    if attendance is not None and (now is None or abs(float(attendance) - float(now)) > 0.5):
        out["attendance"] = float(attendance)
    return out


def _exit_label(name: str) -> str:
    return str(name).replace("_", " ")


@register
class CrowdLayer(Layer):
    """The crowd of a run (``run.crowd``, ``run.kpis``) on the screen."""

    name = "crowd"
    title = "Crowd"
    kpis = (Kpi("people_inside", "People inside"),
            Kpi("people_evacuated", "People out", higher_is_worse=False),
            Kpi("peak_density_pm2", "Peak density", "persons/m²", "{:.1f}"),
            Kpi("area_over_density_m2", "Area over the alert density", "m²", "{:,.0f}"),
            Kpi("time_to_clear_95_s", "95 % out after", "min", "{:.1f}", 1 / 60))

    def __init__(self, model) -> None:
        super().__init__(model)
        self._surface: WaterSurface | None = None
        self._drape: TerrainDrape | None = None
        self._density: tuple[int, np.ndarray] | None = None
        cfg = crowd_settings(getattr(model.run, "scenario", None))
        self.alert = float(getattr(cfg, "density_alert", 4.0))
        crowd = self.data
        self.exits = [str(e) for e in crowd["exit"].values] if crowd is not None else []
        self.kpis = type(self).kpis + tuple(
            Kpi(f"exited:{e}", f"Out by {_exit_label(e)}", higher_is_worse=False)
            for e in self.exits)

    # -- numbers -------------------------------------------------------------------------
    def exit_counts(self, i: int) -> dict[str, float]:
        """People out by each exit up to frame ``i``."""
        out = self.data["exited"].isel(time=int(i)).to_numpy().astype(float)
        return dict(zip(self.exits, out))

    def kpi_values(self, i: int) -> dict[str, float]:
        values = super().kpi_values(i)
        if self.data is not None and self.exits:
            values.update({f"exited:{e}": v for e, v in self.exit_counts(i).items()})
        return values

    # -- the density grid ---------------------------------------------------------------
    def density(self, i: int) -> np.ndarray:
        """Density (persons/m2) of frame ``i``, ``(y, x)``; the last one read is kept."""
        if self._density is None or self._density[0] != int(i):
            d = self.data["density"].isel(time=int(i)).to_numpy().astype(float)
            self._density = (int(i), np.nan_to_num(d))
        return self._density[1]

    def exit_mask(self) -> np.ndarray:
        """Boolean ``(y, x)``: the cells of an exit."""
        return self.data["exit_cells"].to_numpy() > 0

    def surface(self) -> WaterSurface:
        """The crowd grid, covering the cells ever occupied and the exits."""
        if self._surface is None:
            crowd = self.data
            x, y = crowd["x"].to_numpy(), crowd["y"].to_numpy()
            xx, yy = np.meshgrid(x, y)
            ground = self.model.city.terrain.sample(xx.ravel(), yy.ravel()).reshape(xx.shape)
            peak = crowd["peak_density"] if "peak_density" in crowd else crowd["density"].max("time")
            ever = (np.nan_to_num(peak.to_numpy()) > 0) | self.exit_mask()
            self._surface = WaterSurface(ground, x, y, tuple(self.model.origin),
                                         threshold=0.0, cells=np.flatnonzero(ever))
        return self._surface

    def drape(self) -> TerrainDrape:
        """The crowd surface the 3D view draws (exits in the last colour)."""
        if self._drape is None:
            s = self.surface()
            crowd = self.data
            ever = np.zeros(s.shape, bool)
            ever.ravel()[s.cells] = True
            self._drape = TerrainDrape.on_terrain(
                self.model.city.terrain, self.model.scene.blocks.get("terrain"),
                crowd["x"].to_numpy(), crowd["y"].to_numpy(), s.ground, ever,
                tuple(self.model.origin), palette=DENSITY_COLORS + (EXIT_COLOR,))
        return self._drape

    def drape_frame(self, i: int) -> DrapeFrame:
        """Vertices of occupied cells and exits :data:`LIFT_M` above the ground, the
        others as far below; each vertex in its cell's density class."""
        drape = self.drape()
        shown = self.shown(i)
        inside = drape.at_cells(shown) > 0
        cls = np.searchsorted(np.asarray(DENSITY_BREAKS), np.nan_to_num(
            drape.at_cells(self.density(i))), side="right")
        cls = np.where(drape.at_cells(self.exit_mask()) > 0, len(DENSITY_COLORS), cls)
        return DrapeFrame(np.where(inside, LIFT_M, -LIFT_M), cls.astype(np.uint8),
                          int(shown.sum()))

    def shown(self, i: int) -> np.ndarray:
        """Boolean ``(y, x)``: occupied cells and exits at frame ``i``."""
        return (self.density(i) > 0) | self.exit_mask()

    def cell_colors(self, i: int) -> np.ndarray:
        """uint8 ``(rows * cols, 3)``: density class colours, exit cells in :data:`EXIT_COLOR`."""
        rgb = palette.classify(self.density(i).ravel(), DENSITY_BREAKS, DENSITY_COLORS)
        rgb[self.exit_mask().ravel()] = EXIT_COLOR
        return rgb

    def surface_frame(self, i: int):
        shown = self.shown(i)
        _, level = self.surface().levels(np.where(shown, LIFT_M, 0.0))
        return shown, level, self.cell_colors(i)

    def map_image(self, i: int):
        """Density classes of frame ``i`` (uint8: 0 empty, 1.. the density classes, the
        last the exits; row 0 south) over the bounding box of the grid's cells, its
        extent and the map palette."""
        s = self.surface()
        if s.cells.size == 0:
            return None
        rows, cols = s.shape
        r, c = np.divmod(s.cells, cols)
        r0, r1, c0, c1 = r.min(), r.max() + 1, c.min(), c.max() + 1
        d = self.density(i)[r0:r1, c0:c1]
        k = np.searchsorted(np.asarray(DENSITY_BREAKS), d, side="right") + 1
        img = np.where(d > 0, k, 0)
        img = np.where(self.exit_mask()[r0:r1, c0:c1], len(DENSITY_COLORS) + 1, img)
        cx, cy = s.corners
        x0, y0 = self.model.origin[:2]
        west, east = cx[c0] + x0, cx[c1] + x0
        south, north = cy[r1] + y0, cy[r0] + y0
        return img.astype(np.uint8)[::-1], (west, south, east - west, north - south), \
            list(_MAP_PALETTE)

    def legends(self, building_mode: str) -> list[Legend]:
        labels = palette.class_labels(DENSITY_BREAKS, "persons/m²")
        labels = [lab + (" ⚠ alert" if lo >= self.alert else "")
                  for lab, lo in zip(labels, (0.0,) + DENSITY_BREAKS)]
        return [Legend("Crowd density", "persons/m²", key="crowd-density",
                       classes=tuple(zip(labels, DENSITY_COLORS))),
                Legend("Crowd", key="crowd-exits", classes=(("exit", EXIT_COLOR),))]

    # -- information ----------------------------------------------------------------------
    def _cell(self, x: float, y: float) -> tuple[int, int] | None:
        crowd = self.data
        xs, ys = crowd["x"].to_numpy(), crowd["y"].to_numpy()
        half = abs(float(xs[1] - xs[0])) / 2 if xs.size > 1 else 0.5
        c, r = int(np.abs(xs - x).argmin()), int(np.abs(ys - y).argmin())
        if abs(xs[c] - x) > half or abs(ys[r] - y) > half:
            return None
        return r, c

    def feature_at(self, x: float, y: float, i: int) -> str:
        cell = self._cell(x, y)
        if cell is None:
            return ""
        r, c = cell
        text = f"crowd density {self.density(i)[r, c]:.1f} persons/m²"
        k = int(self.data["exit_cells"].values[r, c])
        if 0 < k <= len(self.exits):
            name = self.exits[k - 1]
            text += (f"; exit {html.escape(_exit_label(name))}: "
                     f"{self.exit_counts(i)[name]:,.0f} people out so far")
        return text

    def building_info(self, row: int, i: int) -> str:
        crowd = self.data
        venue = str(crowd.attrs.get("venue", ""))
        if not venue or str(self.model.city.buildings["id"].iloc[int(row)]) != venue:
            return ""
        out = sum(self.exit_counts(i).values())
        n = float(crowd.attrs.get("attendance", float("nan")))
        exits = ", ".join(f"{html.escape(_exit_label(e))} {v:,.0f}"
                          for e, v in self.exit_counts(i).items())
        return (f'<div class="crowd-info"><b>Crowd</b>: {n:,.0f} attending, {out:,.0f} out '
                f'now ({exits})</div>')

    # -- what-ifs -------------------------------------------------------------------------
    def whatif_controls(self, scenario) -> list[Control]:
        cfg = crowd_settings(scenario)
        if cfg is None:
            return []
        known = self.exits or list(cfg.closed_exits)
        options = {_exit_label(e): e for e in dict.fromkeys(known + list(cfg.closed_exits))}
        close = pn.widgets.MultiChoice(label="Close exits", options=options,
                                       value=list(cfg.closed_exits),
                                       css_classes=["whatif-close-exits"],
                                       description="Exits closed for the whole run")
        current = cfg.attendance if not isinstance(cfg.attendance, str) else \
            float(self.data.attrs.get("attendance", 0)) if self.data is not None else None
        why = "" if current else "The attendance of this run is not known."
        people = pn.widgets.IntInput(label="Attendance", value=int(current or 0), start=1,
                                     end=2_000_000, step=500, disabled=bool(why),
                                     css_classes=["whatif-attendance"])
        return [Control(close, lambda: crowd_changes(scenario, closed_exits=close.value)),
                Control(people, lambda: crowd_changes(scenario, attendance=people.value,
                                                      current_attendance=current), why)]
