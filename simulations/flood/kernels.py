"""The time loop of the flood scheme and its cell kernels (numba, pure functions on arrays).

:mod:`.faces` computes the face fluxes; here the cells are updated from the
flux divergence, rain and losses, maxima and arrival times are tracked, point
forcing (inflows, pumps, held levels, roof drainage) is applied and
:func:`advance` steps the state to an end time.

Layout: depth ``h`` and bed ``z`` are ``(rows, cols)``; unit discharges (m2/s)
``qx`` are ``(rows, cols + 1)``, positive towards larger column (east), and
``qy`` are ``(rows + 1, cols)``, positive towards larger row (south). Face
``qx[i, j]`` lies west of cell ``(i, j)``, face ``qy[i, j]`` north of it.
Each flux array has two buffers (``[2, ...]``): a step reads one and writes the
other, so both directions see the same old state (the scheme keeps the 8-fold
symmetry of the grid).

Blocked cells carry the bed ``BLOCKED_BED``: with no water on them the face
depth ``h_f`` into them is exactly zero, so no flux enters.

Dry regions cost nothing: each row keeps the column range of its wet cells;
a step works only on the faces and cells in reach of those ranges, and the
parallel loops run over the list of rows that have work.

Step length: ``dt = alpha dx / (u_max + sqrt(g h_max))`` with ``u_max`` the
largest face speed ``|q|/h_f`` of the last step (the velocity-based Courant
limit that thin sheet flow on steep slopes needs), at most ``max_dt``. The
loop never spins: a step below ``min_dt``, a non-finite state or a time that
stops advancing ends :func:`advance` with a non-zero status (see
:data:`STATUS`), which the model turns into a :class:`~.stall.FloodStallError`.

Examples
--------
>>> import numpy as np
>>> from simulations.flood.kernels import wet_extents
>>> wet_extents(np.array([[0.0, 1.0]])).tolist()
[[1, 2]]
"""
from __future__ import annotations

import math
from collections import namedtuple
from types import FunctionType

import numpy as np
from numba import njit, prange

from .faces import (BLOCKED_BED, TINY_FLUX, as_float, as_int, flux_pass_par, flux_pass_ser,
                    inv_cbrt, limit_pass_par, limit_pass_ser)
from .points import LOSS as _LOSS
from .points import OUTFLOW as _OUTFLOW
from .points import RAIN as _RAIN
from .points import edge_outflow as _edge_outflow
from .points import point_ops as _point_ops

__all__ = ["BLOCKED_BED", "GRAVITY", "ACC_NAMES", "STATS_NAMES", "STATUS", "State", "Forcing", "Params",
           "inv_cbrt", "advance", "wet_extents", "scan_depth"]

GRAVITY = 9.81
"""Acceleration of gravity (m/s2)."""

ACC_NAMES = ("rain", "losses", "inflow", "pumped", "outflow", "boundary")
"""Order of the float64 volume accumulators (m3) updated by :func:`advance`."""

STATS_NAMES = ("steps", "dt_sum", "dt_min", "active", "dt_max")
"""Order of the float64 step statistics updated by :func:`advance`."""

STATUS = {0: "ok", 1: "time step below min_dt", 2: "non-finite depth or discharge",
          3: "negative-depth repair did not converge", 4: "time stopped advancing"}
"""Meaning of the status :func:`advance` returns."""


State = namedtuple("State", "h z man qxb qyb xrb yrb wext wet acc stats scale")
State.__doc__ = """The arrays a step changes or reads.

h, z, man: depth (m), bed (m; ``BLOCKED_BED`` on blocked cells), Manning n,
``(rows, cols)`` (``man`` ``(1, 1)`` when uniform); qxb, qyb: the two buffers
of x and y unit discharges, ``(2, rows, cols+1)`` and ``(2, rows+1, cols)``;
xrb, yrb: column range last written in each buffer row; wext: wet column
range of each row ``(rows, 2)``; wet: ``(4, rows, cols)`` max depth, arrival
time, max speed, max hazard; acc: float64 volumes in the order of
``ACC_NAMES``; stats: float64 in the order of ``STATS_NAMES``; scale: scratch
``(rows, cols)`` for the outflow limiter."""

