"""Flood forcing from the City's sensors and the scenario: rain fields from the
gauges, design storms, river levels, initial water levels.

Examples
--------
>>> t, i = design_rain(100, 3 * 3600)                         # doctest: +SKIP
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import shapely

from geodata.errors import DataError, DataWarning, describe_ids
from twin.engines.flood.grid import FloodGrid

__all__ = ["rain_field", "gauge_weights", "design_rain", "river_level", "initial_depth"]

_RAIN_KINDS = ("rain_gauge", "weather_station")


def rain_field(sensors, grid: FloodGrid, start: pd.Timestamp, duration_s: float, *,
               method: str = "idw", power: float = 2.0, gauges=None, fill: str = "zero",
               file=None) -> tuple[np.ndarray, np.ndarray]:
    """Rainfall on the grid interpolated from the recorded rain gauges.

    The interpolation weights (inverse distance to the power ``power``, or
    nearest gauge for ``"thiessen"``) are computed once, and every time step
    is one matrix product of the gauge intensities with them.

    Parameters
    ----------
    sensors : geodata.sensors.SensorTable
        ``.stations`` (id, kind, geometry) and ``.readings`` (sensor_id,
        time UTC, value); rain gauges and weather stations read mm/h.
    grid : FloodGrid
    start : pandas.Timestamp
        Scenario start (time-zone aware).
    duration_s : float
    method : {"idw", "thiessen"}
    power : float
        IDW exponent.
    gauges : sequence of str, optional
        Rain gauge ids to use (default: every rain gauge).
    fill : {"zero", "hold", "stop"}
        A gauge whose readings end before the scenario does: no rain after its
        last reading, its last reading held, or a DataError. Reported with a
        warning either way.
    file : path-like, optional
        The scenario, named in errors.

    Returns
    -------
    times_s : numpy.ndarray
        Seconds since ``start`` at which each step begins, shape ``(time,)``;
        step ``k`` lasts until ``times_s[k + 1]`` (piecewise constant).
    intensity : numpy.ndarray
        mm/h, float32, shape ``(time, rows, cols)``. A reading is the mean
        intensity over the interval ending at its time.

    Examples
    --------
    >>> t, i = rain_field(city.sensors, grid, scenario.start, 6 * 3600)  # doctest: +SKIP
    """
    stations = _rain_gauges(sensors, gauges, file)
    times_s, values, used = _gauge_series(sensors.readings, stations, start, duration_s, file,
                                          fill)
    stations = stations[stations["id"].astype(str).isin(used)]
    gx = shapely.get_x(stations.geometry.values)
    gy = shapely.get_y(stations.geometry.values)
    weights = gauge_weights(grid.x, grid.y, gx, gy, method=method, power=power)
    field = (values @ weights.T).astype("float32")
    return times_s, field.reshape(len(times_s), *grid.shape)


def gauge_weights(x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray, *,
                  method: str = "idw", power: float = 2.0) -> np.ndarray:
    """Interpolation weights of gauges at ``(gx, gy)`` for the cells of the
    grid with centres ``x`` (cols) by ``y`` (rows).

    Returns
    -------
    numpy.ndarray
        ``(rows * cols, gauges)``; each row sums to one. A cell holding a
        gauge takes that gauge's value.

    Examples
    --------
    >>> w = gauge_weights(np.array([0.5, 1.5]), np.array([0.5]), np.array([0.5, 10.0]),
    ...                   np.array([0.5, 0.5]))
    >>> w.round(3).tolist()
    [[1.0, 0.0], [0.986, 0.014]]
    """
    cx, cy = np.meshgrid(x, y)
    d = np.hypot(cx.reshape(-1, 1) - gx[None, :], cy.reshape(-1, 1) - gy[None, :])
    if method == "thiessen":
        w = np.zeros_like(d)
        w[np.arange(len(d)), np.argmin(d, axis=1)] = 1.0
        return w
    if method != "idw":
        raise ValueError(f"method must be 'idw' or 'thiessen', got {method!r}")
    with np.errstate(divide="ignore"):
        w = d ** -power
    exact = ~np.isfinite(w)
    hit = exact.any(axis=1)
    w[hit] = exact[hit].astype(float)
    return w / w.sum(axis=1, keepdims=True)


def _rain_gauges(sensors, gauges, file):
    if sensors is None or len(sensors.stations) == 0:
        raise DataError("the scenario takes rain from gauges but the city has no sensors",
                        file=file, fix='add sensors to the city or use source = "design"')
    st = sensors.stations
    if gauges is not None:
        ids = st["id"].astype(str)
        missing = [g for g in gauges if g not in set(ids)]
        if missing:
            raise DataError(f"key 'forcing.rain.gauges' names unknown stations "
                            f"{describe_ids(missing)}", file=file,
                            fix="use ids from the city's sensors/stations table")
        chosen = st[ids.isin(list(gauges))]
        wrong = chosen.loc[~chosen["kind"].isin(_RAIN_KINDS), "id"]
        if len(wrong):
            raise DataError(f"key 'forcing.rain.gauges' names stations that are not rain "
                            f"gauges: {describe_ids(wrong)}", file=file,
                            fix="pick stations of kind rain_gauge or weather_station")
        return chosen
    chosen = st[st["kind"].isin(_RAIN_KINDS)]
    if len(chosen) == 0:
        raise DataError("the city has no rain gauges", file=file,
                        fix='add rain_gauge stations or use source = "design"')
    return chosen


def _gauge_series(readings, stations, start, duration_s, file, fill="zero"):
    """Piecewise-constant intensity (mm/h) of each gauge: a reading is the mean
    over the interval ending at its time, so step ``k`` (from ``times[k]`` to
    ``times[k + 1]``, the union of the reading times in the window) takes each
    gauge's reading at ``times[k + 1]``, interpolated in time for gauges read
    at other times. Gauges without readings in the window are dropped with a
    warning. Returns ``(times_s, values (time, gauge), used ids)``."""
    t0 = pd.Timestamp(start).tz_convert("UTC")
    ids = stations["id"].astype(str).to_numpy()
    r = readings.assign(sensor_id=readings["sensor_id"].astype(str))
    r = r[r["sensor_id"].isin(ids)].dropna(subset=["value"])
    r = r.assign(t=(pd.to_datetime(r["time"], utc=True) - t0).dt.total_seconds())
    r = r.sort_values(["sensor_id", "t"])
    r = r.assign(intensity=r["value"].to_numpy(float))
    inside = r[(r["t"] >= 0) & (r["t"] <= duration_s)]
    have = set(inside["sensor_id"])
    used = [i for i in ids if i in have]
    if not used:
        raise DataError(f"no rain gauge has readings between {t0} and "
                        f"{t0 + pd.Timedelta(seconds=duration_s)}", file=file,
                        fix="move the scenario start into the recorded period "
                            "or use a design storm")
    if len(used) < len(ids):
        warnings.warn("rain gauges without readings in the scenario window are not used: "
                      f"{describe_ids([i for i in ids if i not in have])}", DataWarning,
                      stacklevel=3)
    times = np.union1d(inside["t"].to_numpy(), [0.0, float(duration_s)])
    ends = np.append(times[1:], times[-1])
    series = dict(tuple(r.groupby("sensor_id")))
    values = np.column_stack([np.interp(ends, series[g]["t"].to_numpy(),
                                        series[g]["intensity"].to_numpy()) for g in used])
    last = np.array([series[g]["t"].max() for g in used])
    short = last < duration_s
    if short.any():
        _report_short([g for g, s in zip(used, short) if s], float(last[short].min()), start,
                      duration_s, fill, "forcing.rain.fill", file)
        if fill == "zero":
            values[ends[:, None] > last[None, :]] = 0.0
    return times, np.clip(values, 0.0, None), used


_FILL = {"zero": "taken as zero after", "hold": "held at its last value after"}


def _report_short(ids, last_s, start, duration_s, fill, key, file) -> None:
    """Warn (or refuse, for ``fill = "stop"``) that gauges end before the scenario."""
    t0 = pd.Timestamp(start)
    what = (f"gauges {describe_ids(ids)} have no readings after "
            f"{t0 + pd.Timedelta(seconds=last_s):%Y-%m-%d %H:%M} but the scenario runs to "
            f"{t0 + pd.Timedelta(seconds=duration_s):%Y-%m-%d %H:%M}")
    if fill == "stop":
        raise DataError(what, file=file, fix=f'shorten the duration, or set {key} = "zero" '
                                             'or "hold"')
    warnings.warn(f"{what}: their value is {_FILL[fill]} their last reading ({key} = "
                  f'"{fill}"; "hold", "zero" or "stop" say otherwise)', DataWarning,
                  stacklevel=4)


def design_rain(return_period: float, duration_s: float, *, peak_ratio: float = 0.4,
                step_s: float = 300.0, delay_s: float = 0.0,
                scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A Chicago design storm as a uniform, piecewise-constant series starting
    ``delay_s`` after the start.

    Returns ``(times_s, intensity_mm_h)``: the steps of
    :func:`geodata.storm.chicago_hyetograph`, shifted and scaled,
    with zero intensity before the storm and from its end on.

    Examples
    --------
    >>> t, i = design_rain(100, 3 * 3600)  # doctest: +SKIP
    """
    from geodata.storm import chicago_hyetograph
    times, intensity = chicago_hyetograph(return_period, duration_s, step_s,
                                          peak_ratio=peak_ratio)
    times = np.append(np.asarray(times, float), duration_s) + delay_s
    intensity = np.append(np.asarray(intensity, float), 0.0) * scale
    if delay_s > 0:
        times, intensity = np.append(0.0, times), np.append(0.0, intensity)
    return times, intensity


