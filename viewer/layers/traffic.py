"""The traffic layer: roads coloured by speed, widened by flow, closed roads marked,
the traffic KPIs, link information at a point, and the close-a-road / demand what-ifs.

A road of the city has one link per direction in ``run.traffic``; a road is shown
with the *slower* of its directions (the one a driver would complain about), its
width follows the sum of its directions' flows, and it is closed when any of its
links has no capacity left (``capacity_factor == 0``).

Examples
--------
>>> layer = TrafficLayer(ViewModel(city, scene, run))   # doctest: +SKIP
>>> layer.road_speed_kmh(3)[:2]                          # doctest: +SKIP
array([48.2, 12.9])
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import panel as pn

from viewer import palette
from viewer.layers import Control, Kpi, Layer, Legend, register

__all__ = ["TrafficLayer", "SPEED_BREAKS", "SPEED_COLORS", "traffic_settings", "traffic_changes"]

SPEED_BREAKS: tuple[float, ...] = (10.0, 20.0, 30.0, 45.0)
"""Class breaks of the speed on a road (km/h): standstill, crawling, slow, moving, free."""

SPEED_COLORS: tuple[palette.RGB, ...] = (
    (235, 90, 220), (252, 160, 50), (255, 226, 110), (120, 210, 230), (90, 150, 255))
"""Speed classes (slowest ... fastest) -> road colour: magenta, orange, yellow, light
cyan, blue. Lightness and hue both change (no red-green pair), every class stays
readable on the dark background, and none is the red of a closed road."""

PICK_DISTANCE_M = 25.0
"""A point farther than this from every link tells nothing about the traffic."""


def traffic_settings(scenario):
    """The ``[traffic]`` settings of a scenario (None without them)."""
    engines = getattr(scenario, "engines", None)
    return engines.get("traffic") if isinstance(engines, dict) else None


def traffic_changes(scenario, *, close: list[str] | tuple = (), demand_scale: float | None = None
                    ) -> dict:
    """The ``Scenario.with_changes`` keywords asking for roads ``close`` closed (those not
    closed already) and ``demand_scale`` (when it differs from the scenario's).

    Examples
    --------
    >>> traffic_changes(s, close=["R00661"], demand_scale=1.0)   # doctest: +SKIP
    {'close_roads': ['R00661']}
    """
    cfg = traffic_settings(scenario)
    if cfg is None:
        return {}
    out: dict = {}
    already = set(getattr(cfg, "closures", ()) or ())
    new = [str(r) for r in close if str(r) not in already]
    if new:
        out["close_roads"] = new
    if demand_scale is not None and abs(float(demand_scale) - float(cfg.demand_scale)) > 1e-9:
        out["demand_scale"] = float(demand_scale)
    return out


@register
class TrafficLayer(Layer):
    """Traffic of a run (``run.traffic``) on the roads of the screen."""

    name = "traffic"
    title = "Road traffic"
    kpis = (Kpi("vehicles_on_network", "Vehicles on the roads"),
            Kpi("mean_speed_kmh", "Mean speed", "km/h", "{:.1f}", higher_is_worse=False),
            Kpi("total_delay_veh_h", "Total delay", "veh·h", "{:,.0f}"),
            Kpi("links_congested", "Links congested"),
            Kpi("links_closed", "Links closed"),
            Kpi("trips_arrived", "Trips arrived", higher_is_worse=False),
            Kpi("vehicles_waiting", "Vehicles waiting to enter"))

    def sensor_models(self) -> dict:
        """Each traffic counter's modelled flow (veh/h, as the adapter matched it to a road)."""
        run = self.model.run
        if run is None or "traffic_fit" not in getattr(run, "groups", ()):
            return {}
        fit = run["traffic_fit"]
        if "modelled_vph" not in fit:
            return {}
        times = run.start + pd.to_timedelta(fit["time"].values, unit="s")
        model = fit["modelled_vph"].values
        return {cid: pd.Series(model[:, k], index=times).dropna()
                for k, cid in enumerate(fit["counter"].values.astype(object).astype(str))}

    def kpi_values(self, i: int) -> dict[str, float]:
        """The run's KPIs at frame ``i``; counts and sums are never below zero (a
        balance of floats can leave -1e-9 vehicles waiting, shown as "-0")."""
        return {k: (max(v, 0.0) if np.isfinite(v) else v)
                for k, v in super().kpi_values(i).items()}

    def __init__(self, model) -> None:
        super().__init__(model)
        self._links: tuple[np.ndarray, np.ndarray] | None = None
        self._frame: tuple[int, dict] | None = None
        self._peak_flow: float | None = None

    # -- links and roads -----------------------------------------------------------------
    def link_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """For the links that belong to a road of the city: their link indices and
        the road rows (of ``city.roads``) they belong to."""
        if self._links is None:
            ids = self.model.city.roads["id"].astype(str).to_numpy()
            order = np.argsort(ids, kind="stable")
            road = self.data["road"].to_numpy().astype(object).astype(str)
            pos = np.clip(np.searchsorted(ids[order], road), 0, max(len(ids) - 1, 0))
            ok = (ids[order][pos] == road) if len(ids) else np.zeros(road.size, bool)
            self._links = (np.flatnonzero(ok), order[pos[ok]])
        return self._links

    def frame(self, i: int) -> dict:
        """Per-link ``speed`` (km/h), ``flow`` (veh/h), ``vehicles`` and ``closed`` of frame
        ``i`` (the last frame read is kept: the map and the 3D view ask for the same)."""
        if self._frame is None or self._frame[0] != int(i):
            f = self.data.isel(time=int(i))
            closed = (f["capacity_factor"].to_numpy() == 0) if "capacity_factor" in f \
                else np.zeros(self.data.sizes["link"], bool)
            self._frame = (int(i), {
                "speed": np.asarray(f["speed"].to_numpy(), float) * 3.6,
                "flow": np.nan_to_num(np.asarray(f["flow"].to_numpy(), float)) * 3600.0,
                "vehicles": np.nan_to_num(np.asarray(f["vehicles"].to_numpy(), float)),
                "closed": closed})
        return self._frame[1]

    def _per_road(self, values: np.ndarray, ufunc, fill: float) -> np.ndarray:
        links, rows = self.link_rows()
        out = np.full(len(self.model.city.roads), fill, float)
        ufunc.at(out, rows, values[links])
        return out

    def road_speed_kmh(self, i: int) -> np.ndarray:
        """Speed (km/h, to 0.1) of the slower direction of each road row; NaN without
        links. Rounded so that a free 30 km/h street stored in float32 (29.999998)
        falls in the class that starts at 30."""
        speed = np.nan_to_num(self.frame(i)["speed"], nan=np.inf)
        out = self._per_road(speed, np.minimum, np.inf)
        return np.where(np.isfinite(out), np.round(out, 1), np.nan)

    def road_flow_vph(self, i: int) -> np.ndarray:
        """Flow (veh/h) of each road row, both directions together."""
        return self._per_road(self.frame(i)["flow"], np.add, 0.0)

    def road_closed(self, i: int) -> np.ndarray:
        return self._per_road(self.frame(i)["closed"].astype(float), np.maximum, 0.0) > 0

    def road_colors(self, i: int, rgb: np.ndarray) -> np.ndarray:
        out = np.array(rgb, copy=True)
        speed = self.road_speed_kmh(i)
        has = np.isfinite(speed)
        out[has] = palette.classify(speed[has], SPEED_BREAKS, SPEED_COLORS)
        out[self.road_closed(i)] = palette.ROAD_CLOSED
        return out

    def road_widths(self, i: int) -> np.ndarray:
        """Relative width per road: 1 without traffic up to 3 at the highest road flow of the run."""
        if self._peak_flow is None:
            flow = np.nan_to_num(self.data["flow"].to_numpy().astype(float)) * 3600.0
            links, rows = self.link_rows()
            peak = np.zeros((flow.shape[0], len(self.model.city.roads)))
            np.add.at(peak.T, rows, flow[:, links].T)
            self._peak_flow = float(peak.max()) if peak.size else 0.0
        share = self.road_flow_vph(i) / self._peak_flow if self._peak_flow > 0 else \
            np.zeros(len(self.model.city.roads))
        return 1.0 + 2.0 * np.clip(share, 0.0, 1.0)

    def legends(self, building_mode: str) -> list[Legend]:
        labels = palette.class_labels(SPEED_BREAKS, "km/h")
        return [Legend("Road speed (slower direction)", "km/h", key="traffic-speed",
                       classes=tuple(zip(labels, SPEED_COLORS))),
                Legend("Roads", key="traffic-roads", classes=(
                    ("closed to traffic", palette.ROAD_CLOSED),
                    ("line width: flow, up to the run's busiest road", (200, 200, 200))))]

    # -- information -------------------------------------------------------------------------
    def link_at(self, x: float, y: float) -> int | None:
        """The link whose line passes nearest ``(x, y)`` (city CRS), within
        :data:`PICK_DISTANCE_M`; None when there is none."""
        lx, ly = self.data["line_x"].to_numpy(), self.data["line_y"].to_numpy()
        ax, ay, bx, by = lx[:, :-1], ly[:, :-1], lx[:, 1:], ly[:, 1:]
        dx, dy = bx - ax, by - ay
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        d = np.hypot(ax + t * dx - x, ay + t * dy - y)
        d = np.where(np.isfinite(d), d, np.inf).min(axis=1)
        if d.size == 0 or d.min() > PICK_DISTANCE_M:
            return None
        near = np.flatnonzero(d <= d.min() + 1e-6)        # both directions of a two-way road
        return int(near[0])

    def road_info(self, road: str, i: int) -> str:
        """HTML of the links of road ``road`` (id) at frame ``i``: name, and per
        direction speed, flow, vehicles and whether it is closed."""
        tr = self.data
        links = np.flatnonzero(tr["road"].to_numpy().astype(object).astype(str) == str(road))
        if links.size == 0:
            return ""
        f = self.frame(i)
        name = str(tr["road_name"].values[links[0]]) or str(road)
        rows = []
        for k in links:                                   # one or two directions of one road
            state = "closed" if f["closed"][k] else f"{f['speed'][k]:.0f} km/h"
            rows.append(f"{html.escape(str(tr['direction'].values[k]))}: {state}, "
                        f"{f['flow'][k]:,.0f} veh/h, {f['vehicles'][k]:,.0f} vehicles")
        return (f'<div class="traffic-info"><b>{html.escape(name)}</b> ({html.escape(str(road))})'
                f'<br>{"<br>".join(rows)}</div>')

    def feature_at(self, x: float, y: float, i: int) -> str:
        k = self.link_at(x, y)
        if k is None:
            return ""
        return self.road_info(str(self.data["road"].values[k]), i)

    # -- what-ifs --------------------------------------------------------------------------------
    def whatif_controls(self, scenario) -> list[Control]:
        cfg = traffic_settings(scenario)
        if cfg is None:
            return []
        roads = self.model.city.roads
        names = roads["name"].fillna("").astype(str) if "name" in roads else [""] * len(roads)
        options = {(f"{n} ({r})" if n else str(r)): str(r)
                   for r, n in zip(roads["id"].astype(str), names)}
        closed = [r for r in (getattr(cfg, "closures", ()) or ()) if r in options.values()]
        close = pn.widgets.MultiChoice(label="Close roads", options=options, value=list(closed),
                                       css_classes=["whatif-close-roads"], max_items=20,
                                       description="Roads closed for the whole run")
        scale = pn.widgets.FloatSlider(label="Demand scale", start=0.25, end=3.0, step=0.05,
                                       value=float(cfg.demand_scale),
                                       css_classes=["whatif-demand"])
        return [Control(close, lambda: traffic_changes(scenario, close=close.value)),
                Control(scale, lambda: traffic_changes(scenario, demand_scale=scale.value))]
