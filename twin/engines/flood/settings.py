"""The flood engine's scenario tables: ``[flood]``, ``[forcing]`` and ``[impacts]``.

Examples
--------
>>> from twin.scenario import Checker
>>> s = parse_flood({"flood": {"cell_size": 16.0}}, Checker(None))
>>> s.cell_size, s.rain, s.impacts.road_closed_depth_m
(16.0, None, 0.3)
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geodata.errors import DataError
from twin.scenario import Checker

__all__ = ["FloodSettings", "RainForcing", "RiverForcing", "Pump", "Breach", "Thresholds",
           "DRAINED_CLASSES", "parse_flood", "apply_change"]

_FLOOD = {"cell_size", "buildings", "drainage_mm_h", "drained_classes", "manning_default",
          "dtype", "boundaries", "initial_levels", "levees"}
_FORCING = {"rain", "river", "pumps", "breach"}
_RAIN = {"source", "interpolation", "power", "gauges", "scale", "return_period", "duration",
         "peak_ratio", "step", "delay", "fill", "recorded_start"}
_RIVER = {"gauge", "level_m", "offset_m", "water", "fill"}
_FILLS = ("zero", "hold", "stop")
_PUMP = {"at", "capacity_m3s", "start_level_m", "enabled"}
_BREACH = {"at", "width_m", "level_m", "time", "enabled"}
_IMPACTS = {"road_closed_depth_m", "building_flooded_depth_m", "flooded_cell_depth_m",
            "hazard_classes"}
_SIDES = ("north", "east", "south", "west")
DRAINED_CLASSES = ("residential", "commercial", "industrial", "public", "mixed", "urban", "road",
                   "transport")
"""Land-use classes with sewers by default."""
_URBAN = DRAINED_CLASSES


@dataclass(frozen=True)
class FloodSettings:
    """Flood engine settings (the ``[flood]`` table).

    Attributes
    ----------
    cell_size : float
        Grid resolution (m); the terrain is resampled to it.
    buildings : {"blocked", "raised"}
        Buildings removed from the domain, or raised to their roof elevation.
    drainage_mm_h : float
        Sewer capacity, applied as a loss rate on urban land-use cells.
    drained_classes : tuple of str
        Land-use classes that have sewers.
    manning_default : float
        Manning's n where no land-use polygon covers a cell.
    dtype : {"float32", "float64"}
    boundaries : dict
        ``{"north": "closed" | "open", ...}`` for the four grid edges.
    initial_levels : dict
        Water ``kind`` -> initial water level: metres, or the id of a
        water-level gauge read at the start (``{ lake = "WL02", river = 16.0 }``).
        Water bodies are filled to it before the run (the terrain holds their beds).
    levees : bool
        Keep levee and embankment crests of the fine terrain on a coarser grid.
    rain : RainForcing or None
        ``[forcing.rain]``.
    river : RiverForcing or None
        ``[forcing.river]``.
    pumps : tuple of Pump
        ``[[forcing.pumps]]``.
    breach : Breach or None
        ``[forcing.breach]``.
    impacts : Thresholds
        ``[impacts]``.
    """

    cell_size: float = 8.0
    buildings: str = "blocked"
    drainage_mm_h: float = 0.0
    drained_classes: tuple[str, ...] = _URBAN
    manning_default: float = 0.03
    dtype: str = "float32"
    boundaries: dict = field(default_factory=lambda: dict.fromkeys(_SIDES, "closed"))
    initial_levels: dict = field(default_factory=dict)
    levees: bool = True
    rain: "RainForcing | None" = None
    river: "RiverForcing | None" = None
    pumps: tuple = ()
    breach: "Breach | None" = None
    impacts: "Thresholds" = None


@dataclass(frozen=True)
class RainForcing:
    """Rainfall (the ``[forcing.rain]`` table).

    ``source = "gauges"`` interpolates the recorded rain gauges
    (``interpolation`` ``"idw"`` with ``power``, or ``"thiessen"``; ``gauges``
    restricts the set); ``source = "design"`` uses a Chicago design storm of
    ``return_period`` years lasting ``duration_s`` with ``peak_ratio``, sampled
    every ``step_s`` and starting ``delay_s`` after the scenario start.
    ``scale`` multiplies the intensity in both cases. ``fill`` says what a
    gauge whose readings end before the scenario gives afterwards: ``"zero"``
    (no rain), ``"hold"`` (its last reading) or ``"stop"`` (refuse to run).
    ``recorded_start`` replays the gauges from another time (a recorded storm
    moved onto the scenario's clock: the reading at ``recorded_start + t``
    falls at ``start + t``).
    """

    source: str = "gauges"
    interpolation: str = "idw"
    power: float = 2.0
    gauges: tuple[str, ...] | None = None
    scale: float = 1.0
    return_period: float | None = None
    duration_s: float | None = None
    peak_ratio: float = 0.4
    step_s: float = 300.0
    delay_s: float = 0.0
    fill: str = "zero"
    recorded_start: Any = None


@dataclass(frozen=True)
class RiverForcing:
    """A water level held on the river cells (the ``[forcing.river]`` table).

    Either the recorded ``gauge`` (a water-level station) plus ``offset_m``, or a
    constant ``level_m`` (plus ``offset_m``). ``water`` is the ``kind`` of the
    water polygons whose cells hold the level. A gauge whose readings end before
    the scenario is held at its last level (``fill = "hold"``, with a warning)
    or refused (``fill = "stop"``).
    """

    gauge: str | None = None
    level_m: float | None = None
    offset_m: float = 0.0
    water: str = "river"
    fill: str = "hold"


@dataclass(frozen=True)
class Pump:
    """A pumping station (one ``[[forcing.pumps]]`` entry); ``at`` is a place name or ``(x, y)``."""

    at: str | tuple[float, float]
    capacity_m3s: float
    start_level_m: float = 0.0
    enabled: bool = True


@dataclass(frozen=True)
class Breach:
    """A levee breach (the ``[forcing.breach]`` table).

    At ``time_s`` after the start, the ground within ``width_m / 2`` of ``at``
    (a place name or ``(x, y)``) is lowered to ``level_m`` (never raised).
    """

    at: str | tuple[float, float]
    width_m: float
    level_m: float
    time_s: float = 0.0
    enabled: bool = True


@dataclass(frozen=True)
class Thresholds:
    """Impact thresholds (the ``[impacts]`` table), depths in m, hazard in m2/s.

    ``hazard_classes`` are the lower bounds of the moderate, significant and
    extreme classes of the flood hazard rating ``depth * (speed + 0.5)``
    (Defra/EA FD2320: 0.75, 1.25, 2.0).
    """

    road_closed_depth_m: float = 0.3
    building_flooded_depth_m: float = 0.15
    flooded_cell_depth_m: float = 0.05
    hazard_classes: tuple[float, float, float] = (0.75, 1.25, 2.0)


def parse_flood(raw: dict, ctx: Checker) -> FloodSettings:
    """The flood settings from the raw scenario's ``[flood]``, ``[forcing]`` and ``[impacts]``."""
    forcing = raw.get("forcing", {})
    ctx.table(forcing, "forcing")
    ctx.keys(forcing, _FORCING, "forcing")
    pumps = forcing.get("pumps", [])
    if not isinstance(pumps, list):
        raise ctx.error("forcing.pumps", "must be an array of tables",
                        "write each pump as a [[forcing.pumps]] table")
    base = _flood(raw.get("flood", {}), ctx)
    return FloodSettings(**{**base.__dict__,
                            "rain": _rain(forcing["rain"], ctx) if "rain" in forcing else None,
                            "river": _river(forcing["river"], ctx) if "river" in forcing else None,
                            "pumps": tuple(_pump(p, i, ctx) for i, p in enumerate(pumps)),
                            "breach": (_breach(forcing["breach"], ctx) if "breach" in forcing
                                       else None),
                            "impacts": _thresholds(raw.get("impacts", {}), ctx)})


