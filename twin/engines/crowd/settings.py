"""The crowd engine's scenario table ``[crowd]``.

::

    [crowd]
    area = "venue"               # a place of the city, or { x = .., y = .. }
    radius_m = 350.0             # the square walked on: area +/- radius
    cell_size = 1.0
    venue = "B000001"            # building people leave (default: the stadium)
    attendance = 30000           # people, or "counters" (the gate counters' egress count)
    event_end = "0min"           # when the match ends (after the scenario start)
    premovement = "2min"         # mean time people take to start walking
    exits = ["edges", "station"] # where people leave the area
    closed_exits = []            # e.g. ["edge_north"]
    walkable_depth_m = 0.25      # water deeper than this blocks a cell
    density_alert = 4.0          # persons/m2

Examples
--------
>>> from twin.scenario import Checker
>>> s = parse_crowd({"crowd": {"attendance": 500}}, Checker(None))
>>> s.area, s.attendance, s.density_alert
('venue', 500.0, 4.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.scenario import Checker

__all__ = ["CrowdSettings", "EXIT_KINDS", "parse_crowd", "apply_change"]

EXIT_KINDS = ("edges", "station")
"""Exit groups: the four edges of the area (``edge_north``, ...), the station entrances."""
_KEYS = {"area", "radius_m", "cell_size", "venue", "attendance", "event_end", "premovement",
         "exits", "closed_exits", "walkable_depth_m", "density_alert", "dt_s", "seed",
         "density_weight"}


@dataclass(frozen=True)
class CrowdSettings:
    """The ``[crowd]`` table (see the module docstring)."""

    area: str | tuple[float, float] = "venue"
    radius_m: float = 350.0
    cell_size: float = 1.0
    venue: str | None = None
    attendance: float | str = "counters"
    event_end_s: float = 0.0
    premovement_s: float = 120.0
    exits: tuple[str, ...] = EXIT_KINDS
    closed_exits: tuple[str, ...] = ()
    walkable_depth_m: float = 0.25
    density_alert: float = 4.0
    dt_s: float = 0.1
    seed: int = 0
    density_weight: float = 0.5


def parse_crowd(raw: dict, ctx: Checker) -> CrowdSettings:
    """The crowd settings from the raw scenario's ``[crowd]`` table."""
    t = raw.get("crowd", {})
    w = "crowd"
    ctx.table(t, w)
    ctx.keys(t, _KEYS, w)
    attendance = t.get("attendance", "counters")
    if attendance != "counters":
        attendance = ctx.number(t, "attendance", w, positive=True, high=2e6)
    exits = _names(t, "exits", ctx, list(EXIT_KINDS))
    unknown = sorted(set(exits) - set(EXIT_KINDS))
    if unknown:
        raise ctx.error(f"{w}.exits", f"names {unknown}", f"use some of {list(EXIT_KINDS)}")
    seed = t.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ctx.error(f"{w}.seed", f"must be an integer, got {seed!r}", "write e.g. seed = 1")
    return CrowdSettings(
        area=ctx.location(t.get("area", "venue"), f"{w}.area"),
        radius_m=ctx.number(t, "radius_m", w, default=350.0, positive=True, high=5000.0),
        cell_size=ctx.number(t, "cell_size", w, default=1.0, low=0.25, high=5.0),
        venue=ctx.text(t, "venue", w),
        attendance=attendance,
        event_end_s=ctx.duration(t, "event_end", w, default=0.0, zero_ok=True),
        premovement_s=ctx.duration(t, "premovement", w, default=120.0, zero_ok=True),
        exits=tuple(exits), closed_exits=tuple(_names(t, "closed_exits", ctx, [])),
        walkable_depth_m=ctx.number(t, "walkable_depth_m", w, default=0.25, positive=True),
        density_alert=ctx.number(t, "density_alert", w, default=4.0, positive=True),
        dt_s=ctx.number(t, "dt_s", w, default=0.1, positive=True, high=0.45),
        seed=seed,
        density_weight=ctx.number(t, "density_weight", w, default=0.5, low=0.0))


def _names(t: dict, key: str, ctx: Checker, default: list) -> list:
    v = t.get(key, default)
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise ctx.error(f"crowd.{key}", f"must be a list of names, got {v!r}",
                        f'write e.g. {key} = ["edges", "station"]')
    return v


def apply_change(raw: dict, key: str, value: Any, source: Path | None) -> str | None:
    """Crowd what-if shortcuts: ``attendance``, ``close_exits`` (a list of exit names),
    ``event_end`` (when people start to leave, a duration after the start such as ``"1h"``)."""
    if key == "event_end":
        raw.setdefault("crowd", {})["event_end"] = str(value)
        return f"the event ends {value} after the start"
    if key == "attendance":
        raw.setdefault("crowd", {})["attendance"] = float(value)
        return f"attendance {value:,.0f}"
    if key == "close_exits":
        raw.setdefault("crowd", {})["closed_exits"] = list(value)
        return "exits closed: " + ", ".join(value) if value else "all exits open"
    return None
