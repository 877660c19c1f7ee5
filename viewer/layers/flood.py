"""The flood layer: water on the ground, buildings by depth against their walls,
closed roads, the flood KPIs, and the rain / pumps / levee what-ifs.

As flood maps do, the layer shows water above the normal surface of the city's
permanent water (``city.water``: lakes, rivers, canals, drawn by the scene's own
"Lakes and rivers" layer at their level): on a water body's cells the flood is
shown only where it stands more than :data:`RISE_M` above the body's normal
level, at its own level and coloured by that rise; a lake at its normal level
shows only the static lake, in 3D and on the map. The impacts (buildings, roads,
KPIs) already leave permanent water out (:mod:`twin.engines.flood.impacts`).

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
import rasterio.features

from scenes.geometry import water_levels
from scenes.water import grid_transform
from viewer import palette
from viewer.layers import Control, Kpi, Layer, Legend, register
from viewer.water import DrapeFrame, TerrainDrape, WaterSurface

__all__ = ["FloodLayer", "variant_changes", "flood_settings", "RETURN_PERIODS", "WATER_LIFT_M",
           "RISE_M"]

WATER_LIFT_M = 0.05
"""Water on screen is drawn at least this high above the ground (m), so a thin sheet
does not flicker against the terrain in the depth buffer."""

RISE_M = 0.05
"""On a lake, river or canal the flood is shown only where its level is more than
this (m) above the water body's normal level (the level its static layer is drawn at)."""

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
        self._bodies: tuple[np.ndarray, np.ndarray] | None = None
        self._normal_at: np.ndarray | None = None

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

    def water_bodies(self) -> tuple[np.ndarray, np.ndarray]:
        """The permanent water on the flood grid: the row of ``city.water`` on each
        cell (-1 for none; every cell a polygon touches, as the engine's grid has
        it) and that body's normal level (m, NaN off permanent water).

        The normal level is the level the scene's "Lakes and rivers" layer is
        drawn at, or the body's level at the start of the run where that is higher
        (the median level of its wet cells in frame 0: a run whose scenario starts
        a canal at its gauge's reading above the mapped level does not show the
        canal as flooded before anything happened). Where bodies overlap, the
        higher level holds.

        Examples
        --------
        >>> body, normal = layer.water_bodies()    # doctest: +SKIP
        >>> normal[body == 1].max()                # doctest: +SKIP
        18.5
        """
        if self._bodies is None:
            flood = self.data
            x, y = flood["x"].to_numpy(), flood["y"].to_numpy()
            body = np.full((y.size, x.size), -1, np.int32)
            water = getattr(self.model.city, "water", None)
            levels = np.zeros(0)
            if water is not None and len(water):
                block = self.model.scene.blocks.get("water")
                drawn = block.field_data["level"] if block is not None and \
                    "level" in block.field_data else None
                levels = np.asarray(drawn, float) if drawn is not None and \
                    len(drawn) == len(water) else water_levels(water, self.model.city.terrain)
                order = np.argsort(levels, kind="stable")      # the highest level burnt last
                geoms = water.geometry.values
                shapes = [(geoms[k], int(k)) for k in order
                          if geoms[k] is not None and not geoms[k].is_empty]
                if shapes:
                    body = rasterio.features.rasterize(
                        shapes, out_shape=body.shape, transform=grid_transform(x, y), fill=-1,
                        dtype="int32", all_touched=True)
            if levels.size:
                levels = np.maximum(levels, self._start_levels(body, levels.size))
            normal = np.where(body >= 0, levels[np.maximum(body, 0)] if levels.size else 0.0,
                              np.nan)
            self._bodies = (body, normal)
        return self._bodies

    def _start_levels(self, body: np.ndarray, n: int) -> np.ndarray:
        """Median water level (m) of each body's wet cells in frame 0 (-inf when dry)."""
        s = self.surface()
        d = self.depth(0)
        wet = s.wet(d) & (body >= 0)
        out = np.full(n, -np.inf)
        if wet.any():
            level, owner = (s.ground + d)[wet], body[wet]
            for k in np.unique(owner):
                out[k] = float(np.median(level[owner == k]))
        return out

    def rise(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Shown cells of frame ``i`` and the depth they show (m): off permanent water
        the water depth (shown above the wet threshold); on it the height of the
        water above the body's normal level or the ground, whichever is higher
        (shown where that is above the wet threshold and the level more than
        :data:`RISE_M` above the normal level).

        Examples
        --------
        >>> shown, depth = layer.rise(10)          # doctest: +SKIP
        """
        d = self.depth(i)
        s = self.surface()
        _, normal = self.water_bodies()
        body = np.isfinite(normal)
        floor = np.where(body, np.maximum(np.nan_to_num(normal) - s.ground, 0.0), 0.0)
        depth = np.where(s.wet(d), d - floor, 0.0)
        level = s.ground + d
        shown = (depth > s.threshold) & (~body | (level - np.nan_to_num(normal) > RISE_M))
        return shown, np.where(shown, depth, 0.0)

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
        dry) and the depth class of each vertex (dry ones the shallowest). On
        permanent water a vertex is shown only where the water stands more than
        :data:`RISE_M` above the body's normal level, classed by that rise
        (:meth:`TerrainDrape.above_normal`); elsewhere the static lake shows."""
        d = self.depth(i)
        s = self.surface()
        wet = s.wet(d)
        drape = self.drape()
        h = drape.water_height(np.where(wet, s.ground + d, np.nan), s.ground,
                               min_depth=s.threshold)
        if self._normal_at is None:
            self._normal_at = drape.at_cells(self.water_bodies()[1])
        h, depth = drape.above_normal(h, self._normal_at, rise=RISE_M)
        cls = np.searchsorted(np.asarray(palette.DEPTH_BREAKS), np.maximum(depth, 0.0),
                              side="right")
        return DrapeFrame(h, cls.astype(np.uint8), int(self.rise(i)[0].sum()))

    def surface_frame(self, i: int):
        shown, depth = self.rise(i)
        _, level = self.surface().levels(np.where(shown, self.depth(i), 0.0))
        return shown, level, palette.classify(depth.ravel(), palette.DEPTH_BREAKS,
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
        of the ever-wet cells, its extent and the map palette. On permanent water the
        class is of the rise above the normal level (0 at that level: the map's own
        lake shows)."""
        s = self.surface()
        rows, cols = s.shape
        if s.cells.size == 0:
            return None
        r, c = np.divmod(s.cells, cols)
        r0, r1, c0, c1 = r.min(), r.max() + 1, c.min(), c.max() + 1
        shown, depth = self.rise(i)
        d = depth[r0:r1, c0:c1]
        k = np.searchsorted(np.asarray(palette.DEPTH_BREAKS), d, side="right") + 1
        img = np.where(shown[r0:r1, c0:c1], k, 0).astype(np.uint8)[::-1]
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
        out = [Legend("Flood water depth (on lakes and rivers: above normal level)", "m",
                      key="flood-depth",
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
        body, normal = self.water_bodies()
        if body[r, c] < 0:
            return f"water depth {self.depth(i)[r, c]:.2f} m"
        water = self.model.city.water
        row = water.iloc[int(body[r, c])]
        name = next((str(row[k]) for k in ("name", "id") if k in water and row[k] == row[k]),
                    "permanent water")
        d = self.depth(i)[r, c]
        if d <= self.surface().threshold:
            return f"{html.escape(name)} (normal level {normal[r, c]:.2f} m): dry here"
        level = self.surface().ground[r, c] + d
        return (f"{html.escape(name)}: water {level - normal[r, c]:+.2f} m against its normal "
                f"level ({normal[r, c]:.2f} m)")

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

