"""Forcing series of the flood model: checked time series packed for the kernels.

Hydrographs (inflows, held levels) are linear between their points; rainfall
is piecewise constant: intensity ``k`` applies on ``[t_k, t_{k+1})``.

Examples
--------
>>> from simulations.flood.forcing import time_series, pack_series
>>> t, q = time_series([0, 3600], [0, 20], "inflow discharge_m3s")
>>> ptr, times, values = pack_series([(t, q), (t, 2 * q)])
>>> ptr.tolist(), values.tolist()
([0, 2, 4], [0.0, 20.0, 0.0, 40.0])
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MM_H", "time_series", "pack_series", "rain_frames", "rate_grid"]

MM_H = 1.0 / 1000.0 / 3600.0
"""One millimetre per hour in metres per second."""


def _times(times_s, what: str) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"{what}: times_s must be a non-empty 1-D sequence of seconds "
                         f"(got shape {t.shape})")
    if not np.isfinite(t).all():
        raise ValueError(f"{what}: times_s holds NaN or infinite values; give finite seconds")
    if np.any(np.diff(t) <= 0):
        k = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(f"{what}: times_s must increase strictly (times_s[{k + 1}] = "
                         f"{t[k + 1]} after {t[k]}); sort the series and drop repeated times")
    return t


def _finite_nonnegative(values: np.ndarray, what: str, name: str, unit: str) -> np.ndarray:
    if not np.isfinite(values).all():
        raise ValueError(f"{what}: {name} holds NaN or infinite values; give finite {unit}")
    if np.any(values < 0):
        raise ValueError(f"{what}: {name} has negative values (min {values.min():g} {unit}); "
                         f"{name} cannot be negative")
    return values


def time_series(times_s, values, what: str, *, nonnegative: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Check a hydrograph-like series: strictly increasing finite times, same-length values.

    Parameters
    ----------
    times_s : array_like
        Times in seconds since the scenario start.
    values : array_like
        One value per time (a scalar is repeated).
    what : str
        Name of the series for error messages, e.g. ``"add_inflow discharge_m3s"``.
    nonnegative : bool
        Reject negative values.

    Returns
    -------
    (ndarray, ndarray)
        float64 times and values.

    Examples
    --------
    >>> time_series([0, 60], 5.0, "level")[1].tolist()
    [5.0, 5.0]
    """
    t = _times(times_s, what)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 0:
        v = np.full(t.shape, float(v))
    if v.shape != t.shape:
        raise ValueError(f"{what}: {t.size} times but values of shape {v.shape}; "
                         f"give one value per time")
    if nonnegative:
        _finite_nonnegative(v, what, "values", "units")
    elif not np.isfinite(v).all():
        raise ValueError(f"{what}: values hold NaN or infinite numbers; give finite values")
    return t, v


def pack_series(series: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate series for the kernels: offsets ``ptr`` (n + 1), times and values.

    Examples
    --------
    >>> pack_series([])[0].tolist()
    [0]
    """
    ptr = np.zeros(len(series) + 1, np.int64)
    ptr[1:] = np.cumsum([len(t) for t, _ in series], dtype=np.int64)
    if not series:
        return ptr, np.zeros(1), np.zeros(1)
    return ptr, np.concatenate([t for t, _ in series]), np.concatenate([v for _, v in series])


def rain_frames(times_s, intensity_mm_h, shape: tuple[int, int],
                dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Rainfall as piecewise-constant frames in m/s.

    Value ``k`` applies on ``[times_s[k], times_s[k+1])``. With as many values as
    times the last one holds for ever (end the series with 0 to stop the rain);
    with one value fewer than times, ``times_s`` are the step edges and the rain
    stops at ``times_s[-1]``.

    Parameters
    ----------
    times_s : array_like
        Step starts (or edges), seconds.
    intensity_mm_h : array_like
        ``(n,)`` uniform or ``(n, rows, cols)`` per-cell intensities in mm/h.
    shape : (int, int)
        Grid shape, for the per-cell form.
    dtype : numpy dtype
        State dtype of the frames.

    Returns
    -------
    (ndarray, ndarray, ndarray, float)
        Step starts (s), frames ``(n, rows, cols)`` or ``(n, 1, 1)`` in m/s,
        the largest value of each frame, and the time the rain stops.

    Examples
    --------
    >>> t, f, peak, end = rain_frames([0, 600, 1200], [36.0, 0.0], (4, 4), "float64")
    >>> (f[:, 0, 0] * 3.6e6).round(9).tolist(), end          # back to mm/h
    ([36.0, 0.0], 1200.0)
    """
    what = "set_rainfall"
    t = _times(times_s, what)
    i = np.asarray(intensity_mm_h, dtype=np.float64)
    if i.ndim == 0:
        i = np.full(t.shape, float(i))
    if i.ndim not in (1, 3) or (i.ndim == 3 and i.shape[1:] != tuple(shape)):
        raise ValueError(f"{what}: intensity_mm_h must be (time,) or (time, {shape[0]}, {shape[1]}) "
                         f"matching the grid; got shape {i.shape}")
    if i.shape[0] == t.size:
        end = np.inf
    elif i.shape[0] == t.size - 1:
        end, t = float(t[-1]), t[:-1]
    else:
        raise ValueError(f"{what}: {t.size} times but {i.shape[0]} intensities; give one "
                         f"intensity per time (the last holds) or one per interval between times")
    _finite_nonnegative(i, what, "intensity_mm_h", "mm/h")
    frames = (i * MM_H).reshape(i.shape[0], *(i.shape[1:] if i.ndim == 3 else (1, 1)))
    return t, frames.astype(dtype), frames.reshape(len(t), -1).max(axis=1), float(end)


def rate_grid(rate, shape: tuple[int, int], what: str, name: str, unit: str,
              scale: float, dtype) -> np.ndarray:
    """A non-negative rate, uniform (returned as ``(1, 1)``) or per cell, times ``scale``.

    Examples
    --------
    >>> rate_grid(0.03, (3, 4), "FloodModel", "manning", "s/m^(1/3)", 1.0, "float64").shape
    (1, 1)
    """
    r = np.asarray(rate, dtype=np.float64)
    if r.ndim == 0:
        r = r.reshape(1, 1)
    elif r.shape != tuple(shape):
        raise ValueError(f"{what}: {name} has shape {r.shape} but the grid is {tuple(shape)}; "
                         f"give a number or an array of the grid's shape")
    _finite_nonnegative(r, what, name, unit)
    return np.ascontiguousarray(r * scale, dtype=dtype)
