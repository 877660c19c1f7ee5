"""Scenarios: what to simulate on a city, read from a TOML file.

A scenario names the city, the start time (ISO 8601 with zone), the duration,
the output interval and one table per engine to run (any subset of the
registered engines, at least one). Each engine's adapter
(:mod:`twin.engines`) parses its own tables::

    name = "Recorded storm of 5 July 2024"
    city = "../city.toml"
    start = "2024-07-05T12:00:00+08:00"
    duration = "6h"
    output_every = "10min"
    [flood]                      # the flood engine, with its [forcing] and [impacts]
    cell_size = 8.0
    [forcing.rain]
    source = "gauges"
    [traffic]                    # the traffic engine
    demand = "city"

Durations are seconds or strings such as ``"6h"``, ``"10min"``, ``"1h30min"``.
Every value is checked on load; a bad one raises :class:`~geodata.errors.DataError`
naming the file, the key and the fix (with a "did you mean" for misspelt keys).
"""
from __future__ import annotations

import copy
import datetime as dt
import difflib
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import tomli_w

from geodata.errors import DataError

__all__ = ["Scenario", "Checker", "load_scenario", "parse_scenario", "parse_duration"]

_TOP = {"name", "city", "start", "duration", "output_every", "exchange_every", "coupled",
        "description"}
_MAX_DURATION_S = 366 * 86400.0


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
    duration_s, output_every_s, exchange_every_s : float
        Simulated time, frame interval and coupling interval (s).
    coupled : bool
        Whether the engines exchange (``coupled = false`` runs them side by
        side on the same clock, to see what the coupling changes).
    engines : dict
        Engine name -> its settings (parsed by its adapter), in exchange order.
        Each is also an attribute: ``scenario.flood``.
    text : str
        The TOML text the scenario was read from (regenerated for variants).
    source : pathlib.Path or None
        The scenario file.

    Examples
    --------
    >>> s = load_scenario("data_samples/ezhou/scenarios/storm.toml")  # doctest: +SKIP
    >>> list(s.engines), s.flood.cell_size                            # doctest: +SKIP
    (['flood'], 8.0)
    >>> s.with_changes(rain_scale=1.5, pumps=False).name             # doctest: +SKIP
    'Recorded storm of 5 July 2024 (rain x1.5, pumps off)'
    """

    name: str
    city: Path
    start: pd.Timestamp
    duration_s: float
    output_every_s: float
    engines: dict
    text: str
    source: Path | None = None
    exchange_every_s: float | None = None
    coupled: bool = True

    def __getattr__(self, name: str) -> Any:
        engines = self.__dict__.get("engines") or {}
        if name in engines:
            return engines[name]
        raise AttributeError(f"scenario has no {name!r} (engines: {', '.join(engines)})")

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
            ``duration``, ``output_every``, ``name``; the shortcuts of the
            scenario's engines (flood: ``rain_scale``, ``return_period``,
            ``pumps``, ``breach``, ``cell_size``; see each adapter's
            ``apply_change``); or any key as a dotted path, e.g.
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
        labels = [_apply_change(raw, key, value, self.source) for key, value in changes.items()]
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
    (3600.0, 600.0)
    """
    if path is None or str(path) == "":
        raise DataError("no scenario file given", fix="give the path of a scenario .toml file")
    path = Path(path)
    if not path.is_file():
        raise DataError("scenario file not found", file=path,
                        fix="check the path; sample scenarios are in data_samples/ezhou/scenarios/")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot be read ({exc})", file=path,
                        fix="give a UTF-8 TOML scenario file") from None
    return parse_scenario(text, source=path)


