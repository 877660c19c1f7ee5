"""Alerts: events raised when a threshold is crossed.

Every event is one row of a DataFrame with columns ``time`` (UTC
Timestamp), ``kind``, ``severity`` (``info``, ``warning``, ``alarm``,
``critical``), ``where`` (a place, station or feature id), ``x``, ``y`` (city
CRS) and ``message``. One event is raised per upward crossing (a value that
stays above a threshold raises nothing more), so the tables stay short.

Sources of events:

- sensor readings crossing their station's ``warning`` / ``alarm`` levels;
- buildings whose flood depth reaches the flooded threshold (vital buildings one
  by one, the others grouped per frame);
- roads closed (depth at or over the closure depth) and reopened;
- the flood hazard rating ``depth * (speed + 0.5)`` (Defra/EA FD2320) on land
  reaching the moderate, significant and extreme classes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from geodata.sensors import sensor_level

__all__ = ["EVENT_COLUMNS", "VITAL_USES", "sensor_events", "impact_events", "hazard_events",
           "sensors_in_alarm", "scenario_events"]

EVENT_COLUMNS = ["time", "kind", "severity", "where", "x", "y", "message", "engine"]
_SENSOR_SEVERITY = np.array(["", "warning", "alarm"])
_HAZARD = [("", ""), ("warning", "danger for some"), ("alarm", "danger for most"),
           ("critical", "danger for all")]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"time": pd.Series([], dtype="datetime64[ns, UTC]"),
                         "kind": pd.Series([], dtype=str), "severity": pd.Series([], dtype=str),
                         "where": pd.Series([], dtype=str), "x": pd.Series([], dtype=float),
                         "y": pd.Series([], dtype=float), "message": pd.Series([], dtype=str),
                         "engine": pd.Series([], dtype=str)})


def _up(flag: np.ndarray) -> np.ndarray:
    """Where a ``(time, n)`` boolean turns on (off before the first frame)."""
    prev = np.vstack([np.zeros((1, flag.shape[1]), bool), flag[:-1]])
    return flag & ~prev


def sensor_events(sensors, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Readings within ``[start, end]`` crossing their station's warning or alarm level.

    A station starts the window at normal level, so one already above a
    level raises its event at its first reading in the window.

    Parameters
    ----------
    sensors : geodata.sensors.SensorTable
        ``stations`` with ``id, name, kind, unit, warning, alarm, geometry``
        (NaN thresholds are ignored); ``readings`` with ``sensor_id, time, value``.
    start, end : pandas.Timestamp
        Time-zone aware window.

    Examples
    --------
    >>> sensor_events(city.sensors, scenario.start, scenario.end)  # doctest: +SKIP
    """
    if sensors is None or len(sensors.readings) == 0:
        return _empty()
    st = sensors.stations.assign(id=sensors.stations["id"].astype(str))
    for col in ("warning", "alarm"):
        if col not in st:
            st[col] = np.nan
    r = sensors.readings.assign(sensor_id=sensors.readings["sensor_id"].astype(str),
                                time=pd.to_datetime(sensors.readings["time"], utc=True))
    r = r[(r["time"] >= start) & (r["time"] <= end)].dropna(subset=["value"])
    r = r.merge(st[["id", "warning", "alarm"]], left_on="sensor_id", right_on="id")
    r = r.sort_values(["sensor_id", "time"])
    level = sensor_level(r["value"], r["warning"], r["alarm"])
    r = r.assign(level=level)
    before = r.groupby("sensor_id")["level"].shift(1, fill_value=0).to_numpy()
    hit = r[level > before]
    if len(hit) == 0:
        return _empty()
    info = st.set_index("id").loc[hit["sensor_id"]]
    name = info["name"].astype(str).to_numpy() if "name" in info else hit["sensor_id"].to_numpy()
    unit = info["unit"].astype(str).to_numpy() if "unit" in info else np.full(len(hit), "")
    sev = _SENSOR_SEVERITY[hit["level"].to_numpy()]
    limit = np.where(hit["level"].to_numpy() == 2, hit["alarm"], hit["warning"])
    msg = [f"{n} ({s}) at {val:g} {u}, {sv} level {lim:g} {u}".replace("  ", " ")
           for n, s, val, u, sv, lim in zip(name, hit["sensor_id"], hit["value"], unit, sev, limit)]
    return pd.DataFrame({"time": hit["time"].to_numpy(), "kind": "sensor", "severity": sev,
                         "where": hit["sensor_id"].to_numpy(),
                         "x": info.geometry.x.to_numpy(), "y": info.geometry.y.to_numpy(),
                         "message": msg}).pipe(_typed)


