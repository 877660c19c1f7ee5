"""The flood layer: water on the ground, buildings by depth against their walls,
closed roads, the flood KPIs, and the rain / pumps / levee what-ifs.

Examples
--------
>>> layer = FloodLayer(ViewModel(city, scene, run))   # doctest: +SKIP
>>> shown, level, rgb = layer.surface_frame(10)        # doctest: +SKIP
"""
from __future__ import annotations

import html

import numpy as np
import panel as pn
import pyvista as pv

from viewer import palette
from viewer.layers import Control, Kpi, Layer, Legend, register
from viewer.water import DrapeFrame, TerrainDrape, WaterSurface

__all__ = ["FloodLayer", "variant_changes", "flood_settings", "RETURN_PERIODS", "WATER_LIFT_M"]

WATER_LIFT_M = 0.05
"""Water on screen is drawn at least this high above the ground (m), so a thin sheet
does not flicker against the terrain in the depth buffer."""

RETURN_PERIODS = {"as recorded": None, "2 years": 2, "5 years": 5, "10 years": 10,
                  "20 years": 20, "50 years": 50, "100 years": 100}
"""Label of the return-period choice -> years (None: the scenario's own rain)."""

_MAP_PALETTE = ["#00000000"] + [palette.hex_color(c) + "cc" for c in palette.DEPTH_COLORS]


def flood_settings(scenario):
    """The flood part of a scenario (``scenario.engines["flood"]``; a scenario of
    the older flat form is its own flood part); None without one."""
    if scenario is None:
        return None
    engines = getattr(scenario, "engines", None)
    if isinstance(engines, dict):
        return engines.get("flood")
    return scenario


def variant_changes(scenario, *, rain_scale: float, return_period: float | None,
                    pumps: bool, breach: bool) -> dict:
    """The ``Scenario.with_changes`` keywords that differ from ``scenario``.

    Examples
    --------
    >>> variant_changes(s, rain_scale=1.5, return_period=None, pumps=True,
    ...                 breach=False)  # doctest: +SKIP
    {'rain_scale': 1.5}
    """
    cfg = flood_settings(scenario)
    return {**_rain_change(cfg, rain_scale), **_period_change(cfg, return_period),
            **_pumps_change(cfg, pumps), **_breach_change(cfg, breach)}


def _rain_change(cfg, scale: float) -> dict:
    rain = getattr(cfg, "rain", None)
    return {"rain_scale": float(scale)} if rain is not None and abs(scale - rain.scale) > 1e-9 \
        else {}


def _period_change(cfg, years: float | None) -> dict:
    rain = getattr(cfg, "rain", None)
    if years is None or (rain is not None and rain.return_period == years):
        return {}
    return {"return_period": float(years)}


def _pumps_change(cfg, on: bool) -> dict:
    pumps = getattr(cfg, "pumps", ()) or ()
    return {"pumps": bool(on)} if pumps and on != any(p.enabled for p in pumps) else {}


def _breach_change(cfg, on: bool) -> dict:
    levee = getattr(cfg, "breach", None)
    return {"breach": bool(on)} if levee is not None and on != levee.enabled else {}