def parse_scenario(text: str, *, source: str | os.PathLike | None = None) -> Scenario:
    """Validate scenario TOML ``text``; ``source`` is the file it came from (for
    messages and for resolving the ``city`` path)."""
    from twin.engines import adapters
    source = None if source is None else Path(source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"is not valid TOML ({exc})", file=source,
                        fix="fix the syntax; see the sample scenarios") from None
    ctx = Checker(source)
    known = adapters()
    claimed = {t: name for name, cls in known.items() for t in cls.tables}
    _check_tables(raw, claimed, known, ctx)
    name, city, start = _name(raw, source, ctx), _city_path(raw, ctx), _start(raw, ctx)
    duration = ctx.duration(raw, "duration", required=True)
    every = ctx.duration(raw, "output_every", default=min(600.0, duration))
    if every > duration:
        raise ctx.error("output_every", f"({every:g} s) is longer than the duration "
                        f"({duration:g} s)", "give an output interval no longer than the duration")
    exchange = ctx.duration(raw, "exchange_every", default=None)
    present = {claimed[t] for t in raw if t in claimed}
    if not present:
        raise ctx.error("", "names no engine to run",
                        f"add at least one engine table: {', '.join(f'[{n}]' for n in known)}")
    scenario = Scenario(
        name=name, city=city, start=start, duration_s=duration, output_every_s=every,
        exchange_every_s=exchange, coupled=ctx.flag(raw, "coupled", "", True),
        engines={n: cls.parse(raw, ctx) for n, cls in known.items() if n in present},
        text=text, source=source)
    return scenario


