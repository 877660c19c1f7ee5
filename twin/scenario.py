"""Scenarios: what to simulate on a city, read from a TOML file.

A scenario names the city, the start time (ISO 8601 with zone), the duration,
the forcing (recorded rain gauges or a design storm, a river level from a
gauge or a forced level, pumps, a levee breach), the flood engine settings,
the output interval and the impact thresholds::

    name = "Recorded storm of 5 July 2024"
    city = "../city.toml"
    start = "2024-07-05T12:00:00+08:00"
    duration = "6h"
    output_every = "10min"
    [flood]
    cell_size = 8.0
    buildings = "blocked"
    drainage_mm_h = 20.0
    [forcing.rain]
    source = "gauges"
    interpolation = "idw"
    [forcing.river]
    gauge = "WL01"
    [[forcing.pumps]]
    at = "pump_station"
    capacity_m3s = 10.0
    [impacts]
    road_closed_depth_m = 0.3

Durations are seconds or strings such as ``"6h"``, ``"10min"``, ``"1h30min"``.
Every value is checked on load; a bad one raises :class:`~geodata.errors.DataError`
naming the file, the key and the fix.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from geodata.errors import DataError

__all__ = ["Scenario", "FloodSettings", "RainForcing", "RiverForcing", "Pump", "Breach",
           "Thresholds", "load_scenario", "parse_scenario", "parse_duration"]

_TOP = {"name", "city", "start", "duration", "output_every", "description", "flood", "forcing",
        "impacts"}
_FLOOD = {"cell_size", "buildings", "drainage_mm_h", "drained_classes", "manning_default",
          "dtype", "boundaries", "initial_levels"}
_FORCING = {"rain", "river", "pumps", "breach"}
_RAIN = {"source", "interpolation", "power", "gauges", "scale", "return_period", "duration",
         "peak_ratio", "step", "delay"}
_RIVER = {"gauge", "level_m", "offset_m", "water"}
_PUMP = {"at", "capacity_m3s", "start_level_m", "enabled"}
_BREACH = {"at", "width_m", "level_m", "time", "enabled"}
_IMPACTS = {"road_closed_depth_m", "building_flooded_depth_m", "flooded_cell_depth_m",
            "hazard_classes"}
_SIDES = ("north", "east", "south", "west")
_URBAN = ("residential", "commercial", "industrial", "public", "mixed", "urban", "road",
          "transport")


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
    """

    cell_size: float = 8.0
    buildings: str = "blocked"
    drainage_mm_h: float = 0.0
    drained_classes: tuple[str, ...] = _URBAN
    manning_default: float = 0.03
    dtype: str = "float32"
    boundaries: dict = field(default_factory=lambda: dict.fromkeys(_SIDES, "closed"))
    initial_levels: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RainForcing:
    """Rainfall (the ``[forcing.rain]`` table).

    ``source = "gauges"`` interpolates the recorded rain gauges
    (``interpolation`` ``"idw"`` with ``power``, or ``"thiessen"``; ``gauges``
    restricts the set); ``source = "design"`` uses a Chicago design storm of
    ``return_period`` years lasting ``duration_s`` with ``peak_ratio``, sampled
    every ``step_s`` and starting ``delay_s`` after the scenario start.
    ``scale`` multiplies the intensity in both cases.
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


@dataclass(frozen=True)
class RiverForcing:
    """A water level held on the river cells (the ``[forcing.river]`` table).

    Either the recorded ``gauge`` (a water-level station) plus ``offset_m``, or a
    constant ``level_m`` (plus ``offset_m``). ``water`` is the ``kind`` of the
    water polygons whose cells hold the level.
    """

    gauge: str | None = None
    level_m: float | None = None
    offset_m: float = 0.0
    water: str = "river"


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


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; build one with :func:`load_scenario`.

    Attributes
    ----------
    name : str
    city : pathlib.Path
        The city manifest, resolved against the scenario's folder.
    start : pandas.Timestamp
        Start time, time-zone aware.
    duration_s, output_every_s : float
        Simulated time and frame interval (s).
    flood : FloodSettings
    rain : RainForcing or None
    river : RiverForcing or None
    pumps : tuple of Pump
    breach : Breach or None
    impacts : Thresholds
    text : str
        The TOML text the scenario was read from (regenerated for variants).
    source : pathlib.Path or None
        The scenario file.

    Examples
    --------
    >>> s = load_scenario("data_samples/ezhou/scenarios/storm.toml")  # doctest: +SKIP
    >>> s.with_changes(rain_scale=1.5, pumps=False).name             # doctest: +SKIP
    'Recorded storm of 5 July 2024 (rain x1.5, pumps off)'
    """

    name: str
    city: Path
    start: pd.Timestamp
    duration_s: float
    output_every_s: float
    flood: FloodSettings
    rain: RainForcing | None
    river: RiverForcing | None
    pumps: tuple[Pump, ...]
    breach: Breach | None
    impacts: Thresholds
    text: str
    source: Path | None = None

    @property
    def end(self) -> pd.Timestamp:
        """Start plus duration."""
        return self.start + pd.Timedelta(seconds=self.duration_s)

    @property
    def n_frames(self) -> int:
        """Number of output frames after the initial one."""
        return int(-(-self.duration_s // self.output_every_s))

    def with_changes(self, **changes: Any) -> "Scenario":
        """A what-if variant of this scenario, validated like a loaded one.

        Parameters
        ----------
        **changes
            Shortcuts ``rain_scale``, ``return_period`` (design storms),
            ``pumps`` (``False`` switches every pump off), ``breach``
            (``True``/``False``), ``duration``, ``output_every``, ``cell_size``,
            ``name``; or any key as a dotted path, e.g.
            ``**{"forcing.river.offset_m": 1.0}``.

        Returns
        -------
        Scenario
            The variant; its ``text`` is the TOML of the changed table.

        Examples
        --------
        >>> s.with_changes(rain_scale=2.0, breach=True)  # doctest: +SKIP
        """
        raw = tomllib.loads(self.text)
        labels = []
        for key, value in changes.items():
            labels.append(_apply_change(raw, key, value, self.source))
        if "name" not in changes:
            raw["name"] = f"{self.name} ({', '.join(labels)})" if labels else self.name
        return parse_scenario(tomli_w.dumps(raw), source=self.source)


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario TOML file.

    The ``city`` path is resolved against the scenario's folder and must exist.

    Raises
    ------
    DataError
        Missing file, bad TOML, unknown key, missing or bad value; the message
        names the file, the key and the fix.

    Examples
    --------
    >>> s = load_scenario("data_samples/ezhou/scenarios/demo.toml")  # doctest: +SKIP
    >>> s.duration_s, s.output_every_s                               # doctest: +SKIP
    (3600.0, 300.0)
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("scenario file not found", file=path,
                        fix="check the path; sample scenarios are in data_samples/ezhou/scenarios/")
    return parse_scenario(path.read_text(encoding="utf-8"), source=path)


def parse_scenario(text: str, *, source: str | os.PathLike | None = None) -> Scenario:
    """Validate scenario TOML ``text``; ``source`` is the file it came from (for
    messages and for resolving the ``city`` path)."""
    source = None if source is None else Path(source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"is not valid TOML ({exc})", file=source,
                        fix="fix the syntax; see the sample scenarios") from None
    ctx = _Context(source)
    ctx.keys(raw, _TOP, "")
    forcing = raw.get("forcing", {})
    ctx.table(forcing, "forcing")
    ctx.keys(forcing, _FORCING, "forcing")
    pumps = forcing.get("pumps", [])
    if not isinstance(pumps, list):
        raise ctx.error("forcing.pumps", "must be an array of tables",
                        "write each pump as a [[forcing.pumps]] table")
    return Scenario(
        name=str(raw.get("name") or (source.stem if source else "scenario")),
        city=_city_path(raw, ctx),
        start=_start(raw, ctx),
        duration_s=ctx.duration(raw, "duration", required=True),
        output_every_s=ctx.duration(raw, "output_every", default=600.0),
        flood=_flood(raw.get("flood", {}), ctx),
        rain=_rain(forcing["rain"], ctx) if "rain" in forcing else None,
        river=_river(forcing["river"], ctx) if "river" in forcing else None,
        pumps=tuple(_pump(p, i, ctx) for i, p in enumerate(pumps)),
        breach=_breach(forcing["breach"], ctx) if "breach" in forcing else None,
        impacts=_thresholds(raw.get("impacts", {}), ctx),
        text=text, source=source)


def parse_duration(value: Any) -> float:
    """Seconds from a number of seconds or a string like ``"6h"``, ``"10min"``, ``"1h30min"``.

    Examples
    --------
    >>> parse_duration("1h30min"), parse_duration(90), parse_duration("10min")
    (5400.0, 90.0, 600.0)
    """
    if isinstance(value, bool):
        raise ValueError("a duration is not true/false")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return pd.Timedelta(str(value).replace(" ", "")).total_seconds()


class _Context:
    """Raises DataError naming the scenario file and key."""

    def __init__(self, source: Path | None) -> None:
        self.source = source

    def error(self, key: str, problem: str, fix: str) -> DataError:
        return DataError(f"key '{key}' {problem}", file=self.source, fix=fix)

    def table(self, value: Any, key: str) -> None:
        if not isinstance(value, dict):
            raise self.error(key, "must be a table", f"write it as a [{key}] section")

    def keys(self, table: dict, allowed: set, where: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            full = f"{where}.{unknown[0]}" if where else unknown[0]
            raise self.error(full, "is not known",
                             f"use one of {', '.join(sorted(allowed))} (check the spelling)")

    def number(self, table: dict, key: str, where: str, *, default=None, low=None,
               positive=False, required=False) -> float | None:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                raise self.error(full, "is missing", f"add {key} = <number>")
            return default
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(full, f"must be a number, got {v!r}", f"write e.g. {key} = 1.0")
        if positive and not v > 0:
            raise self.error(full, f"must be positive, got {v}", "give a value above zero")
        if low is not None and v < low:
            raise self.error(full, f"must be at least {low}, got {v}", f"give a value >= {low}")
        return float(v)

    def duration(self, table: dict, key: str, where: str = "", *, default=None,
                 required=False, zero_ok=False) -> float | None:
        full = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                raise self.error(full, "is missing", f'add {key} = "6h" (or seconds)')
            return default
        try:
            s = parse_duration(table[key])
        except ValueError:
            raise self.error(full, f"is not a duration: {table[key]!r}",
                             'write seconds or a string like "6h", "10min", "1h30min"') from None
        if s < 0 or (s == 0 and not zero_ok):
            raise self.error(full, f"must be {'non-negative' if zero_ok else 'positive'}, "
                             f"got {table[key]!r}", "give a duration above zero")
        return s

    def choice(self, table: dict, key: str, where: str, options: tuple, default: str) -> str:
        v = table.get(key, default)
        if v not in options:
            raise self.error(f"{where}.{key}", f"is {v!r}", f"use one of {', '.join(options)}")
        return v

    def location(self, value: Any, key: str) -> str | tuple[float, float]:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and set(value) == {"x", "y"} and all(
                isinstance(value[k], (int, float)) for k in "xy"):
            return (float(value["x"]), float(value["y"]))
        raise self.error(key, f"is {value!r}",
                         'give a place name of the city or { x = ..., y = ... } in the city CRS')


def _city_path(raw: dict, ctx: _Context) -> Path:
    if "city" not in raw:
        raise ctx.error("city", "is missing", 'add city = "../city.toml" (relative to this file)')
    city = Path(str(raw["city"]))
    if not city.is_absolute() and ctx.source is not None:
        city = ctx.source.parent / city
    if not city.exists():
        raise ctx.error("city", f"names {city}, which does not exist",
                        "give the city manifest's path relative to the scenario file")
    return city


def _start(raw: dict, ctx: _Context) -> pd.Timestamp:
    if "start" not in raw:
        raise ctx.error("start", "is missing", 'add start = "2024-07-05T12:00:00+08:00"')
    v = raw["start"]
    try:
        t = v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
    except ValueError:
        raise ctx.error("start", f"is not an ISO 8601 time: {v!r}",
                        'write e.g. "2024-07-05T12:00:00+08:00"') from None
    if t.tzinfo is None:
        raise ctx.error("start", f"has no time zone: {v!r}",
                        'add the UTC offset, e.g. "2024-07-05T12:00:00+08:00"')
    return pd.Timestamp(t)


def _flood(t: dict, ctx: _Context) -> FloodSettings:
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
        boundaries=bounds)


def _rain(t: dict, ctx: _Context) -> RainForcing:
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
        extra = _RAIN & set(t) - {"source", "interpolation", "power", "gauges", "scale", "delay"}
        if extra:
            raise ctx.error(f"{w}.{sorted(extra)[0]}", 'only applies to source = "design"',
                            'remove it or set source = "design"')
        return RainForcing(**common, interpolation=ctx.choice(t, "interpolation", w,
                                                              ("idw", "thiessen"), "idw"),
                           power=ctx.number(t, "power", w, default=2.0, positive=True),
                           gauges=None if gauges is None else tuple(gauges))
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


def _river(t: dict, ctx: _Context) -> RiverForcing:
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
                        water=str(t.get("water", "river")))


def _pump(t: dict, i: int, ctx: _Context) -> Pump:
    w = f"forcing.pumps[{i}]"
    ctx.table(t, w)
    ctx.keys(t, _PUMP, w)
    if "at" not in t:
        raise ctx.error(f"{w}.at", "is missing",
                        'add at = "pump_station" or at = { x = .., y = .. }')
    return Pump(at=ctx.location(t["at"], f"{w}.at"),
                capacity_m3s=ctx.number(t, "capacity_m3s", w, required=True, positive=True),
                start_level_m=ctx.number(t, "start_level_m", w, default=0.0, low=0),
                enabled=bool(t.get("enabled", True)))


def _breach(t: dict, ctx: _Context) -> Breach:
    w = "forcing.breach"
    ctx.table(t, w)
    ctx.keys(t, _BREACH, w)
    if "at" not in t:
        raise ctx.error(f"{w}.at", "is missing", 'add at = "levee_gap" or at = { x = .., y = .. }')
    return Breach(at=ctx.location(t["at"], f"{w}.at"),
                  width_m=ctx.number(t, "width_m", w, required=True, positive=True),
                  level_m=ctx.number(t, "level_m", w, required=True),
                  time_s=ctx.duration(t, "time", w, default=0.0, zero_ok=True),
                  enabled=bool(t.get("enabled", True)))


def _thresholds(t: dict, ctx: _Context) -> Thresholds:
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


def _apply_change(raw: dict, key: str, value: Any, source: Path | None) -> str:
    """Apply one what-if change to the raw TOML table; return its label."""
    forcing = raw.setdefault("forcing", {})
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
    if key in ("duration", "output_every", "name"):
        raw[key] = value
        return f"{key} {value}"
    if key == "cell_size":
        raw.setdefault("flood", {})["cell_size"] = float(value)
        return f"{value:g} m cells"
    *path, last = key.split(".")
    table = raw
    for part in path:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise DataError(f"what-if key {key!r} does not name a table", file=source,
                            fix="use a dotted path of tables, e.g. forcing.river.offset_m")
    table[last] = copy.deepcopy(value)
    return f"{key}={value}"


def _need_table(forcing: dict, name: str, key: str, source: Path | None) -> dict:
    if name not in forcing:
        raise DataError(f"what-if {key!r} needs a [forcing.{name}] table in the scenario",
                        file=source, fix=f"add [forcing.{name}] to the scenario first")
    return forcing[name]
