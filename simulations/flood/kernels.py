"""Numba kernels of the local-inertial shallow-water scheme (pure functions on arrays).

The scheme is the one of Bates et al. (2010), with the q-centred
theta-weighting of de Almeida et al. (2012), a 2-D friction magnitude and
semi-implicit Manning friction. For the face between cells ``a`` and ``b``::

    q' = [theta q + (1 - theta)/2 (q_prev + q_next) - g h_f dt (eta_b - eta_a)/dx]
         / [1 + g dt n^2 |q_2d| / h_f^(7/3)]

with ``h_f = max(eta_a, eta_b) - max(z_a, z_b)`` and ``|q_2d|`` the magnitude of
the face's discharge and the mean of the four crossing ones. Cell depths are
then updated from the flux divergence, rain and losses.

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

No negative depth: a cell whose outflow would exceed its water has its
outgoing fluxes scaled down (a serial pass over the few such cells), which
keeps the scheme conservative.

Examples
--------
>>> import numpy as np
>>> from simulations.flood.kernels import cbrt
>>> round(float(cbrt(np.float32(27.0))), 5)
3.0
"""
from __future__ import annotations

import math
from types import FunctionType

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

__all__ = ["BLOCKED_BED", "ACC_NAMES", "cbrt", "advance", "wet_extents"]

BLOCKED_BED = 1.0e7
"""Bed level given to blocked cells: no water surface reaches it."""

ACC_NAMES = ("rain", "losses", "inflow", "pumped", "outflow", "boundary")
"""Order of the float64 volume accumulators (m3) updated by :func:`advance`."""

_RAIN, _LOSS, _INFLOW, _PUMPED, _OUTFLOW, _BOUNDARY = range(6)

# slots of the per-step constants array (in the state dtype)
_C_THETA, _C_HALF1MT, _C_GDT, _C_GDTDX, _C_EPS, _C_ZERO, _C_ONE, _C_HALF, _C_QUARTER, \
    _C_DTDX, _C_SPEEDH, _C_RAINDT, _C_LOSSDT, _C_TINY = range(14)
_N_CONST = 14
TINY_FLUX = 1e-15
"""Unit discharge (m2/s) below which a face flux is set to zero."""


@intrinsic
def _cbrt_seed(typingctx, x):
    """Bit-level first guess of the cube root of a positive float (within 4 %)."""
    if x == types.float32:
        width, magic = 32, 709921077
    elif x == types.float64:
        width, magic = 64, 0x2A9F7893782DA1CE
    else:
        return None

    def codegen(context, builder, signature, args):
        ityp = ir.IntType(width)
        bits = builder.bitcast(args[0], ityp)
        bits = builder.add(builder.udiv(bits, ir.Constant(ityp, 3)), ir.Constant(ityp, magic))
        return builder.bitcast(bits, args[0].type)

    return x(x), codegen


_FLOAT_INT = {types.float32: types.int32, types.float64: types.int64}


@intrinsic
def _as_int(typingctx, x):
    """The bits of a float as a signed integer of the same width (monotonic for x >= 0)."""
    if x not in _FLOAT_INT:
        return None
    ityp = _FLOAT_INT[x]

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(ityp.bitwidth))

    return ityp(x), codegen


@intrinsic
def _as_float(typingctx, i):
    """Inverse of :func:`_as_int`."""
    back = {v: k for k, v in _FLOAT_INT.items()}
    if i not in back:
        return None
    ftyp = back[i]

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(ftyp))

    return ftyp(i), codegen


@njit(cache=True, inline="always", error_model="numpy")
def cbrt(x):
    """Cube root of a positive float, vectorisable (two Halley steps after a bit guess).

    Relative error below 1e-12; the precision of the argument's type.

    Examples
    --------
    >>> round(float(cbrt(8.0)), 12)
    2.0
    """
    y = _cbrt_seed(x)
    y3 = y * y * y
    y = y * (y3 + x + x) / (y3 + y3 + x)
    y3 = y * y * y
    return y * (y3 + x + x) / (y3 + y3 + x)


