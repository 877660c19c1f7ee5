"""Point forcing of the flood kernels: roof drainage, inflows, pumps, held levels, edge outflow.

Examples
--------
>>> import numpy as np
>>> from simulations.flood.points import edge_outflow
>>> qx = np.zeros((2, 4)); qx[:, -1] = 0.5; qy = np.zeros((3, 3))
>>> float(edge_outflow(qx, qy, 2.0, 1.0, False, True, False, False))   # 2 rows x 0.5 m2/s x 2 s
2.0
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["RAIN", "LOSS", "INFLOW", "PUMPED", "OUTFLOW", "BOUNDARY", "point_ops", "edge_outflow"]

RAIN, LOSS, INFLOW, PUMPED, OUTFLOW, BOUNDARY = range(6)
"""Slots of the volume accumulators (the order of ``kernels.ACC_NAMES``)."""


@njit(cache=True, error_model="numpy")
def _interp(t, times, values, lo, hi, outside_zero):
    """Linear interpolation of one series ``times[lo:hi]``; zero or held ends outside."""
    if t <= times[lo]:
        return 0.0 if (outside_zero and t < times[lo]) else values[lo]
    if t >= times[hi - 1]:
        return 0.0 if (outside_zero and t > times[hi - 1]) else values[hi - 1]
    k = lo + np.searchsorted(times[lo:hi], t, side="right") - 1
    w = (t - times[k]) / (times[k + 1] - times[k])
    return values[k] * (1.0 - w) + values[k + 1] * w


@njit(cache=True, error_model="numpy")
def _mark(i, j, hmax_ref, wext, h):
    """Include a cell changed by a point operation in its row's wet range and in h_max."""
    if h[i, j] > 0:
        wext[i, 0] = min(wext[i, 0], j)
        wext[i, 1] = max(wext[i, 1], j + 1)
    hmax_ref[0] = max(hmax_ref[0], h[i, j])


@njit(cache=True, error_model="numpy")
def point_ops(t0, dt, s, f, frame, rain_on, area, hmax_ref, track, threshold):
    """Roof drainage, inflows (at the mid-step discharge), pumps, then held water levels."""
    h, z, acc, wext, wet = s.h, s.z, s.acc, s.wext, s.wet
    src_cell, src_ptr, src_t, src_q = f.src_cell, f.src_ptr, f.src_t, f.src_q
    pump_cell, pump_cap, pump_level = f.pump_cell, f.pump_cap, f.pump_level
    lev_cell, lev_series, lev_ptr, lev_t, lev_v = f.lev_cell, f.lev_series, f.lev_ptr, f.lev_t, f.lev_v
    R, C = h.shape
    tm = t0 + 0.5 * dt
    t1 = t0 + dt
    if rain_on and f.roof_src.size:
        full = frame.shape[0] > 1
        roof = 0.0
        for r in range(f.roof_src.size):
            si, sj = divmod(f.roof_src[r], C)
            d = (frame[si, sj] if full else frame[0, 0]) * dt
            if d > 0:
                i, j = divmod(f.roof_dst[r], C)
                h[i, j] += d
                roof += d
                _mark(i, j, hmax_ref, wext, h)
        acc[RAIN] += roof * area
    for s in range(src_cell.size):
        q = _interp(tm, src_t, src_q, src_ptr[s], src_ptr[s + 1], True)
        if q > 0:
            i, j = divmod(src_cell[s], C)
            h[i, j] += q * dt / area
            acc[INFLOW] += q * dt
            _mark(i, j, hmax_ref, wext, h)
    for p in range(pump_cell.size):
        i, j = divmod(pump_cell[p], C)
        above = min(z[i, j] + h[i, j] - pump_level[p], h[i, j])
        if above > 0:
            vol = min(pump_cap[p] * dt, above * area)
            h[i, j] = max(h[i, j] - vol / area, 0)
            acc[PUMPED] += vol
    for m in range(lev_cell.size):
        s = lev_series[m]
        level = _interp(t1, lev_t, lev_v, lev_ptr[s], lev_ptr[s + 1], False)
        i, j = divmod(lev_cell[m], C)
        target = max(level - z[i, j], 0.0)
        acc[BOUNDARY] += (target - h[i, j]) * area
        h[i, j] = target
        _mark(i, j, hmax_ref, wext, h)
        if track:
            wet[0, i, j] = max(wet[0, i, j], h[i, j])
            if h[i, j] >= threshold and not wet[1, i, j] <= t1:
                wet[1, i, j] = t1


@njit(cache=True, error_model="numpy")
def edge_outflow(qx, qy, dt, dx, open_w, open_e, open_n, open_s):
    """Volume (m3) leaving through the open edges during a step of the given fluxes."""
    R = qx.shape[0]
    C = qy.shape[1]
    out = 0.0
    if open_w:
        for i in range(R):
            out -= qx[i, 0]
    if open_e:
        for i in range(R):
            out += qx[i, C]
    if open_n:
        for j in range(C):
            out -= qy[0, j]
    if open_s:
        for j in range(C):
            out += qy[R, j]
    return out * dt * dx