VITAL_USES = frozenset({"hospital", "school", "station", "stadium", "public", "utility",
                        "fire_station", "police"})
"""Building uses whose flooding is reported one building at a time."""


def impact_events(impacts, thresholds, *, vital=()) -> pd.DataFrame:
    """Buildings flooded, roads closed and reopened, from an
    :class:`twin.engines.flood.Impacts` that knows its ``start``.

    A vital building (a hospital, school, station, ...: ids in ``vital``)
    raises its own event each time it floods. Other buildings that flood in
    the same frame are reported together in one ``buildings_flooded`` event
    placed at the deepest of them, so a storm gives a readable table rather
    than one row per house.

    Examples
    --------
    >>> impact_events(imp, scenario.impacts, vital=["B000003"])  # doctest: +SKIP
    """
    t = impacts.start + pd.to_timedelta(impacts.building_depth["time"].values, unit="s")
    bd = impacts.building_depth.values
    b = impacts.buildings
    ti, bi = np.nonzero(_up(bd >= thresholds.building_flooded_depth_m))
    is_vital = np.isin(b["id"].to_numpy(), np.asarray(list(vital), dtype=object))[bi]
    parts = [_vital_events(t, bd, b, ti[is_vital], bi[is_vital]),
             _grouped_events(t, bd, b, ti[~is_vital], bi[~is_vital])]
    rd = impacts.road_depth.values
    r = impacts.roads
    closed = rd >= thresholds.road_closed_depth_m
    for flag, kind, sev, verb in ((_up(closed), "road_closed", "warning", "closed"),
                                  (_up(~closed) & closed.any(axis=0) & _after_first(closed),
                                   "road_reopened", "info", "reopened")):
        ti, ri = np.nonzero(flag)
        ids = r["id"].to_numpy()[ri]
        parts.append(pd.DataFrame({
            "time": t[ti], "kind": kind, "severity": sev, "where": ids,
            "x": r["x"].to_numpy()[ri], "y": r["y"].to_numpy()[ri],
            "message": [f"road {i} {verb}: {d:.2f} m of water "
                        f"(closure depth {thresholds.road_closed_depth_m:g} m)"
                        for i, d in zip(ids, rd[ti, ri])]}))
    return pd.concat([p.pipe(_typed) for p in parts], ignore_index=True)


def _vital_events(t, bd, b, ti, bi) -> pd.DataFrame:
    ids = b["id"].to_numpy()[bi]
    people = b["people"].to_numpy(float)[bi]
    return pd.DataFrame({
        "time": t[ti], "kind": "building_flooded", "severity": "alarm", "where": ids,
        "x": b["x"].to_numpy()[bi], "y": b["y"].to_numpy()[bi],
        "message": [f"vital building {i} flooded: {d:.2f} m against its walls, "
                    f"{p:.0f} people inside" for i, d, p in zip(ids, bd[ti, bi], people)]})


def _grouped_events(t, bd, b, ti, bi) -> pd.DataFrame:
    if len(ti) == 0:
        return _empty()
    people = b["people"].to_numpy(float)
    frame = pd.DataFrame({"ti": ti, "bi": bi, "depth": bd[ti, bi], "people": people[bi]})
    deepest = frame.loc[frame.groupby("ti")["depth"].idxmax()].set_index("ti")
    per = frame.groupby("ti").agg(n=("bi", "size"), people=("people", "sum"))
    per = per.join(deepest[["bi", "depth"]])
    ids = b["id"].to_numpy()[per["bi"]]
    return pd.DataFrame({
        "time": t[per.index.to_numpy()], "kind": "buildings_flooded",
        "severity": np.where(per["people"].to_numpy() > 0, "alarm", "warning"),
        "where": ids, "x": b["x"].to_numpy()[per["bi"]], "y": b["y"].to_numpy()[per["bi"]],
        "message": [f"{n} building{'s' * (n > 1)} newly flooded, {p:.0f} people inside; "
                    f"deepest {d:.2f} m at {i}"
                    for n, p, d, i in zip(per["n"], per["people"], per["depth"], ids)]})


def _after_first(flag: np.ndarray) -> np.ndarray:
    """True from the first True of each column on."""
    return np.cumsum(flag, axis=0) > 0