@njit(cache=True, inline="always", error_model="numpy")
def _face_flux(q0, qc, qperp, hf, deta, n, eps, one, gdt, gdtdx, zero, tiny):
    """New unit discharge of one face from its old value, the surface step and friction."""
    hs = max(hf, eps)
    qmag = math.sqrt(q0 * q0 + qperp * qperp)
    den = one + gdt * n * n * qmag / (hs * hs * cbrt(hs))
    q = (qc - gdtdx * hf * deta) / den
    # dry faces carry nothing; decaying fluxes are flushed before they turn
    # subnormal (float32 arithmetic on subnormals is some 100 times slower)
    return q if (hf > eps and abs(q) > tiny) else zero


@njit(cache=True, error_model="numpy")
def _face_row(ha, za, hb, zb, q0, qm, qp, pn, ps, q1, mana, manb, full, lo, hi, ob, oq, op, k):
    """New fluxes of the faces of one row, between cells ``a[u]`` and ``b[u + ob]``.

    ``q0[u + oq]`` is the face's old flux, ``qm[u]`` and ``qp[u + op]`` its
    neighbours along the flow, ``pn``/``ps`` at ``u`` and ``u + 1`` the four
    crossing fluxes; the new flux goes to ``q1[u + oq]``. Indices are unsigned
    (``lo <= u < hi``) so that the loop vectorises without wrap-around checks.
    """
    theta, hm, quarter, half, eps, one, gdt, gdtdx, zero, tiny = k
    one_u = np.uint64(1)
    if full:
        for u in range(lo, hi):
            n = (mana[u] + manb[u + ob]) * half
            q1[u + oq] = _face_core(ha[u], za[u], hb[u + ob], zb[u + ob], q0[u + oq], qm[u],
                                    qp[u + op], pn[u] + pn[u + one_u] + ps[u] + ps[u + one_u], n, k)
    else:
        n = mana[0]
        for u in range(lo, hi):
            q1[u + oq] = _face_core(ha[u], za[u], hb[u + ob], zb[u + ob], q0[u + oq], qm[u],
                                    qp[u + op], pn[u] + pn[u + one_u] + ps[u] + ps[u + one_u], n, k)


@njit(cache=True, inline="always", error_model="numpy")
def _face_core(ha, za, hb, zb, q0, qm, qp, psum, n, k):
    """Flux of one interior face from the two cells' depths and beds and the old fluxes."""
    theta, hm, quarter, half, eps, one, gdt, gdtdx, zero, tiny = k
    ea = za + ha
    eb = zb + hb
    hf = max(ea, eb) - max(za, zb)
    # q-centring only with flowing neighbours: a closed edge or a dry face ahead
    # of a front (zero flux) would otherwise act as a momentum sink
    qc = theta * q0 + hm * ((qm if qm != zero else q0) + (qp if qp != zero else q0))
    return _face_flux(q0, qc, quarter * psum, hf, eb - ea, n, eps, one, gdt, gdtdx, zero, tiny)


@njit(cache=True, error_model="numpy")
def _x_faces(i, lo, hi, h, z, man, full, qx0, qy0, qx1, k, open_w, open_e):
    """New x-face fluxes of row ``i`` for faces ``lo <= j < hi``."""
    R, C = h.shape
    a, b = max(lo, 1), min(hi, C)
    if a < b:
        mr = man[i] if full else man[0]
        # face j lies between cells u = j - 1 and j
        one, two = np.uint64(1), np.uint64(2)
        _face_row(h[i], z[i], h[i], z[i], qx0[i], qx0[i], qx0[i], qy0[i], qy0[i + 1], qx1[i],
                  mr, mr, full, np.uint64(a - 1), np.uint64(b - 1), one, one, two, k)
    if lo == 0 and open_w:
        qx1[i, 0] = min(_edge_flux(h, z, qx0[i, 0], qy0[i, 0] + qy0[i + 1, 0],
                                   i, 0, i, min(1, C - 1), man, full, k), k[8])
    if hi == C + 1 and open_e:
        qx1[i, C] = max(-_edge_flux(h, z, -qx0[i, C], qy0[i, C - 1] + qy0[i + 1, C - 1],
                                    i, C - 1, i, max(C - 2, 0), man, full, k), k[8])