def _check_tables(raw: dict, claimed: dict, known: dict, ctx: "Checker") -> None:
    for key in raw:
        if key in _TOP or key in claimed:
            continue
        close = difflib.get_close_matches(key, list(_TOP | set(claimed)), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ctx.error(key, "is not known (neither a setting nor an engine)",
                        f"{hint}engines: {', '.join(known)}; settings: "
                        f"{', '.join(sorted(_TOP))}")


def parse_duration(value: Any) -> float:
    """Seconds from a number of seconds or a string like ``"6h"``, ``"10min"``, ``"1h30min"``.

    Examples
    --------
    >>> parse_duration("1h30min"), parse_duration(90), parse_duration("10min"), parse_duration("90")
    (5400.0, 90.0, 600.0, 90.0)
    """
    if isinstance(value, bool):
        raise ValueError("a duration is not true/false")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    text = str(value).replace(" ", "")
    try:
        return float(text)                  # "1800" is seconds, as 1800 is
    except ValueError:
        return pd.Timedelta(text).total_seconds()


class Checker:
    """Checks raw scenario values; raises :class:`DataError` naming the file and key.

    Adapters use it to parse their tables.

    Examples
    --------
    >>> Checker(None).number({"a": 2}, "a", "t", positive=True)
    2.0
    """

    def __init__(self, source: Path | None) -> None:
        self.source = source

    def error(self, key: str, problem: str, fix: str) -> DataError:
        """A DataError for ``key`` (dotted path) in the scenario file."""
        what = f"key '{key}' {problem}" if key else problem
        return DataError(what, file=self.source, fix=fix)

    def table(self, value: Any, key: str) -> None:
        """Raise unless ``value`` is a table."""
        if not isinstance(value, dict):
            raise self.error(key, "must be a table", f"write it as a [{key}] section")

    def keys(self, table: dict, allowed: set, where: str) -> None:
        """Raise on a key of ``table`` not in ``allowed``, suggesting the closest."""
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            full = f"{where}.{unknown[0]}" if where else unknown[0]
            close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise self.error(full, "is not known",
                             f"{hint}use one of {', '.join(sorted(allowed))}")

    def number(self, table: dict, key: str, where: str, *, default=None, low=None,
               high=None, positive=False, required=False) -> float | None:
        """A finite number from ``table[key]`` within the given bounds."""
        full = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                raise self.error(full, "is missing", f"add {key} = <number>")
            return default
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(full, f"must be a number, got {v!r}", f"write e.g. {key} = 1.0")
        if not math.isfinite(v):
            raise self.error(full, f"must be finite, got {v}", "give a finite number")
        if positive and not v > 0:
            raise self.error(full, f"must be positive, got {v}", "give a value above zero")
        if low is not None and v < low:
            raise self.error(full, f"must be at least {low}, got {v}", f"give a value >= {low}")
        if high is not None and v > high:
            raise self.error(full, f"must be at most {high}, got {v}", f"give a value <= {high}")
        return float(v)

    def flag(self, table: dict, key: str, where: str, default: bool) -> bool:
        """A true/false value."""
        v = table.get(key, default)
        if not isinstance(v, bool):
            raise self.error(f"{where}.{key}" if where else key,
                             f"must be true or false, got {v!r}",
                             f"write {key} = true or {key} = false")
        return v

    def text(self, table: dict, key: str, where: str, default: str | None = None) -> str | None:
        """A string value."""
        v = table.get(key, default)
        if v is not None and not isinstance(v, str):
            raise self.error(f"{where}.{key}", f"must be text, got {v!r}",
                             f'write {key} = "..."')
        return v

    def duration(self, table: dict, key: str, where: str = "", *, default=None,
                 required=False, zero_ok=False) -> float | None:
        """Seconds from a number or a duration string."""
        full = f"{where}.{key}" if where else key
        if key not in table:
            if required:
                raise self.error(full, "is missing", f'add {key} = "6h" (or seconds)')
            return default
        try:
            s = parse_duration(table[key])
        except (ValueError, TypeError):
            raise self.error(full, f"is not a duration: {table[key]!r}",
                             'write seconds or a string like "6h", "10min", "1h30min"') from None
        if not math.isfinite(s) or s > _MAX_DURATION_S:
            raise self.error(full, f"is {table[key]!r}, not a usable duration",
                             "give a finite duration of at most a year")
        if s < 0 or (s == 0 and not zero_ok):
            raise self.error(full, f"must be {'non-negative' if zero_ok else 'positive'}, "
                             f"got {table[key]!r}", "give a duration above zero")
        return s

    def choice(self, table: dict, key: str, where: str, options: tuple, default: str) -> str:
        """One of ``options``."""
        v = table.get(key, default)
        if v not in options:
            raise self.error(f"{where}.{key}", f"is {v!r}", f"use one of {', '.join(options)}")
        return v

    def location(self, value: Any, key: str) -> str | tuple[float, float]:
        """A place name or ``{x, y}`` in the city CRS."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and set(value) == {"x", "y"} and all(
                isinstance(value[k], (int, float)) and not isinstance(value[k], bool)
                and math.isfinite(value[k]) for k in "xy"):
            return (float(value["x"]), float(value["y"]))
        raise self.error(key, f"is {value!r}",
                         'give a place name of the city or { x = ..., y = ... } in the city CRS')


def _name(raw: dict, source: Path | None, ctx: Checker) -> str:
    name = raw.get("name") or (source.stem if source else "scenario")
    if not isinstance(name, str):
        raise ctx.error("name", f"must be text, got {name!r}", 'write name = "..."')
    return name


def _city_path(raw: dict, ctx: Checker) -> Path:
    if "city" not in raw:
        raise ctx.error("city", "is missing", 'add city = "../city.toml" (relative to this file)')
    if not isinstance(raw["city"], str) or not raw["city"]:
        raise ctx.error("city", f"must be a path, got {raw['city']!r}",
                        'write city = "../city.toml"')
    city = Path(raw["city"])
    if not city.is_absolute() and ctx.source is not None:
        city = ctx.source.parent / city
    if not city.exists():
        raise ctx.error("city", f"names {city}, which does not exist",
                        "give the city manifest's path relative to the scenario file")
    return city


def _start(raw: dict, ctx: Checker) -> pd.Timestamp:
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


def _apply_change(raw: dict, key: str, value: Any, source: Path | None) -> str:
    """Apply one what-if change to the raw TOML table; return its label."""
    from twin.engines import adapters
    if key in ("duration", "output_every", "name", "coupled"):
        raw[key] = value
        return f"{key} {value}"
    for cls in adapters().values():
        label = cls.apply_change(raw, key, value, source)
        if label is not None:
            return label
    *path, last = key.split(".")
    if not path:
        raise DataError(f"what-if change {key!r} is not known", file=source,
                        fix="use duration, output_every, name, an engine's shortcut or a "
                            "dotted path such as forcing.river.offset_m")
    table = raw
    for part in path:
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise DataError(f"what-if key {key!r} does not name a table", file=source,
                            fix="use a dotted path of tables, e.g. forcing.river.offset_m")
    table[last] = copy.deepcopy(value)
    return f"{key}={value}"