def hazard_events(kpis: pd.DataFrame, thresholds, *, places: dict | None = None) -> pd.DataFrame:
    """The land's highest flood hazard rating reaching each FD2320 class.

    Parameters
    ----------
    kpis : pandas.DataFrame
        Per frame ``time`` (Timestamp), ``max_hazard_m2s``, ``hazard_x``, ``hazard_y``
        (:attr:`twin.engines.flood.Impacts.kpis`).
    thresholds : twin.scenario.Thresholds
        ``hazard_classes``: lower bounds of moderate, significant, extreme.
    places : dict, optional
        Name -> (x, y); the nearest one names where the event is.
    """
    hz = kpis["max_hazard_m2s"].to_numpy(float)
    cls = np.searchsorted(np.asarray(thresholds.hazard_classes), hz, side="right")
    prev = np.concatenate([[0], np.maximum.accumulate(cls)[:-1]]) if len(cls) else cls
    at = np.flatnonzero(cls > prev)
    if len(at) == 0:
        return _empty()
    x, y = kpis["hazard_x"].to_numpy(float)[at], kpis["hazard_y"].to_numpy(float)[at]
    where = _nearest_place(places or {}, x, y)
    return pd.DataFrame({
        "time": kpis["time"].to_numpy()[at], "kind": "flood_hazard",
        "severity": [_HAZARD[c][0] for c in cls[at]], "where": where, "x": x, "y": y,
        "message": [f"flood hazard {h:.2f} m2/s near {w or f'({xx:.0f}, {yy:.0f})'}: "
                    f"{_HAZARD[c][1]}" for h, c, w, xx, yy in zip(hz[at], cls[at], where, x, y)]
    }).pipe(_typed)


def _nearest_place(places: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if not places:
        return np.full(len(x), "", dtype=object)
    names = np.array(list(places), dtype=object)
    pxy = np.array(list(places.values()), float)
    d = np.hypot(x[:, None] - pxy[None, :, 0], y[:, None] - pxy[None, :, 1])
    return names[np.argmin(d, axis=1)]


def sensors_in_alarm(sensors, times: pd.DatetimeIndex) -> np.ndarray:
    """Number of stations whose latest reading at each of ``times`` is at or
    above their alarm level.

    Examples
    --------
    >>> sensors_in_alarm(city.sensors, run.times)  # doctest: +SKIP
    """
    times = pd.DatetimeIndex(times).tz_convert("UTC")
    if sensors is None or len(sensors.readings) == 0 or "alarm" not in sensors.stations:
        return np.zeros(len(times), int)
    alarm = sensors.stations.set_index(sensors.stations["id"].astype(str))["alarm"].astype(float)
    r = sensors.readings.assign(sensor_id=sensors.readings["sensor_id"].astype(str),
                                time=pd.to_datetime(sensors.readings["time"], utc=True))
    r = r[r["sensor_id"].isin(alarm.index[alarm.notna()])].dropna(subset=["value"])
    r = r.assign(on=sensor_level(r["value"], np.nan, alarm.reindex(r["sensor_id"])) == 2)
    counts = np.zeros(len(times), int)
    if len(r) == 0:
        return counts
    state = r.pivot_table(index="time", columns="sensor_id", values="on",
                          aggfunc="last").sort_index().ffill()
    pos = np.searchsorted(state.index.to_numpy(), times.to_numpy(), side="right") - 1
    ok = pos >= 0
    counts[ok] = np.nan_to_num(state.to_numpy(dtype=float)[pos[ok]]).sum(axis=1).astype(int)
    return counts


def scenario_events(*tables: pd.DataFrame) -> pd.DataFrame:
    """Concatenate event tables, drop exact duplicates, sort by time then severity."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return _empty()
    out = pd.concat([_typed(t) for t in tables], ignore_index=True).drop_duplicates(
        subset=["time", "kind", "where", "severity"])
    rank = out["severity"].map({"critical": 0, "alarm": 1, "warning": 2, "info": 3})
    return (out.assign(_r=rank).sort_values(["time", "_r"], kind="stable")
            .drop(columns="_r").reset_index(drop=True))[EVENT_COLUMNS]


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["time"] = pd.to_datetime(df["time"], utc=True)
    if "engine" not in df:
        df["engine"] = ""
    for col in ("kind", "severity", "where", "message", "engine"):
        df[col] = df[col].astype(str)
    return df[EVENT_COLUMNS]