@njit(cache=True, error_model="numpy")
def _y_faces(i, lo, hi, h, z, man, full, qx0, qy0, qy1, k, open_n, open_s):
    """New y-face fluxes of face row ``i`` (north of cell row ``i``) for ``lo <= j < hi``."""
    R, C = h.shape
    if lo >= hi:
        return
    if 0 < i < R:
        mn = man[i - 1] if full else man[0]
        ms = man[i] if full else man[0]
        zero = np.uint64(0)
        _face_row(h[i - 1], z[i - 1], h[i], z[i], qy0[i], qy0[i - 1], qy0[i + 1], qx0[i - 1],
                  qx0[i], qy1[i], mn, ms, full, np.uint64(lo), np.uint64(hi), zero, zero, zero, k)
    elif i == 0 and open_n:
        for j in range(lo, hi):
            qy1[0, j] = min(_edge_flux(h, z, qy0[0, j], qx0[0, j] + qx0[0, j + 1],
                                       0, j, min(1, R - 1), j, man, full, k), k[8])
    elif i == R and open_s:
        for j in range(lo, hi):
            qy1[R, j] = max(-_edge_flux(h, z, -qy0[R, j], qx0[R - 1, j] + qx0[R - 1, j + 1],
                                        R - 1, j, max(R - 2, 0), j, man, full, k), k[8])


@njit(cache=True, inline="always", error_model="numpy")
def _edge_flux(h, z, q0, psum, i, j, ii, jj, man, full, k):
    """Free-outflow flux through an open edge of cell (i, j), signed towards the inside.

    The ghost cell beyond the edge continues the water-surface slope from the
    inner neighbour (ii, jj) when that slope falls towards the edge (zero
    gradient otherwise); the face depth is the edge cell's depth. ``psum`` is
    the sum of the two crossing fluxes. The caller keeps only the outward sign.
    """
    theta, hm, quarter, half, eps, one, gdt, gdtdx, zero, tiny = k
    hf = h[i, j]
    drop = zero
    if h[ii, jj] > eps and z[ii, jj] < BLOCKED_BED:
        drop = max(z[ii, jj] + h[ii, jj] - z[i, j] - hf, zero)
    n = man[i, j] if full else man[0, 0]
    return _face_flux(q0, q0, half * psum, hf, drop, n, eps, one, gdt, gdtdx, zero, tiny)


def _flux_pass(rows, nrows, h, z, man, full, qx0, qy0, qx1, qy1, xr, yr, xr1, yr1, c,
               open_w, open_e, open_n, open_s):
    """All new fluxes of the listed face rows; clears faces left over from older steps."""
    R, C = h.shape
    k = (c[_C_THETA], c[_C_HALF1MT], c[_C_QUARTER], c[_C_HALF], c[_C_EPS], c[_C_ONE], c[_C_GDT],
         c[_C_GDTDX], c[_C_ZERO], c[_C_TINY])
    for r in prange(nrows):
        i = rows[r]
        if i < R:
            lo, hi = xr[i, 0], xr[i, 1]
            for j in range(xr1[i, 0], min(xr1[i, 1], lo)):
                qx1[i, j] = c[_C_ZERO]
            for j in range(max(xr1[i, 0], hi), xr1[i, 1]):
                qx1[i, j] = c[_C_ZERO]
            _x_faces(i, lo, hi, h, z, man, full, qx0, qy0, qx1, k, open_w, open_e)
            xr1[i, 0], xr1[i, 1] = lo, hi
        lo, hi = yr[i, 0], yr[i, 1]
        for j in range(yr1[i, 0], min(yr1[i, 1], lo)):
            qy1[i, j] = c[_C_ZERO]
        for j in range(max(yr1[i, 0], hi), yr1[i, 1]):
            qy1[i, j] = c[_C_ZERO]
        _y_faces(i, lo, hi, h, z, man, full, qx0, qy0, qy1, k, open_n, open_s)
        yr1[i, 0], yr1[i, 1] = lo, hi


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
    hmax = _as_int(zero)        # max of non-negative floats as a (vectorisable) integer max
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
        hmax = max(hmax, _as_int(h1))
        neg = max(neg, one if h1 < zero else u0)
        wlo = min(wlo, j if h1 > zero else C)
        whi = max(whi, j + one if h1 > zero else u0)
    return rsum, lsum, _as_float(hmax), int(neg), int(wlo), int(whi)


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
        hs = max(h1, hspeed)
        u = (qw[j] + qw[j + one]) / hs
        v = (qn[j] + qs[j]) / hs
        sp = half * math.sqrt(u * u + v * v) if h1 > hspeed else zero
        ms[j] = max(ms[j], sp)
        mh[j] = max(mh[j], h1 * (sp + half) if h1 > hspeed else zero)