Forcing = namedtuple("Forcing", "rain_t rain_v rain_peak rain_end loss src_cell src_ptr src_t "
                                "src_q pump_cell pump_cap pump_level lev_cell lev_series lev_ptr "
                                "lev_t lev_v roof_src roof_dst")
Forcing.__doc__ = """The forcing arrays.

rain_t, rain_v, rain_peak, rain_end: rain (m/s), value ``k`` on
``[rain_t[k], rain_t[k+1])``, frames ``(k, rows, cols)`` or ``(k, 1, 1)``, the
largest value of each frame; none from ``rain_end`` on. loss: loss rate (m/s),
``(rows, cols)`` or ``(1, 1)``. src_*: inflow cells (flat index) and their
hydrographs (m3/s), concatenated (``src_ptr`` offsets). pump_*: pump cells,
capacities (m3/s), start levels (m). lev_*: cells with a held level, their
series index and the series (m). roof_src, roof_dst: blocked cells whose rain
drains to the open cell ``roof_dst`` (flat indices)."""

Params = namedtuple("Params", "dx g alpha theta wet_depth max_dt min_dt arrival_depth "
                              "speed_depth keep open_w open_e open_n open_s track")
Params.__doc__ = """Numbers and switches: cell size (m), gravity, Courant factor, q-centring
weight, face wet depth (m), longest and shortest allowed step (s), arrival
depth (m), depth below which speed is zero (m), share of its water a cell may
give in one step, open edges (west, east,
north, south) and whether maxima are tracked every step."""

PARALLEL_MIN_CELLS = 20000
"""Below this many active cells a step runs on one thread."""

KEEP = {np.dtype(np.float32): 1.0 - 1e-5, np.dtype(np.float64): 1.0 - 1e-12}
"""Share of its water a cell may give in one step (the rest covers round-off)."""


@njit(cache=True, error_model="numpy", fastmath={"nnan", "ninf", "nsz", "reassoc"})
def _depth_row(hr, zr, qw, qn, qs, rain, rain_full, loss, loss_full, lo, hi, k):
    """New depths of cells ``lo <= j < hi`` of one row; returns row sums and extents.

    ``qw`` are the row's x-faces (``qw[j]`` west of cell ``j``), ``qn``/``qs`` the
    y-faces north and south of the row. Returns (rain depth sum, loss depth
    sum, max depth, any negative, first wet col, last wet col + 1).
    """
    zero, dtdx, rain_dt, loss_dt = k
    C = np.uint64(hr.size)
    u0 = np.uint64(0)
    rsum = 0.0
    lsum = 0.0
    hmax = as_int(zero)        # max of non-negative floats as a (vectorisable) integer max
    neg = u0
    wlo, whi = C, u0
    r0 = rain[0] * rain_dt
    l0 = loss[0] * loss_dt
    one = np.uint64(1)
    for j in range(np.uint64(lo), np.uint64(hi)):
        r = rain[j] * rain_dt if rain_full else r0
        r = r if zr[j] < BLOCKED_BED else zero
        h1 = hr[j] + dtdx * ((qw[j] - qw[j + one]) + (qn[j] - qs[j])) + r
        lj = min(loss[j] * loss_dt if loss_full else l0, max(h1, zero))
        h1 = h1 - lj
        hr[j] = h1
        rsum += r
        lsum += lj
        hmax = max(hmax, as_int(h1))
        neg = max(neg, one if h1 < zero else u0)
        wlo = min(wlo, j if h1 > zero else C)
        whi = max(whi, j + one if h1 > zero else u0)
    return rsum, lsum, as_float(hmax), int(neg), int(wlo), int(whi)