def river_level(sensors, gauge: str, start: pd.Timestamp, duration_s: float, *,
                offset_m: float = 0.0, file=None, fill: str = "hold",
                key: str = "forcing.river.gauge") -> tuple[np.ndarray, np.ndarray]:
    """Recorded water level of ``gauge`` over the scenario window, plus ``offset_m``.

    Returns
    -------
    times_s, level_m : numpy.ndarray
        Seconds since ``start``; levels (m) including one reading either side
        of the window when there is one.
    """
    st = None if sensors is None else sensors.stations
    hit = None if st is None else st[st["id"].astype(str) == gauge]
    if hit is None or len(hit) == 0:
        raise DataError(f"key '{key}' names {gauge!r}, which is not a station "
                        "of the city", file=file,
                        fix="use the id of a water_level station from sensors/stations")
    if hit["kind"].iloc[0] != "water_level":
        raise DataError(f"key '{key}' names {gauge!r}, a {hit['kind'].iloc[0]}, "
                        "not a water_level station", file=file,
                        fix="pick a station of kind water_level")
    r = sensors.readings
    r = r[r["sensor_id"].astype(str) == gauge].dropna(subset=["value"])
    t = (pd.to_datetime(r["time"], utc=True) - pd.Timestamp(start).tz_convert("UTC"))
    t = t.dt.total_seconds().to_numpy()
    order = np.argsort(t)
    t, v = t[order], r["value"].to_numpy(float)[order]
    lo = max(np.searchsorted(t, 0.0, "right") - 1, 0)
    hi = np.searchsorted(t, duration_s, "left") + 1
    t, v = t[lo:hi], v[lo:hi]
    if len(t) == 0 or t[0] > duration_s or t[-1] < 0:
        raise DataError(f"river gauge {gauge!r} has no readings in the scenario window",
                        file=file, fix="move the start into the recorded period or use level_m")
    if duration_s > 0 and t[-1] < duration_s:
        if fill == "zero":
            fill = "hold"                         # a level cannot drop to zero
        _report_short([gauge], float(t[-1]), start, duration_s, fill, "forcing.river.fill", file)
    return t, v + offset_m