def _depth_pass(rows, nrows, cr, h, z, qx, qy, rain, rain_full, loss, loss_full,
                wet, row_acc, track, t1, threshold, c):
    """New depths of the listed rows from fluxes, rain and losses; per-row sums and maxima.

    ``row_acc[i]`` receives (rain depth sum, loss depth sum, max depth,
    negative flag, first and last + 1 wet column). With ``track``, ``wet``
    (max depth, arrival time, max speed, max hazard) is updated.
    """
    k = (c[_C_ZERO], c[_C_DTDX], c[_C_RAINDT], c[_C_LOSSDT])
    hspeed, half, zero, thr = c[_C_SPEEDH], c[_C_HALF], c[_C_ZERO], h.dtype.type(threshold)
    for r in prange(nrows):
        i = rows[r]
        lo, hi = cr[i, 0], cr[i, 1]
        rs, ls, hm, neg, wlo, whi = _depth_row(
            h[i], z[i], qx[i], qy[i], qy[i + 1], rain[i] if rain_full else rain[0], rain_full,
            loss[i] if loss_full else loss[0], loss_full, lo, hi, k)
        row_acc[i, 0], row_acc[i, 1], row_acc[i, 2] = rs, ls, hm
        row_acc[i, 3], row_acc[i, 4], row_acc[i, 5] = neg, wlo, whi
        if track:
            _track_row(h[i], qx[i], qy[i], qy[i + 1], wet, i, lo, hi, t1, thr, hspeed, half, zero)


def _build(fn, suffix: str, parallel: bool):
    """Compile ``fn`` under its own name (so the on-disk caches of the builds stay apart)."""
    copy = FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__doc__ = fn.__doc__
    return njit(cache=True, parallel=parallel, error_model="numpy")(copy)


# each pass in a threaded and a serial build: small jobs skip the thread start-up
_flux_pass_par = _build(_flux_pass, "_par", True)
_flux_pass_ser = _build(_flux_pass, "_ser", False)
_depth_pass_par = _build(_depth_pass, "_par", True)
_depth_pass_ser = _build(_depth_pass, "_ser", False)

PARALLEL_MIN_CELLS = 20000
"""Below this many active cells a step runs on one thread."""


@njit(cache=True, error_model="numpy")
def _fix_negative(rows_neg, nneg, cr, h, qx, qy, dtdx):
    """Scale down the outflow of cells left with negative depth; conservative, serial."""
    R, C = h.shape
    stack = np.empty(64, np.int64)
    top = 0
    for k in range(nneg):
        i = rows_neg[k]
        for j in range(cr[i, 0], cr[i, 1]):
            if h[i, j] < 0:
                if top == stack.size:
                    stack = np.concatenate((stack, np.empty(stack.size, np.int64)))
                stack[top] = i * C + j
                top += 1
    while top > 0:
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
def _point_ops(t0, dt, h, z, area, src_cell, src_ptr, src_t, src_q, pump_cell, pump_cap, pump_level,
               lev_cell, lev_series, lev_ptr, lev_t, lev_v, acc, wext, hmax_ref, wet, track,
               threshold):
    """Inflows (at the mid-step discharge), pumps, then held water levels."""
    R, C = h.shape
    tm = t0 + 0.5 * dt
    t1 = t0 + dt
    for s in range(src_cell.size):
        q = _interp(tm, src_t, src_q, src_ptr[s], src_ptr[s + 1], True)
        if q > 0:
            i, j = divmod(src_cell[s], C)
            h[i, j] += q * dt / area
            acc[_INFLOW] += q * dt
            _mark(i, j, hmax_ref, wext, h)
    for p in range(pump_cell.size):
        i, j = divmod(pump_cell[p], C)
        above = min(z[i, j] + h[i, j] - pump_level[p], h[i, j])
        if above > 0:
            vol = min(pump_cap[p] * dt, above * area)
            h[i, j] = max(h[i, j] - vol / area, 0)
            acc[_PUMPED] += vol
    for m in range(lev_cell.size):
        s = lev_series[m]
        level = _interp(t1, lev_t, lev_v, lev_ptr[s], lev_ptr[s + 1], False)
        i, j = divmod(lev_cell[m], C)
        target = max(level - z[i, j], 0.0)
        acc[_BOUNDARY] += (target - h[i, j]) * area
        h[i, j] = target
        _mark(i, j, hmax_ref, wext, h)
        if track:
            wet[0, i, j] = max(wet[0, i, j], h[i, j])
            if h[i, j] >= threshold and not wet[1, i, j] <= t1:
                wet[1, i, j] = t1