@njit(cache=True, error_model="numpy")
def _track_row(hr, qw, qn, qs, wet, i, lo, hi, t1, threshold, hspeed, half, zero):
    """Fold the new depths of one row into max depth, arrival time, max speed and max hazard.

    Arrival times start as NaN; the loop is written without branches so it vectorises.
    """
    md, arr, ms, mh = wet[0, i], wet[1, i], wet[2, i], wet[3, i]
    one = np.uint64(1)
    tt = arr.dtype.type(t1)
    for j in range(np.uint64(lo), np.uint64(hi)):
        h1 = hr[j]
        md[j] = max(md[j], h1)
        a = arr[j]
        arr[j] = tt if (h1 >= threshold and not a <= tt) else a
        u = qw[j] + qw[j + one]
        v = qn[j] + qs[j]
        sp = half * math.sqrt(u * u + v * v) / max(h1, hspeed) if h1 > hspeed else zero
        ms[j] = max(ms[j], sp)
        mh[j] = max(mh[j], h1 * (sp + half) if h1 > hspeed else zero)


def _depth_pass(rows, nrows, cr, h, z, qx, qy, rain, rain_full, loss, loss_full,
                wet, row_acc, track, t1, threshold, hspeed, k):
    """New depths of the listed rows from fluxes, rain and losses; per-row sums and maxima.

    ``row_acc[i]`` receives (rain depth sum, loss depth sum, max depth,
    negative flag, first and last + 1 wet column). With ``track``, ``wet``
    (max depth, arrival time, max speed, max hazard) is updated.
    """
    zero = k[0]
    half = h.dtype.type(0.5)
    hsp = h.dtype.type(hspeed)
    thr = h.dtype.type(threshold)
    for r in prange(nrows):
        i = rows[r]
        lo, hi = cr[i, 0], cr[i, 1]
        rs, ls, hm, neg, wlo, whi = _depth_row(
            h[i], z[i], qx[i], qy[i], qy[i + 1], rain[i] if rain_full else rain[0], rain_full,
            loss[i] if loss_full else loss[0], loss_full, lo, hi, k)
        row_acc[i, 0], row_acc[i, 1], row_acc[i, 2] = rs, ls, hm
        row_acc[i, 3], row_acc[i, 4], row_acc[i, 5] = neg, wlo, whi
        if track:
            _track_row(h[i], qx[i], qy[i], qy[i + 1], wet, i, lo, hi, t1, thr, hsp, half, zero)


def _build(fn, suffix: str, parallel: bool):
    """Compile ``fn`` under its own name (so the on-disk caches of the builds stay apart)."""
    copy = FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__doc__ = fn.__doc__
    return njit(cache=True, parallel=parallel, error_model="numpy")(copy)


_depth_pass_par = _build(_depth_pass, "_par", True)
_depth_pass_ser = _build(_depth_pass, "_ser", False)


@njit(cache=True, error_model="numpy")
def _fix_negative(rows_neg, nneg, cr, h, qx, qy, dtdx, budget):
    """Scale down the outflow of cells left with negative depth (round-off after the limiter);
    conservative, serial. Returns False when more than ``budget`` cells had to be visited."""
    R, C = h.shape
    stack = np.empty(64, np.int64)
    top = 0
    visits = 0
    for k in range(nneg):
        i = rows_neg[k]
        for j in range(cr[i, 0], cr[i, 1]):
            if h[i, j] < 0:
                if top == stack.size:
                    stack = np.concatenate((stack, np.empty(stack.size, np.int64)))
                stack[top] = i * C + j
                top += 1
    while top > 0:
        visits += 1
        if visits > budget:
            return False
        top -= 1
        i, j = divmod(stack[top], C)
        if h[i, j] >= 0:
            continue
        out = (max(qx[i, j + 1], 0) - min(qx[i, j], 0) + max(qy[i + 1, j], 0) - min(qy[i, j], 0))
        f = min(-h[i, j] / (dtdx * out), 1.0) if out > 0 else 0.0
        h[i, j] = 0
        # (face value, neighbour row, neighbour col, sign of outflow)
        for side in range(4):
            if side == 0:
                q, ni, nj, s = qx[i, j + 1], i, j + 1, 1.0
            elif side == 1:
                q, ni, nj, s = qx[i, j], i, j - 1, -1.0
            elif side == 2:
                q, ni, nj, s = qy[i + 1, j], i + 1, j, 1.0
            else:
                q, ni, nj, s = qy[i, j], i - 1, j, -1.0
            if q * s <= 0:
                continue
            cut = f * q
            if side == 0:
                qx[i, j + 1] = q - cut
            elif side == 1:
                qx[i, j] = q - cut
            elif side == 2:
                qy[i + 1, j] = q - cut
            else:
                qy[i, j] = q - cut
            if 0 <= ni < R and 0 <= nj < C:
                h[ni, nj] -= dtdx * cut * s
                if h[ni, nj] < 0:
                    if top == stack.size:
                        stack = np.concatenate((stack, np.empty(stack.size, np.int64)))
                    stack[top] = ni * C + nj
                    top += 1
    return True


