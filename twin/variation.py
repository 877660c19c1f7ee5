"""What an ensemble varies: named scenario settings, their ranges, and the member values.

A variation names a numeric scenario setting and a range (``rain_scale=0.5:1.5``)
or a list of values (``breach_time=1800,3600``). Names are the engines' what-if
shortcuts and a few ensemble names below, or any dotted scenario key holding a
number (``flood.drainage_mm_h``). :func:`sample` draws the members: a Latin
hypercube over the ranges (stratified, so 20 members cover each range evenly),
or the given values.

========================  =================================================
name                      changes
========================  =================================================
``rain_scale``            rain intensity factor (``forcing.rain.scale``)
``return_period``         design-storm return period (years)
``pump_capacity``         capacity of every pump (m3/s)
``pump_failure``          >= 0.5 switches every pump off
``river_offset``          river level offset (m, ``forcing.river.offset_m``)
``breach_time``           when the breach opens (s)
``demand_scale``          traffic demand factor
``attendance``            people at the venue
========================  =================================================

Examples
--------
>>> v = parse_variations(["rain_scale=0.5:1.5"])
>>> table = sample(v, members=4, seed=0)
>>> table["rain_scale"].between(0.5, 1.5).all(), len(table)
(True, 4)
"""
from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata.errors import DataError

__all__ = ["Variation", "NAMES", "parse_variations", "sample", "member_scenario"]

NAMES = {
    "rain_scale": "forcing.rain.scale", "return_period": "forcing.rain.return_period",
    "pump_capacity": None, "pump_failure": None, "river_offset": "forcing.river.offset_m",
    "breach_time": "forcing.breach.time", "demand_scale": "traffic.demand_scale",
    "attendance": "crowd.attendance",
}
"""Ensemble names and the scenario key each sets (None: set by :func:`member_scenario`)."""


@dataclass(frozen=True)
class Variation:
    """One varied setting: a range ``low..high`` or explicit ``values``."""

    name: str
    low: float | None = None
    high: float | None = None
    values: tuple[float, ...] = ()


def parse_variations(specs: list[str]) -> list[Variation]:
    """``NAME=LOW:HIGH`` or ``NAME=V1,V2,...`` strings -> variations.

    Raises
    ------
    DataError
        Malformed text, unknown name (with a suggestion), non-numbers, an
        empty range, a name given twice.
    """
    out, seen = [], set()
    for spec in specs:
        name, eq, rng = spec.partition("=")
        name = name.strip()
        if not eq or not name or not rng.strip():
            raise DataError(f"--vary {spec!r} is not NAME=LOW:HIGH or NAME=V1,V2",
                            fix="write e.g. --vary rain_scale=0.5:1.5")
        _check_name(name)
        if name in seen:
            raise DataError(f"--vary names {name!r} twice", fix="give each setting once")
        seen.add(name)
        out.append(_range(name, rng.strip(), spec))
    return out


def _check_name(name: str) -> None:
    if name in NAMES or "." in name:
        return
    close = difflib.get_close_matches(name, list(NAMES), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise DataError(f"--vary name {name!r} is not a numeric scenario setting",
                    fix=f"{hint}use one of {', '.join(NAMES)} or a dotted key such as "
                        "flood.drainage_mm_h")


def _number(text: str, spec: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise DataError(f"--vary {spec!r}: {text!r} is not a number",
                        fix="give numbers, e.g. rain_scale=0.5:1.5") from None
    if not math.isfinite(v):
        raise DataError(f"--vary {spec!r}: {text!r} is not finite", fix="give finite numbers")
    return v


def _range(name: str, text: str, spec: str) -> Variation:
    if ":" in text:
        lo, _, hi = text.partition(":")
        low, high = _number(lo, spec), _number(hi, spec)
        if not low < high:
            raise DataError(f"--vary {spec!r}: the range {low:g}:{high:g} is empty",
                            fix="give LOW < HIGH, or a list of values V1,V2")
        return Variation(name, low, high)
    values = tuple(_number(v, spec) for v in text.split(","))
    return Variation(name, values=values)


def sample(variations: list[Variation], members: int, *, seed: int = 0) -> pd.DataFrame:
    """The member table: one row per member, one column per variation.

    Ranges are sampled by a Latin hypercube; value lists are cycled in order.
    """
    if not isinstance(members, int) or members < 1:
        raise DataError(f"--members {members!r} must be a positive whole number",
                        fix="give e.g. --members 20")
    from scipy.stats import qmc
    ranged = [v for v in variations if v.values == ()]
    cols = {}
    if ranged:
        u = qmc.LatinHypercube(d=len(ranged), seed=seed).random(members)
        for k, v in enumerate(ranged):
            cols[v.name] = v.low + u[:, k] * (v.high - v.low)
    for v in variations:
        if v.values:
            cols[v.name] = np.resize(np.asarray(v.values, float), members)
    table = pd.DataFrame({v.name: cols[v.name] for v in variations})
    table.index.name = "member"
    return table


def member_scenario(scenario, values: dict):
    """The scenario of one member: ``values`` applied (a validated variant)."""
    changes = {}
    raw = tomllib.loads(scenario.text)
    for name, value in values.items():
        value = float(value)
        if name == "pump_failure":
            changes["pumps"] = value < 0.5
        elif name == "pump_capacity":
            pumps = raw.get("forcing", {}).get("pumps", [])
            if not pumps:
                raise DataError("--vary pump_capacity: the scenario has no pumps",
                                file=scenario.source, fix="add [[forcing.pumps]] or vary "
                                                          "another setting")
            for k in range(len(pumps)):
                changes[f"forcing.pumps.{k}.capacity_m3s"] = value
        else:
            key = NAMES.get(name) or name
            _check_key(raw, key, name, scenario.source)
            changes[key] = value
    label = ", ".join(f"{k}={float(v):.4g}" for k, v in values.items())
    return scenario.with_changes(name=f"{scenario.name} [{label}]", **_pumps(changes, raw))


def _check_key(raw: dict, key: str, name: str, source) -> None:
    """The table of ``key`` must exist in the scenario (its engine must be there)."""
    *path, _ = key.split(".")
    table = raw
    for part in path:
        table = table.get(part) if isinstance(table, dict) else None
        if table is None:
            raise DataError(f"--vary {name!r} sets {key}, but the scenario has no "
                            f"[{'.'.join(path)}] table", file=source,
                            fix="vary a setting of an engine the scenario runs")


def _pumps(changes: dict, raw: dict) -> dict:
    """Pump capacities set on the raw list (dotted paths cannot index arrays)."""
    caps = {k: v for k, v in changes.items() if k.startswith("forcing.pumps.")}
    if not caps:
        return changes
    pumps = [dict(p) for p in raw["forcing"]["pumps"]]
    for k, v in caps.items():
        pumps[int(k.split(".")[2])]["capacity_m3s"] = v
    out = {k: v for k, v in changes.items() if k not in caps}
    out["forcing.pumps"] = pumps
    return out