def _flood(t: dict, ctx: Checker) -> FloodSettings:
    ctx.table(t, "flood")
    ctx.keys(t, _FLOOD, "flood")
    bounds = t.get("boundaries", "closed")
    if isinstance(bounds, str):
        bounds = dict.fromkeys(_SIDES, bounds)
    ctx.table(bounds, "flood.boundaries")
    ctx.keys(bounds, set(_SIDES), "flood.boundaries")
    for side in _SIDES:
        bounds.setdefault(side, "closed")
        ctx.choice(bounds, side, "flood.boundaries", ("closed", "open"), "closed")
    classes = t.get("drained_classes", _URBAN)
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise ctx.error("flood.drained_classes", "must be a list of land-use classes",
                        'write e.g. drained_classes = ["residential", "commercial"]')
    levels = t.get("initial_levels", {})
    ctx.table(levels, "flood.initial_levels")
    for kind, v in levels.items():
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise ctx.error(f"flood.initial_levels.{kind}", f"is {v!r}",
                            'give a level in metres or a water-level gauge id, e.g. lake = "WL02"')
    return FloodSettings(
        initial_levels={k: v if isinstance(v, str) else float(v) for k, v in levels.items()},
        cell_size=ctx.number(t, "cell_size", "flood", default=8.0, positive=True),
        buildings=ctx.choice(t, "buildings", "flood", ("blocked", "raised"), "blocked"),
        drainage_mm_h=ctx.number(t, "drainage_mm_h", "flood", default=0.0, low=0),
        drained_classes=tuple(classes),
        manning_default=ctx.number(t, "manning_default", "flood", default=0.03, positive=True),
        dtype=ctx.choice(t, "dtype", "flood", ("float32", "float64"), "float32"),
        boundaries=bounds, levees=ctx.flag(t, "levees", "flood", True))


