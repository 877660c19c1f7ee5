"""The ``[traffic]`` table of a scenario.

::

    [traffic]
    demand = "city"                 # trips from the city's buildings (the only source yet)
    profile = "weekday"             # "weekday", "weekend" or 24 hourly shares
    demand_scale = 1.0              # multiplies all trips
    trips_per_resident = 0.6        # car trips per resident per day
    zone_size = 500.0               # m, the zone grid
    routing = "dynamic"             # or "fixed" (free-flow shortest paths)
    time_step = "2s"                # engine step; shorter links are lengthened to one step
    warmup = "15min"                # traffic run before the start so that the roads are loaded
    congestion_threshold = 0.5      # a link is congested below this share of its free speed
    closed_depth_m = 0.3            # flood depth closing a road (default: [impacts] road_closed_depth_m)
    closures = ["R00123"]           # roads closed for the whole run
    incidents = [{ road = "R00456", start = "20min", end = "50min", capacity = 0.3 }]
    [traffic.calibration]
    enabled = true                  # fit the OD matrix to the counters, nudge during the run
    strength = 0.05                 # how strongly the fit stays near the gravity prior
    gain = 0.5                      # calibrator gain per exchange
    clip = 1.5                      # largest ratio applied per exchange
    max_distance_m = 60.0           # counter-to-road matching distance
    shape = true                    # within the period, demand follows the counters' time shape

Road ids are checked against the city when the adapter is built
(:func:`check_roads`), with a did-you-mean.

Examples
--------
>>> s = TrafficSettings()
>>> s.routing, s.calibration.enabled
('dynamic', True)
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np

from geodata.errors import DataError
from twin.engines.traffic.demand import PROFILES, TRIPS_PER_RESIDENT

__all__ = ["TrafficSettings", "Calibration", "Incident", "parse_traffic", "apply_change",
           "check_roads"]

_KEYS = {"demand", "profile", "demand_scale", "trips_per_resident", "zone_size", "routing",
         "time_step", "warmup", "congestion_threshold", "closed_depth_m", "closures",
         "incidents", "calibration"}
_CAL_KEYS = {"enabled", "strength", "gain", "clip", "max_distance_m", "shape"}
_INCIDENT_KEYS = {"road", "start", "end", "capacity"}


@dataclass(frozen=True)
class Calibration:
    """Counter calibration settings (see :mod:`.calibration`)."""

    enabled: bool = True
    strength: float = 0.05
    gain: float = 0.5
    clip: float = 1.5
    max_distance_m: float = 60.0
    shape: bool = True


@dataclass(frozen=True)
class Incident:
    """A road's capacity reduced to ``capacity`` (share) over ``[start_s, end_s)``."""

    road: str
    start_s: float
    end_s: float
    capacity: float


@dataclass(frozen=True)
class TrafficSettings:
    """The parsed ``[traffic]`` table (defaults as in the module docstring)."""

    demand: str = "city"
    profile: np.ndarray = field(default_factory=lambda: PROFILES["weekday"])
    demand_scale: float = 1.0
    trips_per_resident: float = TRIPS_PER_RESIDENT
    zone_size_m: float = 500.0
    routing: str = "dynamic"
    time_step_s: float = 2.0
    warmup_s: float = 900.0
    congestion_threshold: float = 0.5
    closed_depth_m: float | None = None
    closures: tuple = ()
    incidents: tuple = ()
    calibration: Calibration = field(default_factory=Calibration)


def _profile(t: dict, ctx) -> np.ndarray:
    v = t.get("profile", "weekday")
    if isinstance(v, str):
        if v not in PROFILES:
            raise ctx.error("traffic.profile", f"is {v!r}",
                            f"use one of {', '.join(PROFILES)} or a list of 24 hourly shares")
        return PROFILES[v]
    ok = isinstance(v, list) and len(v) == 24 and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) and x >= 0
        for x in v) and sum(v) > 0
    if not ok:
        raise ctx.error("traffic.profile", f"is {v!r}",
                        "give 24 non-negative hourly shares (local hours 0..23), not all zero")
    a = np.asarray(v, float)
    return a / a.sum()


def _road_list(value, key: str, ctx) -> tuple:
    if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
        raise ctx.error(key, f"is {value!r}", 'give a list of road ids, e.g. ["R00012"]')
    return tuple(value)