def initial_depth(grid: FloodGrid, levels: dict, sensors=None, start=None, *,
                  file=None) -> np.ndarray:
    """Water depth filling each water body to its initial level.

    Parameters
    ----------
    grid : FloodGrid
    levels : dict
        Water ``kind`` -> level in metres, or the id of a water-level gauge
        whose reading at ``start`` gives it.
    sensors, start
        Needed when a level names a gauge.

    Returns
    -------
    numpy.ndarray
        ``max(level - elevation, 0)`` on the water cells of each kind, 0 elsewhere.

    Examples
    --------
    >>> levels = {"lake": 18.5, "river": "WL01"}
    >>> h0 = initial_depth(grid, levels, city.sensors, start)  # doctest: +SKIP
    """
    depth = np.zeros(grid.shape)
    for kind, level in levels.items():
        if kind not in grid.water:
            raise DataError(f"key 'flood.initial_levels.{kind}' names a kind of water the "
                            "city does not have on the grid", file=file,
                            fix=f"use one of: {', '.join(sorted(grid.water)) or 'none'}")
        if isinstance(level, str):
            t, v = river_level(sensors, level, start, 0.0, file=file,
                               key=f"flood.initial_levels.{kind}")
            level = float(np.interp(0.0, t, v))
        mask = grid.water[kind] & ~grid.blocked
        depth[mask] = np.maximum(level - grid.elevation[mask], 0.0)
    return depth