@register
class FloodLayer(Layer):
    """Flood water of a run (``run.flood``, ``run.impacts``) on the screen."""

    name = "flood"
    title = "Flood water"
    kpis = (Kpi("flooded_area_m2", "Flooded area", "ha", "{:,.1f}", 1e-4),
            Kpi("max_depth_m", "Max depth", "m", "{:.2f}"),
            Kpi("buildings_flooded", "Buildings flooded"),
            Kpi("roads_closed", "Roads closed"),
            Kpi("people_affected", "People affected"),
            Kpi("rain_mm_h", "Rain now", "mm/h", "{:.1f}"),
            Kpi("sensors_in_alarm", "Sensors in alarm"))
    building_modes = {"Flood impact": "impact"}

    def __init__(self, model) -> None:
        super().__init__(model)
        impacts = getattr(flood_settings(getattr(model.run, "scenario", None)), "impacts", None)
        self.road_closed_depth = float(getattr(impacts, "road_closed_depth_m", 0.3))
        self.building_flooded_depth = float(getattr(impacts, "building_flooded_depth_m", 0.15))
        self._surface: WaterSurface | None = None
        self._ever: np.ndarray | None = None
        self._drape: TerrainDrape | None = None
        self._depth: tuple[int, np.ndarray] | None = None

    # -- the water grid ------------------------------------------------------------
    def depth(self, i: int) -> np.ndarray:
        """Water depth grid (m) of frame ``i`` (the last one read is kept: the 3D view
        and the map ask for the same frame)."""
        if self._depth is None or self._depth[0] != int(i):
            self._depth = (int(i), np.nan_to_num(self.data["depth"].isel(time=int(i)).to_numpy()))
        return self._depth[1]

    def surface(self) -> WaterSurface:
        """The flood grid, covering only the cells the run ever wets."""
        if self._surface is None:
            flood = self.data
            x, y = flood["x"].to_numpy(), flood["y"].to_numpy()
            if "elevation" in flood:
                ground = flood["elevation"].to_numpy()
            else:
                xx, yy = np.meshgrid(x, y)
                ground = self.model.city.terrain.sample(xx.ravel(), yy.ravel()).reshape(xx.shape)
            peak = flood["max_depth"] if "max_depth" in flood else flood["depth"].max("time")
            origin = tuple(self.model.origin)
            ever = WaterSurface(ground, x, y, origin).wet(np.nan_to_num(peak.to_numpy()))
            self._surface = WaterSurface(ground, x, y, origin, cells=np.flatnonzero(ever))
            self._ever = ever
        return self._surface

    def drape(self) -> TerrainDrape:
        """The water surface the 3D view draws: a mesh on the terrain's vertices over
        the ever-wet cells, coloured by depth class."""
        if self._drape is None:
            s = self.surface()
            flood = self.data
            self._drape = TerrainDrape.on_terrain(
                self.model.city.terrain, self.model.scene.blocks.get("terrain"),
                flood["x"].to_numpy(), flood["y"].to_numpy(), s.ground, self._ever,
                tuple(self.model.origin), palette=palette.DEPTH_COLORS, lift=WATER_LIFT_M)
        return self._drape

    def drape_frame(self, i: int) -> DrapeFrame:
        """Water height above the ground at the drape's vertices at frame ``i`` (the
        level of the wet cells interpolated to the vertices, below the ground where
        dry) and the depth class of each vertex (dry ones the shallowest)."""
        d = self.depth(i)
        s = self.surface()
        wet = s.wet(d)
        h = self.drape().water_height(np.where(wet, s.ground + d, np.nan), s.ground,
                                      min_depth=s.threshold)
        cls = np.searchsorted(np.asarray(palette.DEPTH_BREAKS), np.maximum(h, 0.0), side="right")
        return DrapeFrame(h, cls.astype(np.uint8), int(wet.sum()))

    def surface_frame(self, i: int):
        d = self.depth(i)
        wet, level = self.surface().levels(d)
        return wet, level, palette.classify(d.ravel(), palette.DEPTH_BREAKS,
                                            palette.DEPTH_COLORS)

    def water(self, i: int) -> pv.PolyData:
        """The water surface of frame ``i`` as a mesh of its wet cells (cell data
        ``depth``, ``rgb``); empty when dry."""
        mesh = self.surface().frame(self.depth(i))
        if mesh.n_cells:
            mesh.cell_data["rgb"] = palette.classify(mesh.cell_data["depth"],
                                                     palette.DEPTH_BREAKS, palette.DEPTH_COLORS)
        return mesh

    def map_image(self, i: int):
        """Depth classes of frame ``i`` (uint8, 0 dry, row 0 south) over the bounding box
        of the ever-wet cells, its extent and the map palette."""
        s = self.surface()
        rows, cols = s.shape
        if s.cells.size == 0:
            return None
        r, c = np.divmod(s.cells, cols)
        r0, r1, c0, c1 = r.min(), r.max() + 1, c.min(), c.max() + 1
        d = self.depth(i)[r0:r1, c0:c1]
        k = np.searchsorted(np.asarray(palette.DEPTH_BREAKS), d, side="right") + 1
        img = np.where(d > s.threshold, k, 0).astype(np.uint8)[::-1]
        cx, cy = s.corners
        x0, y0 = self.model.origin[:2]
        west, east = cx[c0] + x0, cx[c1] + x0
        south, north = cy[r1] + y0, cy[r0] + y0
        return img, (west, south, east - west, north - south), _MAP_PALETTE

    # -- impacts -------------------------------------------------------------------------
    def _impacts(self):
        return getattr(self.model.run, "impacts", None)

    def building_depth(self, i: int) -> np.ndarray:
        """Depth (m) against each building row at frame ``i``."""
        imp = self._impacts()
        if imp is None:
            return np.zeros(len(self.model.city.buildings))
        return np.nan_to_num(imp.building_depth.isel(time=int(i)).to_numpy())

    def road_depth(self, i: int) -> np.ndarray:
        """Depth (m) along each road row at frame ``i``."""
        imp = self._impacts()
        if imp is None:
            return np.zeros(len(self.model.city.roads))
        return np.nan_to_num(imp.road_depth.isel(time=int(i)).to_numpy())

    def road_closed(self, i: int) -> np.ndarray:
        return self.road_depth(i) >= self.road_closed_depth

    def building_colors(self, mode: str, i: int):
        if mode != "impact":
            return None
        return palette.classify(self.building_depth(i), palette.DEPTH_BREAKS,
                                palette.IMPACT_COLORS)

    def road_colors(self, i: int, rgb: np.ndarray) -> np.ndarray:
        out = rgb.copy()
        out[self.road_closed(i)] = palette.ROAD_CLOSED
        return out

    def legends(self, building_mode: str) -> list[Legend]:
        labels = palette.class_labels(palette.DEPTH_BREAKS, "m")
        out = [Legend("Flood water depth", "m", key="flood-depth",
                      classes=tuple(zip(["0.01–0.15 m"] + labels[1:], palette.DEPTH_COLORS))),
               Legend("Roads", key="flood-roads", classes=(
                   (f"closed (≥ {self.road_closed_depth:g} m of water)", palette.ROAD_CLOSED),))]
        if building_mode == "impact":
            out.insert(0, Legend("Buildings: water against the walls", "m",
                                 key="flood-impact", classes=tuple(zip(
                                     ["dry or < 0.15 m"] + labels[1:], palette.IMPACT_COLORS))))
        return out

    # -- information ----------------------------------------------------------------------
    def building_info(self, row: int, i: int) -> str:
        imp = self._impacts()
        if imp is None:
            return ""
        series = np.nan_to_num(imp.building_depth.isel(building=int(row)).to_numpy())
        times = self.model.times
        local = times.tz_convert(self.model.city.timezone)
        now = series[min(int(i), len(series) - 1)]
        peak = int(series.argmax()) if series.size else 0
        wet = np.flatnonzero(series >= self.building_flooded_depth)
        since = local[wet[0]].strftime("%H:%M") if wet.size else None
        state = (f"flooded from {since} ({self.building_flooded_depth:g} m or more)"
                 if since else f"never flooded (stays under {self.building_flooded_depth:g} m)")
        spark = _sparkline(series, self.building_flooded_depth)
        return (f'<div class="flood-info"><b>Flood</b>: {html.escape(state)}<br>'
                f'water against the walls now {now:.2f} m; highest {series.max():.2f} m at '
                f'{local[peak].strftime("%H:%M")}{spark}</div>')

    def feature_at(self, x: float, y: float, i: int) -> str:
        flood = self.data
        xs, ys = flood["x"].to_numpy(), flood["y"].to_numpy()
        half = abs(float(xs[1] - xs[0])) / 2 if xs.size > 1 else 0.5
        c, r = int(np.abs(xs - x).argmin()), int(np.abs(ys - y).argmin())
        if abs(xs[c] - x) > half or abs(ys[r] - y) > half:
            return ""
        return f"water depth {self.depth(i)[r, c]:.2f} m"

    # -- what-ifs -------------------------------------------------------------------------
    def whatif_controls(self, scenario) -> list[Control]:
        cfg = flood_settings(scenario)
        if cfg is None:
            return []
        rain = getattr(cfg, "rain", None)
        pump_list = getattr(cfg, "pumps", ()) or ()
        levee = getattr(cfg, "breach", None)
        design = getattr(rain, "source", "") == "design"
        why = {
            "rain": "" if rain is not None else "This scenario has no rain to scale.",
            "period": "" if design else ("Return periods apply to design storms; this "
                                         "scenario replays recorded rain."),
            "pumps": "" if pump_list else "This scenario has no pumping station.",
            "breach": "" if levee is not None else "This scenario has no levee breach to switch.",
        }
        scale = pn.widgets.FloatSlider(label="Rain scale", start=0.5, end=3.0, step=0.1,
                                       value=getattr(rain, "scale", 1.0),
                                       disabled=bool(why["rain"]), css_classes=["whatif-rain"])
        period = pn.widgets.Select(label="Design storm return period",
                                   options=list(RETURN_PERIODS), value="as recorded",
                                   disabled=bool(why["period"]), css_classes=["whatif-period"],
                                   description=why["period"] or "A design storm of this "
                                   "return period")
        pumps = pn.widgets.Checkbox(label="Pumps on", value=any(p.enabled for p in pump_list),
                                    disabled=bool(why["pumps"]), css_classes=["whatif-pumps"])
        breach = pn.widgets.Checkbox(label="Levee breach",
                                     value=bool(levee is not None and levee.enabled),
                                     disabled=bool(why["breach"]), css_classes=["whatif-breach"])

        return [Control(scale, lambda: _rain_change(cfg, scale.value), why["rain"]),
                Control(period, lambda: _period_change(cfg, RETURN_PERIODS[period.value]),
                        why["period"]),
                Control(pumps, lambda: _pumps_change(cfg, pumps.value), why["pumps"]),
                Control(breach, lambda: _breach_change(cfg, breach.value), why["breach"])]


def _sparkline(series: np.ndarray, threshold: float, width: int = 220, height: int = 40) -> str:
    """An inline SVG of a depth series with its threshold line."""
    if series.size < 2:
        return ""
    top = max(float(series.max()), threshold) * 1.1 or 1.0
    xs = np.linspace(0, width, series.size)
    ys = height - series / top * height
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    ty = height - threshold / top * height
    return (f'<svg class="depth-spark" width="{width}" height="{height}" role="img" '
            f'aria-label="depth over the run"><polyline points="{pts}" fill="none" '
            f'stroke="#7fd4ff" stroke-width="2"/><line x1="0" x2="{width}" y1="{ty:.1f}" '
            f'y2="{ty:.1f}" stroke="#ffb020" stroke-dasharray="4 3"/></svg>')