def _incidents(value, ctx) -> tuple:
    if not isinstance(value, list):
        raise ctx.error("traffic.incidents", f"is {value!r}",
                        'give a list of { road = "R00012", start = "10min", end = "40min", '
                        'capacity = 0.3 }')
    out = []
    for k, item in enumerate(value):
        where = f"traffic.incidents[{k}]"
        ctx.table(item, where)
        ctx.keys(item, _INCIDENT_KEYS, where)
        road = ctx.text(item, "road", where)
        if not road:
            raise ctx.error(f"{where}.road", "is missing", 'add road = "R00012"')
        start = ctx.duration(item, "start", where, default=0.0, zero_ok=True)
        end = ctx.duration(item, "end", where, required=True)
        if end <= start:
            raise ctx.error(f"{where}.end", f"({end:g} s) is not after the start ({start:g} s)",
                            "give an end after the start")
        cap = ctx.number(item, "capacity", where, default=0.0, low=0.0, high=1.0)
        out.append(Incident(road, start, end, cap))
    return tuple(out)


def parse_traffic(raw: dict, ctx) -> TrafficSettings:
    """Parse and check the ``[traffic]`` table.

    Raises
    ------
    DataError
        Naming the key: unknown keys (with a did-you-mean), wrong types, values
        out of range, a bad profile or incident.
    """
    t = raw["traffic"]
    ctx.table(t, "traffic")
    ctx.keys(t, _KEYS, "traffic")
    demand = ctx.choice(t, "demand", "traffic", ("city",), "city")
    cal_raw = t.get("calibration", {})
    ctx.table(cal_raw, "traffic.calibration")
    ctx.keys(cal_raw, _CAL_KEYS, "traffic.calibration")
    w = "traffic.calibration"
    cal = Calibration(
        enabled=ctx.flag(cal_raw, "enabled", w, True),
        strength=ctx.number(cal_raw, "strength", w, default=0.05, positive=True),
        gain=ctx.number(cal_raw, "gain", w, default=0.5, low=0.0, high=1.0),
        clip=ctx.number(cal_raw, "clip", w, default=1.5, low=1.0, high=10.0),
        max_distance_m=ctx.number(cal_raw, "max_distance_m", w, default=60.0, positive=True),
        shape=ctx.flag(cal_raw, "shape", w, True))
    return TrafficSettings(
        demand=demand, profile=_profile(t, ctx),
        demand_scale=ctx.number(t, "demand_scale", "traffic", default=1.0, low=0.0, high=100.0),
        trips_per_resident=ctx.number(t, "trips_per_resident", "traffic",
                                      default=TRIPS_PER_RESIDENT, positive=True, high=50.0),
        zone_size_m=ctx.number(t, "zone_size", "traffic", default=500.0, low=50.0,
                               high=10000.0),
        routing=ctx.choice(t, "routing", "traffic", ("dynamic", "fixed"), "dynamic"),
        time_step_s=ctx.duration(t, "time_step", "traffic", default=2.0),
        warmup_s=ctx.duration(t, "warmup", "traffic", default=900.0, zero_ok=True),
        congestion_threshold=ctx.number(t, "congestion_threshold", "traffic", default=0.5,
                                        positive=True, high=1.0),
        closed_depth_m=ctx.number(t, "closed_depth_m", "traffic", default=None,
                                  positive=True),
        closures=_road_list(t.get("closures", []), "traffic.closures", ctx),
        incidents=_incidents(t.get("incidents", []), ctx),
        calibration=cal)


def check_roads(settings: TrafficSettings, road_ids, source) -> None:
    """Raise a DataError naming a closure or incident road that the city lacks.

    Examples
    --------
    >>> check_roads(TrafficSettings(closures=("R1",)), ["R1", "R2"], None)
    """
    known = set(map(str, road_ids))
    named = [("traffic.closures", r) for r in settings.closures] + \
        [(f"traffic.incidents[{k}].road", i.road) for k, i in enumerate(settings.incidents)]
    for key, road in named:
        if road not in known:
            close = difflib.get_close_matches(road, sorted(known), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise DataError(f"key '{key}' names road {road!r}, which the city does not have",
                            file=source, fix=f"{hint}use a road id of the city's roads layer")


def apply_change(raw: dict, key: str, value, source) -> str | None:
    """What-if shortcuts: ``demand_scale`` (a number), ``close_roads`` (road ids added
    to the closures). Returns the label, or None when the key is not traffic's."""
    if key not in ("demand_scale", "close_roads"):
        return None
    if "traffic" not in raw or not isinstance(raw["traffic"], dict):
        raise DataError(f"what-if change {key!r} needs a [traffic] table in the scenario",
                        file=source, fix="add [traffic] to the scenario")
    t = raw["traffic"]
    if key == "demand_scale":
        t["demand_scale"] = value
        return f"demand x{value}"
    roads = [value] if isinstance(value, str) else list(value)
    t["closures"] = list(t.get("closures", [])) + roads
    return f"closed {', '.join(map(str, roads))}"