@njit(cache=True, error_model="numpy")
def _ranges(wext, xr, yr, cr, rain_on, R, C):
    """Face and cell column ranges in reach of the wet cells; returns the face rows with work."""
    for i in range(R):
        lo, hi = wext[i, 0], wext[i, 1]
        if lo < hi:
            xr[i, 0], xr[i, 1] = lo, hi + 1
        else:
            xr[i, 0], xr[i, 1] = 0, 0
    for i in range(R + 1):
        lo, hi = C, 0
        if i > 0 and wext[i - 1, 0] < wext[i - 1, 1]:
            lo, hi = wext[i - 1, 0], wext[i - 1, 1]
        if i < R and wext[i, 0] < wext[i, 1]:
            lo, hi = min(lo, wext[i, 0]), max(hi, wext[i, 1])
        if lo < hi:
            yr[i, 0], yr[i, 1] = lo, hi
        else:
            yr[i, 0], yr[i, 1] = 0, 0
    for i in range(R):
        lo, hi = C, 0
        if xr[i, 0] < xr[i, 1]:
            lo, hi = max(xr[i, 0] - 1, 0), min(xr[i, 1], C)
        for f in (i, i + 1):
            if yr[f, 0] < yr[f, 1]:
                lo, hi = min(lo, yr[f, 0]), max(hi, yr[f, 1])
        if rain_on:
            lo, hi = 0, C
        if lo < hi:
            cr[i, 0], cr[i, 1] = lo, hi
        else:
            cr[i, 0], cr[i, 1] = 0, 0


@njit(cache=True, error_model="numpy")
def wet_extents(h):
    """Column range ``[lo, hi)`` of the cells holding water in each row (``lo = hi = 0`` if dry).

    Examples
    --------
    >>> import numpy as np
    >>> wet_extents(np.array([[0.0, 0.2, 0.0, 0.1], [0.0, 0.0, 0.0, 0.0]])).tolist()
    [[1, 4], [0, 0]]
    """
    R, C = h.shape
    ext = np.zeros((R, 2), np.int64)
    for i in range(R):
        lo, hi = C, 0
        for j in range(C):
            if h[i, j] > 0:
                lo = min(lo, j)
                hi = j + 1
        if lo < hi:
            ext[i, 0], ext[i, 1] = lo, hi
    return ext


@njit(cache=True, error_model="numpy")
def scan_depth(h, wext):
    """One pass over the depths: (all finite and >= 0, sum as float64, max), wet ranges into ``wext``.

    Examples
    --------
    >>> import numpy as np
    >>> ext = np.zeros((2, 2), np.int64)
    >>> scan_depth(np.array([[0.0, 0.5], [0.0, 0.0]]), ext)[0], ext.tolist()
    (True, [[1, 2], [0, 0]])
    """
    R, C = h.shape
    ok = True
    total = 0.0
    hmax = 0.0
    for i in range(R):
        lo, hi = C, 0
        for j in range(C):
            v = h[i, j]
            if not v >= 0 or not math.isfinite(v):
                ok = False
            total += v
            hmax = max(hmax, v)
            if v > 0:
                lo = min(lo, j)
                hi = j + 1
        if lo < hi:
            wext[i, 0], wext[i, 1] = lo, hi
        else:
            wext[i, 0], wext[i, 1] = 0, 0
    return ok, total, float(hmax)