def _rain(t: dict, ctx: Checker) -> RainForcing:
    w = "forcing.rain"
    ctx.table(t, w)
    ctx.keys(t, _RAIN, w)
    source = ctx.choice(t, "source", w, ("gauges", "design"), "gauges")
    gauges = t.get("gauges")
    if gauges is not None and (not isinstance(gauges, list)
                               or not all(isinstance(g, str) for g in gauges)):
        raise ctx.error(f"{w}.gauges", "must be a list of station ids",
                        'write e.g. gauges = ["RG01", "RG02"]')
    common = dict(source=source, scale=ctx.number(t, "scale", w, default=1.0, low=0),
                  delay_s=ctx.duration(t, "delay", w, default=0.0, zero_ok=True))
    if source == "gauges":
        extra = _RAIN & set(t) - {"source", "interpolation", "power", "gauges", "scale", "delay",
                                  "fill", "recorded_start"}
        if extra:
            raise ctx.error(f"{w}.{sorted(extra)[0]}", 'only applies to source = "design"',
                            'remove it or set source = "design"')
        return RainForcing(**common, interpolation=ctx.choice(t, "interpolation", w,
                                                              ("idw", "thiessen"), "idw"),
                           power=ctx.number(t, "power", w, default=2.0, positive=True),
                           gauges=None if gauges is None else tuple(gauges),
                           fill=ctx.choice(t, "fill", w, _FILLS, "zero"),
                           recorded_start=(_time(t["recorded_start"], f"{w}.recorded_start", ctx)
                                           if "recorded_start" in t else None))
    peak = ctx.number(t, "peak_ratio", w, default=0.4)
    if not 0 <= peak <= 1:
        raise ctx.error(f"{w}.peak_ratio", f"must be within 0..1, got {peak}",
                        "give the peak's position as a fraction of the storm, e.g. 0.4")
    return RainForcing(**common,
                       return_period=ctx.number(t, "return_period", w, required=True,
                                                positive=True),
                       duration_s=ctx.duration(t, "duration", w, required=True),
                       peak_ratio=peak,
                       step_s=ctx.duration(t, "step", w, default=300.0))


def _time(v, key: str, ctx: Checker) -> pd.Timestamp:
    try:
        t = v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
    except ValueError:
        raise ctx.error(key, f"is not an ISO 8601 time: {v!r}",
                        'write e.g. "2024-07-05T13:30:00+08:00"') from None
    if t.tzinfo is None:
        raise ctx.error(key, f"has no time zone: {v!r}", 'add the UTC offset, e.g. "+08:00"')
    return pd.Timestamp(t)


def _river(t: dict, ctx: Checker) -> RiverForcing:
    w = "forcing.river"
    ctx.table(t, w)
    ctx.keys(t, _RIVER, w)
    if ("gauge" in t) == ("level_m" in t):
        raise ctx.error(w, "needs exactly one of gauge and level_m",
                        'give gauge = "WL01" (recorded level) or level_m = 29.5 (forced level)')
    if "gauge" in t and not isinstance(t["gauge"], str):
        raise ctx.error(f"{w}.gauge", f"is {t['gauge']!r}", 'give a station id, e.g. "WL01"')
    return RiverForcing(gauge=t.get("gauge"), level_m=ctx.number(t, "level_m", w),
                        offset_m=ctx.number(t, "offset_m", w, default=0.0),
                        water=ctx.text(t, "water", w, "river"),
                        fill=ctx.choice(t, "fill", w, ("hold", "stop"), "hold"))


