"""The traffic engine's adapter: City + ``[traffic]`` -> :class:`simulations.traffic.TrafficModel`,
and traffic frames -> KPIs, events, the counter fit and the trips.

The modules of this package: :mod:`.network` (roads -> directed links),
:mod:`.demand` (zones, gravity, daily profile), :mod:`.calibration`
(counters, OD fit, run-time nudges), :mod:`.disruption` (water depth, closures,
incidents -> link factors), :mod:`.settings` (the ``[traffic]`` table) and
:mod:`.outcome` (KPIs, events, extra groups).

In a run the adapter adds the demand interval by interval (the profile and the
calibrator apply to each interval), starts ``warmup`` before the scenario start
so the roads are loaded at ``t = 0``, and at each exchange reads the flood's
``road_depth_m()`` (when the scenario has a flood) to slow and close roads.

Examples
--------
>>> from twin.engines import adapter
>>> adapter("traffic").tables
('traffic',)
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from twin.engines import Adapter, Outcome, register
from twin.engines.traffic import calibration as _cal
from twin.engines.traffic import demand as _demand
from twin.engines.traffic import outcome as _outcome
from twin.engines.traffic.disruption import link_factors, pregnolato_factor
from twin.engines.traffic.network import CityNetwork, city_network
from twin.engines.traffic.settings import TrafficSettings, apply_change, check_roads, \
    parse_traffic

__all__ = ["TrafficAdapter", "CityNetwork", "city_network", "pregnolato_factor"]

_LINK_VARS = ("flow", "density", "speed", "vehicles")
_MIN_RATE_VPS = 1.0 / 3600.0
"""OD pairs below 1 veh/h in an interval are left out (about 0.4 % of the sample's trips)."""
_COHORT_S = 60.0
"""Engine cohorts (s): vehicles entering a link within 60 s share one packet; on the sample
this cuts the engine's cost about fourfold against its 10 s default, arrivals within 1 %."""
_TRIP_BIN_S = 300.0
"""Departures of one OD pair within 5 min form one trip group."""


@register
class TrafficAdapter(Adapter):
    """The traffic engine in a scenario run (see the module docstring)."""

    name = "traffic"
    order = 10
    tables = ("traffic",)
    title = "Traffic"
    parse_table = staticmethod(parse_traffic)
    what_if = staticmethod(apply_change)

    def __init__(self, scenario, city) -> None:
        super().__init__(scenario, city)
        s: TrafficSettings = self.settings
        check_roads(s, city.roads["id"], scenario.source)
        self.net = city_network(city.roads)
        self.zones = _demand.city_zones(city.buildings, self.net.nodes, self.net.core,
                                        zone_size_m=s.zone_size_m,
                                        trips_per_resident=s.trips_per_resident,
                                        gateways=self.net.gateways())
        z = self.zones.table
        times = _demand.free_flow_times(self.net.road, self.zones.nodes) / 60.0
        self.od_daily = _demand.gravity(z["productions"], z["attractions"], times)
        self.counters = _cal.match_counters(city.sensors.stations, city.roads, self.net,
                                            max_m=s.calibration.max_distance_m)
        self._fit_counters()
        from simulations.traffic import TrafficModel
        self._model = TrafficModel(self.net.road, routing=s.routing, dt_s=s.time_step_s,
                                   cohort_s=_COHORT_S, trip_bin_s=_TRIP_BIN_S)
        self._roads = self.net.links["road"].to_numpy(str)
        self._fixed = np.isin(self._roads, list(s.closures))
        self._speed = np.ones(self.net.n_links)
        self._cap = np.ones(self.net.n_links)
        self._apply_factors(None, 0.0)
        self._added = -s.warmup_s                 # demand added up to (scenario time)
        self._last = (0.0, None)                  # calibrator: (time, entered per link)
        if s.warmup_s > 0:
            self._add_demand(0.0)
            self._model.advance(s.warmup_s)
        self._model.state()                       # frame means start at t = 0
        self._entered0 = self._entered()
        self._last = (0.0, self._entered0)

    # -- set-up ---------------------------------------------------------------------
    def _period_share(self) -> float:
        """Mean share of the daily trips per hour over the scenario period."""
        pieces = _demand.profile_rate(self.settings.profile, self.scenario.start, 0.0,
                                      self.scenario.duration_s)
        return sum((b - a) * r for a, b, r in pieces) / self.scenario.duration_s * 3600.0

    def _fit_counters(self) -> None:
        """Fit the OD matrix to the counters' mean readings over the period."""
        s, n = self.settings, len(self.zones)
        ids = self.counters["counter"].tolist()
        self.incidence = _cal.path_incidence(self.net.road, self.zones.nodes,
                                             list(self.counters["links"]))
        self.readings = _cal.counter_readings(self.city.sensors.readings, ids,
                                              self.scenario.start, self.scenario.end)
        prior = self.od_daily * self._period_share() * s.demand_scale
        self.fit_factor, self.global_factor = np.ones((n, n)), 1.0
        if s.calibration.enabled and ids:
            self.fit_factor, self.global_factor = _cal.fit_od(
                prior, self.incidence, self.readings.to_numpy(float),
                strength=s.calibration.strength)
        self.fit = self.counters[["counter", "road", "name", "x", "y"]].assign(
            reading_vph=self.readings.to_numpy(float),
            prior_vph=np.einsum("ij,ijk->k", prior, self.incidence),
            fitted_vph=np.einsum("ij,ijk->k", prior * self.fit_factor, self.incidence))
        self.calibrator = _cal.Calibrator(self.incidence, gain=s.calibration.gain,
                                          clip=s.calibration.clip)
        self._shape = bool(s.calibration.enabled and s.calibration.shape and ids)

    # -- running --------------------------------------------------------------------
    def _entered(self) -> np.ndarray:
        return self._model.result()["entered"].to_numpy()

    def _jammed(self) -> np.ndarray:
        """Per counter: a link of it is now above its critical density (congested branch)."""
        res = self._model.result()
        veh = res["entered"].to_numpy() - res["exited"].to_numpy()
        net = self.net.road
        crit = net.capacity_vps / net.free_speed_ms * self._model.length_eff
        over = veh > crit
        return np.array([over[list(ls)].any() for ls in self.counters["links"]])

    def _add_demand(self, until_s: float) -> None:
        """Demand of ``[self._added, until_s)`` (scenario time) by the profile and factors."""
        s = self.settings
        od = self.od_daily * self.fit_factor * s.demand_scale
        if s.calibration.enabled:
            od = od * self.calibrator.factor
        starts, ends = self.zones.origin_nodes, self.zones.nodes
        k = starts.shape[1]
        o, d = np.nonzero(od > 0)
        o_node = starts[o].ravel()                       # each pair from the zone's k origins
        d_node = np.repeat(ends[d], k)
        apart = o_node != d_node
        shift = s.warmup_s
        for a, b, share in self._rates(self._added, until_s):
            rate = np.repeat(od[o, d] * share / k, k)
            keep = apart & (rate > _MIN_RATE_VPS / k)
            if keep.any():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")      # unroutable pairs count unserved
                    self._model.add_demand(o_node[keep], d_node[keep], a + shift, b + shift,
                                           rate[keep])
        self._added = until_s

    def _rates(self, t0_s: float, t1_s: float) -> list[tuple[float, float, float]]:
        """Share of the daily trips per second in pieces of ``[t0_s, t1_s)``: the daily
        profile, or, where the counters have readings, the period's mean share times
        the counters' time shape (:func:`.calibration.reading_shape`)."""
        pieces = _demand.profile_rate(self.settings.profile, self.scenario.start, t0_s, t1_s)
        if not self._shape:
            return pieces
        mean = self._period_share() / 3600.0
        shape = _cal.reading_shape(self.city.sensors.readings, self.counters["counter"].tolist(),
                                   self.scenario.start, t0_s, t1_s, self.scenario.duration_s)
        out = []
        for a, b, rate in pieces:
            for sa, sb, f in shape:
                lo, hi = max(a, sa), min(b, sb)
                if hi > lo:
                    out.append((lo, hi, mean * f if np.isfinite(f) else rate))
        return out

    def _calibrate(self, now_s: float) -> None:
        """Nudge the demand by the counters over the interval since the last call."""
        t0, e0 = self._last
        if not self.settings.calibration.enabled or len(self.counters) == 0 or now_s <= t0:
            return
        e1 = self._entered()
        span = now_s - t0
        flow = (e1 - e0) / span * 3600.0
        model = np.array([flow[list(ls)].sum() for ls in self.counters["links"]])
        start = self.scenario.start
        reading = _cal.counter_readings(
            self.city.sensors.readings, self.counters["counter"].tolist(),
            start + pd.Timedelta(seconds=t0), start + pd.Timedelta(seconds=now_s))
        self.calibrator.update(now_s, reading.to_numpy(float), model, hold_up=self._jammed())
        self._last = (now_s, e1)

    def _apply_factors(self, depth, time_s: float) -> None:
        speed, cap = link_factors(self._roads, depth, self._closed_depth(), self._fixed,
                                  self.settings.incidents, time_s)
        if not np.array_equal(speed, self._speed):
            self._model.set_speed_factor(np.arange(speed.size), speed)
            self._speed = speed
        changed = np.flatnonzero(cap != self._cap)
        if changed.size:
            self._model.set_capacity_factor(changed, cap[changed])
            self._cap = cap

    def _closed_depth(self) -> float:
        if self.settings.closed_depth_m is not None:
            return self.settings.closed_depth_m
        flood = self.scenario.engines.get("flood")
        return getattr(getattr(flood, "impacts", None), "road_closed_depth_m", None) or 0.3

    def exchange(self, others: dict) -> None:
        """Read the flood's road depths (when there is a flood); apply closures and incidents."""
        flood = others.get("flood")
        depth = flood.road_depth_m() if flood is not None else None
        now = self._model.time_s - self.settings.warmup_s
        self._apply_factors(depth, now)

    def advance(self, until_s: float) -> None:
        """Nudge by the counters, add the next interval's demand and advance."""
        now = self._model.time_s - self.settings.warmup_s
        self._calibrate(now)
        if until_s > self._added:
            self._add_demand(until_s)
        self._model.advance(until_s + self.settings.warmup_s)

    # -- storing --------------------------------------------------------------------
    def static(self) -> xr.Dataset:
        return _outcome.link_table(self.net, self._model.length_eff)

    def frame(self) -> xr.Dataset:
        first = self._model.time_s <= self.settings.warmup_s
        st = self._model.state()
        b = self._model.balance()
        if first:                      # no interval yet: the diagram's speed at the density
            st["speed"] = ("link", self._diagram_speed(st["density"].to_numpy()))
        ds = st[list(_LINK_VARS)].astype("float32")
        ds["capacity_factor"] = ("link", self._cap.astype("float32"))
        ds["speed_factor"] = ("link", self._speed.astype("float32"))
        for key in ("waiting", "arrived", "demanded", "unserved"):
            ds[key] = ((), b[key], {"units": "veh"})
        return ds

    def _diagram_speed(self, density: np.ndarray) -> np.ndarray:
        """Speed (m/s) on the links' triangular diagram at ``density`` (veh/m)."""
        net = self.net.road
        u = net.free_speed_ms * np.maximum(self._speed, self._model.min_speed_factor)
        with np.errstate(invalid="ignore", divide="ignore"):
            cong = net.backward_wave_ms * (net.jam_vpm - density) / density
        return np.where(density > 0, np.clip(cong, 0.0, u), u)

    def result(self) -> xr.Dataset:
        return self._model.result().drop_vars("mean_travel_time")

    def provenance(self) -> dict:
        out = super().provenance()
        out.update(zones=len(self.zones), counters=len(self.counters),
                   global_factor=self.global_factor, warmup_s=self.settings.warmup_s,
                   travel_time=self._model.travel_time_stats())
        return out

    def finish(self, frames: xr.Dataset) -> Outcome:
        return _outcome.outcome(self, frames)

    @classmethod
    def summary(cls, run) -> list[str]:
        return _outcome.summary_lines(run)