@njit(cache=True, error_model="numpy")
def _step_rows(s, parity, rain_on, xr, yr, cr, frows, crows):
    """Face and cell column ranges in reach of water; returns (face rows, cell rows, active cells)."""
    R, C = s.h.shape
    xr1, yr1 = s.xrb[1 - parity], s.yrb[1 - parity]
    _ranges(s.wext, xr, yr, cr, rain_on, R, C)
    nf = 0
    for i in range(R + 1):
        busy = yr[i, 0] < yr[i, 1] or yr1[i, 0] < yr1[i, 1]
        if i < R:
            busy = busy or xr[i, 0] < xr[i, 1] or xr1[i, 0] < xr1[i, 1]
        if busy:
            frows[nf] = i
            nf += 1
    nc = 0
    active = 0
    for i in range(R):
        if cr[i, 0] < cr[i, 1]:
            crows[nc] = i
            nc += 1
            active += cr[i, 1] - cr[i, 0]
    return nf, nc, active


@njit(cache=True, error_model="numpy")
def _step_length(t, t_end, hm, um, p, f):
    """Courant step on the deepest water and fastest face, cut at ``t_end`` and rain changes.

    Returns (dt, rain frame index or -1, Courant step).
    """
    speed = um + math.sqrt(p.g * hm)
    cfl = p.alpha * p.dx / speed if speed > 0 else p.max_dt
    dt = min(cfl, p.max_dt, t_end - t)
    k = np.searchsorted(f.rain_t, t, side="right") - 1
    if k + 1 < f.rain_t.size:
        dt = min(dt, f.rain_t[k + 1] - t)
    if t < f.rain_end < t + dt:
        dt = f.rain_end - t
    if not (k >= 0 and t < f.rain_end):
        k = -1
    return dt, k, min(cfl, p.max_dt)