@njit(cache=True, error_model="numpy")
def _edge_outflow(qx, qy, dt, dx, open_w, open_e, open_n, open_s):
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
def advance(t, t_end, h, z, man, qxb, qyb, xrb, yrb, parity, wext, hmax0, params,
            rain_t, rain_v, rain_peak, rain_end, loss, src_cell, src_ptr, src_t, src_q,
            pump_cell, pump_cap, pump_level, lev_cell, lev_series, lev_ptr, lev_t, lev_v,
            open_edges, acc, wet, track, stats):
    """Advance the state from time ``t`` to ``t_end`` (s) in adaptive steps, all inside numba.

    Parameters
    ----------
    t, t_end : float
        Start and end time (s).
    h, z, man : ndarray
        Depth (m, updated in place), bed (m; ``BLOCKED_BED`` on blocked cells),
        Manning n, ``(rows, cols)`` or ``(1, 1)`` when uniform.
    qxb, qyb : ndarray
        The two buffers of x and y unit discharges, ``(2, rows, cols+1)`` and ``(2, rows+1, cols)``.
    xrb, yrb : ndarray
        Column range last written in each buffer row, ``(2, rows, 2)`` and ``(2, rows+1, 2)``.
    parity : int
        Which buffer holds the current fluxes.
    wext : ndarray
        Wet column range of each row, ``(rows, 2)``; kept up to date.
    hmax0 : float
        Largest depth of the current state.
    params : ndarray
        float64 ``(dx, g, alpha, theta, wet_depth, max_dt, arrival_depth, speed_depth)``.
    rain_t, rain_v, rain_peak, rain_end : ndarray, ndarray, ndarray, float
        Rain intensity (m/s), value ``k`` on ``[rain_t[k], rain_t[k+1])``, frames
        ``(k, rows, cols)`` or ``(k, 1, 1)``, the largest value of each frame;
        none from ``rain_end`` on.
    loss : ndarray
        Loss rate (m/s), ``(rows, cols)`` or ``(1, 1)``.
    src_cell, src_ptr, src_t, src_q : ndarray
        Inflow cells (flat index) and their hydrographs (m3/s), concatenated.
    pump_cell, pump_cap, pump_level : ndarray
        Pump cells, capacities (m3/s) and start levels (m).
    lev_cell, lev_series, lev_ptr, lev_t, lev_v : ndarray
        Cells with a held water level, their series and the series (m).
    open_edges : ndarray
        Booleans (west, east, north, south).
    acc : ndarray
        float64 volume accumulators (m3), in the order of ``ACC_NAMES``.
    wet : ndarray
        ``(4, rows, cols)``: max depth, arrival time, max speed, max hazard.
    track : bool
        Update ``wet`` every step.
    stats : ndarray
        float64 (steps, dt sum, min dt, active cell updates), updated.

    Returns
    -------
    (float, int, float)
        New time, parity and largest depth.
    """
    R, C = h.shape
    dx, g, alpha, theta = params[0], params[1], params[2], params[3]
    eps, max_dt, threshold, speed_depth = params[4], params[5], params[6], params[7]
    area = dx * dx
    open_w, open_e, open_n, open_s = open_edges[0], open_edges[1], open_edges[2], open_edges[3]
    c = np.zeros(_N_CONST, h.dtype)
    c[_C_THETA] = theta
    c[_C_HALF1MT] = 0.5 * (1.0 - theta)
    c[_C_EPS] = eps
    c[_C_ONE] = 1.0
    c[_C_HALF] = 0.5
    c[_C_QUARTER] = 0.25
    c[_C_SPEEDH] = speed_depth
    c[_C_TINY] = TINY_FLUX
    xr, yr, cr = np.zeros((R, 2), np.int64), np.zeros((R + 1, 2), np.int64), np.zeros((R, 2), np.int64)
    frows = np.empty(R + 1, np.int64)
    crows = np.empty(R, np.int64)
    row_acc = np.zeros((R, 6))
    hmax_ref = np.array([hmax0])
    rain_full = rain_v.shape[1] > 1
    loss_full = loss.shape[0] > 1
    full = man.shape[0] > 1
    loss_on = loss.max() > 0
    while t_end - t > 1e-9 * max(1.0, abs(t_end)):
        # step length: CFL on the deepest water, the end, and the next rain change
        hm = hmax_ref[0]
        dt = alpha * dx / math.sqrt(g * hm) if hm > 0 else max_dt
        dt = min(dt, max_dt, t_end - t)
        k = np.searchsorted(rain_t, t, side="right") - 1
        if k + 1 < rain_t.size:
            dt = min(dt, rain_t[k + 1] - t)
        if t < rain_end < t + dt:
            dt = rain_end - t
        if k >= 0 and t < rain_end:
            frame = rain_v[k]
            rain_on = rain_peak[k] > 0
        else:
            frame = rain_v[0]
            rain_on = False
        c[_C_GDT] = g * dt
        c[_C_GDTDX] = g * dt / dx
        c[_C_DTDX] = dt / dx
        c[_C_RAINDT] = dt if rain_on else 0.0
        c[_C_LOSSDT] = dt if loss_on else 0.0
        q0x, q0y, q1x, q1y = qxb[parity], qyb[parity], qxb[1 - parity], qyb[1 - parity]
        xr1, yr1 = xrb[1 - parity], yrb[1 - parity]
        _ranges(wext, xr, yr, cr, rain_on, R, C)
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
        if active >= PARALLEL_MIN_CELLS:
            _flux_pass_par(frows, nf, h, z, man, full, q0x, q0y, q1x, q1y, xr, yr, xr1, yr1, c,
                           open_w, open_e, open_n, open_s)
            _depth_pass_par(crows, nc, cr, h, z, q1x, q1y, frame, rain_full, loss, loss_full,
                            wet, row_acc, track, t + dt, threshold, c)
        else:
            _flux_pass_ser(frows, nf, h, z, man, full, q0x, q0y, q1x, q1y, xr, yr, xr1, yr1, c,
                           open_w, open_e, open_n, open_s)
            _depth_pass_ser(crows, nc, cr, h, z, q1x, q1y, frame, rain_full, loss, loss_full,
                            wet, row_acc, track, t + dt, threshold, c)
        hm = 0.0
        nneg = 0
        for k2 in range(nc):
            i = crows[k2]
            acc[_RAIN] += row_acc[i, 0] * area
            acc[_LOSS] += row_acc[i, 1] * area
            hm = max(hm, row_acc[i, 2])
            wext[i, 0], wext[i, 1] = int(row_acc[i, 4]), int(row_acc[i, 5])
            if wext[i, 0] >= wext[i, 1]:
                wext[i, 0], wext[i, 1] = 0, 0
            if row_acc[i, 3] > 0:
                frows[nneg] = i
                nneg += 1
        if nneg:
            _fix_negative(frows, nneg, cr, h, q1x, q1y, dt / dx)
        hmax_ref[0] = hm
        _point_ops(t, dt, h, z, area, src_cell, src_ptr, src_t, src_q, pump_cell, pump_cap,
                   pump_level, lev_cell, lev_series, lev_ptr, lev_t, lev_v, acc, wext, hmax_ref,
                   wet, track, threshold)
        acc[_OUTFLOW] += _edge_outflow(q1x, q1y, dt, dx, open_w, open_e, open_n, open_s)
        t += dt
        parity = 1 - parity
        stats[0] += 1
        stats[1] += dt
        stats[2] = min(stats[2], dt)
        stats[3] += active
    return t, parity, hmax_ref[0]