def _pump(t: dict, i: int, ctx: Checker) -> Pump:
    w = f"forcing.pumps[{i}]"
    ctx.table(t, w)
    ctx.keys(t, _PUMP, w)
    if "at" not in t:
        raise ctx.error(f"{w}.at", "is missing",
                        'add at = "pump_station" or at = { x = .., y = .. }')
    return Pump(at=ctx.location(t["at"], f"{w}.at"),
                capacity_m3s=ctx.number(t, "capacity_m3s", w, required=True, positive=True),
                start_level_m=ctx.number(t, "start_level_m", w, default=0.0, low=0),
                enabled=ctx.flag(t, "enabled", w, True))


def _breach(t: dict, ctx: Checker) -> Breach:
    w = "forcing.breach"
    ctx.table(t, w)
    ctx.keys(t, _BREACH, w)
    if "at" not in t:
        raise ctx.error(f"{w}.at", "is missing", 'add at = "levee_gap" or at = { x = .., y = .. }')
    return Breach(at=ctx.location(t["at"], f"{w}.at"),
                  width_m=ctx.number(t, "width_m", w, required=True, positive=True),
                  level_m=ctx.number(t, "level_m", w, required=True),
                  time_s=ctx.duration(t, "time", w, default=0.0, zero_ok=True),
                  enabled=ctx.flag(t, "enabled", w, True))


def _thresholds(t: dict, ctx: Checker) -> Thresholds:
    w = "impacts"
    ctx.table(t, w)
    ctx.keys(t, _IMPACTS, w)
    classes = t.get("hazard_classes", [0.75, 1.25, 2.0])
    if (not isinstance(classes, list) or len(classes) != 3
            or not all(isinstance(c, (int, float)) and c > 0 for c in classes)
            or sorted(classes) != classes):
        raise ctx.error(f"{w}.hazard_classes", f"is {classes!r}",
                        "give three increasing positive bounds, e.g. [0.75, 1.25, 2.0]")
    return Thresholds(
        road_closed_depth_m=ctx.number(t, "road_closed_depth_m", w, default=0.3, positive=True),
        building_flooded_depth_m=ctx.number(t, "building_flooded_depth_m", w, default=0.15,
                                            positive=True),
        flooded_cell_depth_m=ctx.number(t, "flooded_cell_depth_m", w, default=0.05,
                                        positive=True),
        hazard_classes=tuple(float(c) for c in classes))


def apply_change(raw: dict, key: str, value: Any, source: Path | None) -> str | None:
    """Apply a flood what-if shortcut to the raw scenario; return its label, or None.

    Shortcuts: ``rain_scale``, ``return_period`` (design storms), ``pumps``
    (``False`` switches every pump off), ``breach`` (``True``/``False``),
    ``cell_size``.
    """
    forcing = raw.setdefault("forcing", {}) if key in _SHORTCUTS else None
    if key == "rain_scale":
        _need_table(forcing, "rain", key, source)["scale"] = float(value)
        return f"rain x{value:g}"
    if key == "return_period":
        rain = _need_table(forcing, "rain", key, source)
        if rain.get("source") != "design":
            raise DataError("return_period only applies to a design storm", file=source,
                            fix='set [forcing.rain] source = "design"')
        rain["return_period"] = float(value)
        return f"{value:g}-year storm"
    if key == "pumps":
        for pump in forcing.get("pumps", []):
            pump["enabled"] = bool(value)
        return "pumps on" if value else "pumps off"
    if key == "breach":
        _need_table(forcing, "breach", key, source)["enabled"] = bool(value)
        return "breach" if value else "no breach"
    if key == "cell_size":
        raw.setdefault("flood", {})["cell_size"] = float(value)
        return f"{value:g} m cells"
    return None


_SHORTCUTS = ("rain_scale", "return_period", "pumps", "breach")


def _need_table(forcing: dict, name: str, key: str, source: Path | None) -> dict:
    if name not in forcing:
        raise DataError(f"what-if {key!r} needs a [forcing.{name}] table in the scenario",
                        file=source, fix=f"add [forcing.{name}] to the scenario first")
    return forcing[name]