@njit(cache=True, error_model="numpy")
def advance(t, t_end, parity, hmax, umax, s, f, p):
    """Advance the state from time ``t`` to ``t_end`` (s) in adaptive steps, all inside numba.

    Parameters
    ----------
    t, t_end : float
        Start and end time (s).
    parity : int
        Which flux buffer holds the current fluxes.
    hmax, umax : float
        Largest depth (m) and face speed (m/s) of the current state.
    s : State
        The arrays (updated in place).
    f : Forcing
        The forcing arrays.
    p : Params
        Numbers and switches.

    Returns
    -------
    (float, int, float, float, int)
        New time, parity, largest depth, largest face speed and status (0 when
        ``t_end`` was reached; else a key of :data:`STATUS`, the state being
        that of the last step).
    """
    h, z, man = s.h, s.z, s.man
    R, C = h.shape
    dx = p.dx
    area = dx * dx
    dtype = h.dtype.type
    xr, yr, cr = np.zeros((R, 2), np.int64), np.zeros((R + 1, 2), np.int64), np.zeros((R, 2), np.int64)
    frows = np.empty(R + 1, np.int64)
    crows = np.empty(R, np.int64)
    row_acc = np.zeros((R, 6))
    face_acc = np.zeros((R + 1, 2), h.dtype)
    scale = s.scale
    hmax_ref = np.array([hmax])
    rain_full = f.rain_v.shape[1] > 1
    loss_full = f.loss.shape[0] > 1
    full = man.shape[0] > 1
    loss_on = f.loss.max() > 0
    budget = 64 * R * C + 1024
    zero = dtype(0.0)
    while t_end - t > 1e-9 * max(1.0, abs(t_end)):
        hm = hmax_ref[0]
        if not (math.isfinite(hm) and math.isfinite(umax)):
            return t, parity, hm, umax, 2
        dt, kr, cfl = _step_length(t, t_end, hm, umax, p, f)
        if cfl < p.min_dt:
            return t, parity, hm, umax, 1
        if not t + dt > t:
            return t, parity, hm, umax, 4
        rain_on = kr >= 0 and f.rain_peak[kr] > 0
        frame = f.rain_v[kr] if kr >= 0 else f.rain_v[0]
        k = (dtype(p.theta), dtype(0.5 * (1.0 - p.theta)), dtype(0.25), dtype(0.5),
             dtype(p.wet_depth), dtype(1.0), dtype(p.g * dt), dtype(p.g * dt / dx), zero,
             dtype(TINY_FLUX), dtype(dt / dx), dtype(4.0))
        kd = (zero, dtype(dt / dx), dtype(dt if rain_on else 0.0), dtype(dt if loss_on else 0.0))
        q0x, q0y, q1x, q1y = s.qxb[parity], s.qyb[parity], s.qxb[1 - parity], s.qyb[1 - parity]
        xr1, yr1 = s.xrb[1 - parity], s.yrb[1 - parity]
        nf, nc, active = _step_rows(s, parity, rain_on, xr, yr, cr, frows, crows)
        par = active >= PARALLEL_MIN_CELLS
        if par:
            flux_pass_par(frows, nf, h, z, man, full, q0x, q0y, q1x, q1y, xr, yr, xr1, yr1, k,
                          p.open_w, p.open_e, p.open_n, p.open_s, face_acc)
        else:
            flux_pass_ser(frows, nf, h, z, man, full, q0x, q0y, q1x, q1y, xr, yr, xr1, yr1, k,
                          p.open_w, p.open_e, p.open_n, p.open_s, face_acc)
        umax = 0.0
        over = 0.0
        for r in range(nf):
            umax = max(umax, face_acc[frows[r], 0])
            over = max(over, face_acc[frows[r], 1])
        if not math.isfinite(umax):
            return t, parity, hm, umax, 2
        if over > 0:
            if par:
                limit_pass_par(frows, nf, crows, nc, cr, h, q1x, q1y, xr, yr, scale, dt / dx, p.keep)
            else:
                limit_pass_ser(frows, nf, crows, nc, cr, h, q1x, q1y, xr, yr, scale, dt / dx, p.keep)
        if par:
            _depth_pass_par(crows, nc, cr, h, z, q1x, q1y, frame, rain_full, f.loss, loss_full,
                            s.wet, row_acc, p.track, t + dt, p.arrival_depth, p.speed_depth, kd)
        else:
            _depth_pass_ser(crows, nc, cr, h, z, q1x, q1y, frame, rain_full, f.loss, loss_full,
                            s.wet, row_acc, p.track, t + dt, p.arrival_depth, p.speed_depth, kd)
        hm = 0.0
        nneg = 0
        for r in range(nc):
            i = crows[r]
            s.acc[_RAIN] += row_acc[i, 0] * area
            s.acc[_LOSS] += row_acc[i, 1] * area
            hm = max(hm, row_acc[i, 2])
            s.wext[i, 0], s.wext[i, 1] = int(row_acc[i, 4]), int(row_acc[i, 5])
            if s.wext[i, 0] >= s.wext[i, 1]:
                s.wext[i, 0], s.wext[i, 1] = 0, 0
            if row_acc[i, 3] > 0:
                frows[nneg] = i
                nneg += 1
        if nneg and not _fix_negative(frows, nneg, cr, h, q1x, q1y, dt / dx, budget):
            return t, parity, hm, umax, 3
        hmax_ref[0] = hm
        _point_ops(t, dt, s, f, frame, rain_on, area, hmax_ref, p.track, p.arrival_depth)
        s.acc[_OUTFLOW] += _edge_outflow(q1x, q1y, dt, dx, p.open_w, p.open_e, p.open_n, p.open_s)
        t += dt
        parity = 1 - parity
        st = s.stats
        st[0] += 1
        st[1] += dt
        st[2] = min(st[2], dt)
        st[3] += active
        st[4] = max(st[4], dt)
    return t, parity, hmax_ref[0], umax, 0
