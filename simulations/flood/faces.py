"""Face fluxes of the local-inertial scheme and the outflow limiter (numba kernels).

The scheme is the one of Bates et al. (2010), with the q-centred
theta-weighting of de Almeida et al. (2012) and a 2-D Manning friction taken
implicitly. For the face between cells ``a`` and ``b``::

    q' (1 + a |q'_2d|) = b,   a = g dt n^2 / h_f^(7/3),
    b = theta q + (1 - theta)/2 (q_prev + q_next) - g h_f dt (eta_b - eta_a)/dx

with ``h_f = max(eta_a, eta_b) - max(z_a, z_b)`` and ``|q'_2d|`` the magnitude
of the new flux and the mean of the four crossing ones. The friction is solved
for the face's own component (a quadratic), so that the flux of a thin film on
a steep slope never exceeds its Manning steady value, however long the step;
the explicit-denominator form (``|q|`` of the old step) lets the first step of
a film that just got wet carry a hundred times the film's water.

Each face row also reports the largest flow speed ``|q'|/h_f`` (for the next
step's Courant limit) and whether any face would take more than a quarter of
its donor cell's water (then :func:`limit_pass` scales the outflows of the
cells that would run dry so that none goes below zero, exactly and without
any cascade: each face has one donor and the scale depends on the donor's old
depth only).

Layout: see :mod:`simulations.flood.kernels`.

Examples
--------
>>> import numpy as np
>>> from simulations.flood.faces import inv_cbrt
>>> round(float(inv_cbrt(np.float32(0.001))), 4)
10.0
"""
from __future__ import annotations

import math
from types import FunctionType

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, overload

__all__ = ["BLOCKED_BED", "TINY_FLUX", "K_SLOTS", "inv_cbrt", "as_int", "as_float", "flux_pass_ser",
           "flux_pass_par", "limit_pass_ser", "limit_pass_par"]

BLOCKED_BED = 1.0e7
"""Bed level given to blocked cells: no water surface reaches it."""

TINY_FLUX = 1e-15
"""Unit discharge (m2/s) below which a face flux is set to zero."""

K_SLOTS = ("theta", "half1mt", "quarter", "half", "eps", "one", "gdt", "gdtdx", "zero", "tiny",
           "dtdx", "four")
"""Order of the per-step constants tuple ``k`` the face kernels take (state dtype)."""


_FLOAT_INT = {types.float32: types.int32, types.float64: types.int64}


@intrinsic
def as_int(typingctx, x):
    """The bits of a float as a signed integer of the same width (monotonic for x >= 0)."""
    if x not in _FLOAT_INT:
        return None
    ityp = _FLOAT_INT[x]

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(ityp.bitwidth))

    return ityp(x), codegen


@intrinsic
def as_float(typingctx, i):
    """Inverse of :func:`as_int`."""
    back = {v: k for k, v in _FLOAT_INT.items()}
    if i not in back:
        return None
    ftyp = back[i]

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(ftyp))

    return ftyp(i), codegen


@intrinsic
def _inv_cbrt_seed(typingctx, x):
    """Bit-level first guess of ``x**(-1/3)`` for a positive float (within 6 %)."""
    if x == types.float32:
        width, magic = 32, 0x54A2FA8C
    elif x == types.float64:
        width, magic = 64, 0x553F09FC40000000
    else:
        return None

    def codegen(context, builder, signature, args):
        ityp = ir.IntType(width)
        bits = builder.bitcast(args[0], ityp)
        bits = builder.sub(ir.Constant(ityp, magic), builder.udiv(bits, ir.Constant(ityp, 3)))
        return builder.bitcast(bits, args[0].type)

    return x(x), codegen


def _thirds(x):
    """1/3 and 4/3 in the type of ``x`` (a float64 literal would promote float32 maths)."""


@overload(_thirds, inline="always")
def _thirds_typed(x):
    if x == types.float32:
        return lambda x: (np.float32(1.0 / 3.0), np.float32(4.0 / 3.0))
    if x == types.float64:
        return lambda x: (1.0 / 3.0, 4.0 / 3.0)
    return None


@njit(cache=True, inline="always", error_model="numpy")
def inv_cbrt(x):
    """``x**(-1/3)`` of a positive normal float without a division (four Newton steps).

    Relative error below 1e-12 (float64) or a few ulp (float32).

    Examples
    --------
    >>> round(float(inv_cbrt(0.125)), 12)
    2.0
    """
    y = _inv_cbrt_seed(x)
    one3, four3 = _thirds(x)
    third = x * one3
    y = y * (four3 - third * (y * y * y))
    y = y * (four3 - third * (y * y * y))
    y = y * (four3 - third * (y * y * y))
    return y * (four3 - third * (y * y * y))


@njit(cache=True, inline="always", error_model="numpy")
def _face_flux(qc, qperp, hf, deta, n, k):
    """New unit discharge of one face (explicit part ``qc`` and slope, implicit friction)
    and ``1 / max(h_f, wet_depth)``."""
    theta, hm, quarter, half, eps, one, gdt, gdtdx, zero, tiny, dtdx, four = k
    hs = max(hf, eps)
    y = inv_cbrt(hs)
    inv_h = y * y * y
    a = gdt * n * n * (inv_h * inv_h * y)                       # g dt n^2 / h^(7/3)
    b = qc - gdtdx * hf * deta
    ab = abs(b)
    q1 = (ab + ab) / (one + math.sqrt(one + four * a * ab))    # |q|(1 + a|q|) = |b|
    q = b / (one + a * math.sqrt(q1 * q1 + qperp * qperp))
    # dry faces carry nothing; decaying fluxes are flushed before they turn
    # subnormal (float32 arithmetic on subnormals is some 100 times slower)
    return (q if (hf > eps and abs(q) > tiny) else zero), inv_h


@njit(cache=True, inline="always", error_model="numpy")
def _face_core(ha, za, hb, zb, q0, qm, qp, psum, n, k):
    """Flux of one interior face from the two cells' depths and beds and the old fluxes.

    Returns the flux, its speed ``|q|/h_f`` and its excess over a quarter of the
    donor's water (``|q| dt/dx - h_donor/4``, at least 0).
    """
    theta, hm, quarter, half, eps, one, gdt, gdtdx, zero, tiny, dtdx, four = k
    ea = za + ha
    eb = zb + hb
    hf = max(ea, eb) - max(za, zb)
    # q-centring only with flowing neighbours: a closed edge or a dry face ahead
    # of a front (zero flux) would otherwise act as a momentum sink
    qc = theta * q0 + hm * ((qm if qm != zero else q0) + (qp if qp != zero else q0))
    q, inv_h = _face_flux(qc, quarter * psum, hf, eb - ea, n, k)
    aq = abs(q)
    donor = ha if q > zero else hb
    return q, aq * inv_h, max(aq * dtdx - quarter * donor, zero)


@njit(cache=True, error_model="numpy")
def _face_row(ha, za, hb, zb, q0, qm, qp, pn, ps, q1, mana, manb, full, lo, hi, ob, oq, op, k):
    """New fluxes of the faces of one row, between cells ``a[u]`` and ``b[u + ob]``.

    ``q0[u + oq]`` is the face's old flux, ``qm[u]`` and ``qp[u + op]`` its
    neighbours along the flow, ``pn``/``ps`` at ``u`` and ``u + 1`` the four
    crossing fluxes; the new flux goes to ``q1[u + oq]``. Indices are unsigned
    (``lo <= u < hi``) so that the loop vectorises without wrap-around checks.
    Returns the row's largest speed and largest quarter-donor excess.
    """
    half = k[3]
    one_u = np.uint64(1)
    umax = as_int(k[8])          # maxima of non-negative floats as (vectorisable) integer maxima
    over = as_int(k[8])
    if full:
        for u in range(lo, hi):
            n = (mana[u] + manb[u + ob]) * half
            q, sp, ov = _face_core(ha[u], za[u], hb[u + ob], zb[u + ob], q0[u + oq], qm[u],
                                   qp[u + op], pn[u] + pn[u + one_u] + ps[u] + ps[u + one_u], n, k)
            q1[u + oq] = q
            umax = max(umax, as_int(sp))
            over = max(over, as_int(ov))
    else:
        n = mana[0]
        for u in range(lo, hi):
            q, sp, ov = _face_core(ha[u], za[u], hb[u + ob], zb[u + ob], q0[u + oq], qm[u],
                                   qp[u + op], pn[u] + pn[u + one_u] + ps[u] + ps[u + one_u], n, k)
            q1[u + oq] = q
            umax = max(umax, as_int(sp))
            over = max(over, as_int(ov))
    return as_float(umax), as_float(over)


@njit(cache=True, inline="always", error_model="numpy")
def _edge_flux(h, z, q0, psum, i, j, ii, jj, man, full, k):
    """Free-outflow flux through an open edge of cell (i, j), signed towards the inside.

    The ghost cell beyond the edge continues the water-surface slope from the
    inner neighbour (ii, jj) when that slope falls towards the edge (zero
    gradient otherwise); the face depth is the edge cell's depth. ``psum`` is
    the sum of the two crossing fluxes. The caller keeps only the outward sign.
    """
    half, eps, zero = k[3], k[4], k[8]
    hf = h[i, j]
    drop = zero
    if h[ii, jj] > eps and z[ii, jj] < BLOCKED_BED:
        drop = max(z[ii, jj] + h[ii, jj] - z[i, j] - hf, zero)
    n = man[i, j] if full else man[0, 0]
    return _face_flux(q0, half * psum, hf, drop, n, k)[0]


@njit(cache=True, inline="always", error_model="numpy")
def _edge_check(q, hd, k):
    """Speed and quarter-donor excess of an edge face whose donor holds ``hd``."""
    aq = abs(q)
    return aq / max(hd, k[4]), max(aq * k[10] - k[2] * hd, k[8])


@njit(cache=True, error_model="numpy")
def _x_faces(i, lo, hi, h, z, man, full, qx0, qy0, qx1, k, open_w, open_e):
    """New x-face fluxes of row ``i`` for faces ``lo <= j < hi``; returns (speed, excess)."""
    R, C = h.shape
    a, b = max(lo, 1), min(hi, C)
    umax, over = k[8], k[8]
    if a < b:
        mr = man[i] if full else man[0]
        # face j lies between cells u = j - 1 and j
        one, two = np.uint64(1), np.uint64(2)
        umax, over = _face_row(h[i], z[i], h[i], z[i], qx0[i], qx0[i], qx0[i], qy0[i], qy0[i + 1],
                               qx1[i], mr, mr, full, np.uint64(a - 1), np.uint64(b - 1), one, one,
                               two, k)
    if lo == 0 and open_w:
        q = min(_edge_flux(h, z, qx0[i, 0], qy0[i, 0] + qy0[i + 1, 0],
                           i, 0, i, min(1, C - 1), man, full, k), k[8])
        qx1[i, 0] = q
        sp, ov = _edge_check(q, h[i, 0], k)
        umax, over = max(umax, sp), max(over, ov)
    if hi == C + 1 and open_e:
        q = max(-_edge_flux(h, z, -qx0[i, C], qy0[i, C - 1] + qy0[i + 1, C - 1],
                            i, C - 1, i, max(C - 2, 0), man, full, k), k[8])
        qx1[i, C] = q
        sp, ov = _edge_check(q, h[i, C - 1], k)
        umax, over = max(umax, sp), max(over, ov)
    return umax, over


@njit(cache=True, error_model="numpy")
def _y_faces(i, lo, hi, h, z, man, full, qx0, qy0, qy1, k, open_n, open_s):
    """New y-face fluxes of face row ``i`` (north of cell row ``i``) for ``lo <= j < hi``."""
    R, C = h.shape
    umax, over = k[8], k[8]
    if lo >= hi:
        return umax, over
    if 0 < i < R:
        mn = man[i - 1] if full else man[0]
        ms = man[i] if full else man[0]
        zero = np.uint64(0)
        umax, over = _face_row(h[i - 1], z[i - 1], h[i], z[i], qy0[i], qy0[i - 1], qy0[i + 1],
                               qx0[i - 1], qx0[i], qy1[i], mn, ms, full, np.uint64(lo),
                               np.uint64(hi), zero, zero, zero, k)
    elif i == 0 and open_n:
        for j in range(lo, hi):
            q = min(_edge_flux(h, z, qy0[0, j], qx0[0, j] + qx0[0, j + 1],
                               0, j, min(1, R - 1), j, man, full, k), k[8])
            qy1[0, j] = q
            sp, ov = _edge_check(q, h[0, j], k)
            umax, over = max(umax, sp), max(over, ov)
    elif i == R and open_s:
        for j in range(lo, hi):
            q = max(-_edge_flux(h, z, -qy0[R, j], qx0[R - 1, j] + qx0[R - 1, j + 1],
                                R - 1, j, max(R - 2, 0), j, man, full, k), k[8])
            qy1[R, j] = q
            sp, ov = _edge_check(q, h[R - 1, j], k)
            umax, over = max(umax, sp), max(over, ov)
    return umax, over


def _flux_pass(rows, nrows, h, z, man, full, qx0, qy0, qx1, qy1, xr, yr, xr1, yr1, k,
               open_w, open_e, open_n, open_s, face_acc):
    """All new fluxes of the listed face rows; clears faces left over from older steps.

    ``face_acc[i]`` receives the face row's largest speed and quarter-donor excess.
    """
    R, C = h.shape
    zero = k[8]
    for r in prange(nrows):
        i = rows[r]
        ux, ox = zero, zero
        if i < R:
            lo, hi = xr[i, 0], xr[i, 1]
            for j in range(xr1[i, 0], min(xr1[i, 1], lo)):
                qx1[i, j] = zero
            for j in range(max(xr1[i, 0], hi), xr1[i, 1]):
                qx1[i, j] = zero
            ux, ox = _x_faces(i, lo, hi, h, z, man, full, qx0, qy0, qx1, k, open_w, open_e)
            xr1[i, 0], xr1[i, 1] = lo, hi
        lo, hi = yr[i, 0], yr[i, 1]
        for j in range(yr1[i, 0], min(yr1[i, 1], lo)):
            qy1[i, j] = zero
        for j in range(max(yr1[i, 0], hi), yr1[i, 1]):
            qy1[i, j] = zero
        uy, oy = _y_faces(i, lo, hi, h, z, man, full, qx0, qy0, qy1, k, open_n, open_s)
        yr1[i, 0], yr1[i, 1] = lo, hi
        face_acc[i, 0] = max(ux, uy)
        face_acc[i, 1] = max(ox, oy)


@njit(cache=True, error_model="numpy")
def _donor_scale(h, qw, qe, qn, qs, f, lo, hi, dtdx, keep, one, zero):
    """Scale ``f[j]`` of one row: the share of each cell's outflow its old water can pay."""
    one_u = np.uint64(1)
    for j in range(np.uint64(lo), np.uint64(hi)):
        out = (max(qe[j + one_u], zero) - min(qw[j], zero) + max(qs[j], zero)
               - min(qn[j], zero)) * dtdx
        f[j] = min(keep * h[j] / out, one) if out > h[j] * keep else one


@njit(cache=True, error_model="numpy")
def _scale_row(q, fa, fb, lo, hi, oa):
    """Scale the faces ``q[u]`` of one row by their donor's factor: ``fa[u - oa]`` for a
    positive flux, ``fb[u]`` for a negative one (indices checked by the caller)."""
    for u in range(lo, hi):
        v = q[u]
        if v > 0:
            q[u] = v * fa[u - oa]
        elif v < 0:
            q[u] = v * fb[u]


def _limit_pass(frows, nf, crows, nc, cr, h, qx, qy, xr, yr, f, dtdx, keep):
    """Scale the outflow of every cell that would give more water than it holds.

    First the donor factors ``f`` of the listed cell rows (``cr`` ranges), then
    every listed face row's fluxes by their donor's factor. A flux leaving
    cell ``c`` becomes ``f_c q``; since ``f_c`` only depends on ``c``'s old
    depth, the new depth is at least ``(1 - keep) h_c`` plus its inflow.
    """
    R, C = h.shape
    one, zero = h.dtype.type(1.0), h.dtype.type(0.0)
    kp = h.dtype.type(keep)
    dd = h.dtype.type(dtdx)
    for r in prange(nc):
        i = crows[r]
        _donor_scale(h[i], qx[i], qx[i], qy[i], qy[i + 1], f[i], cr[i, 0], cr[i, 1], dd, kp,
                     one, zero)
    for r in prange(nf):
        i = frows[r]
        if i < R:
            lo, hi = xr[i, 0], xr[i, 1]
            a, b = max(lo, 1), min(hi, C)
            if a < b:
                _scale_row(qx[i], f[i], f[i], a, b, 1)
            if lo == 0 and qx[i, 0] < 0:
                qx[i, 0] *= f[i, 0]
            if hi == C + 1 and qx[i, C] > 0:
                qx[i, C] *= f[i, C - 1]
        lo, hi = yr[i, 0], yr[i, 1]
        if lo < hi:
            if 0 < i < R:
                _scale_row(qy[i], f[i - 1], f[i], lo, hi, 0)
            elif i == 0:
                for j in range(lo, hi):
                    if qy[0, j] < 0:
                        qy[0, j] *= f[0, j]
            else:
                for j in range(lo, hi):
                    if qy[R, j] > 0:
                        qy[R, j] *= f[R - 1, j]


def _build(fn, suffix: str, parallel: bool):
    """Compile ``fn`` under its own name (so the on-disk caches of the builds stay apart)."""
    copy = FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__doc__ = fn.__doc__
    return njit(cache=True, parallel=parallel, error_model="numpy")(copy)


# each pass in a threaded and a serial build: small jobs skip the thread start-up
flux_pass_ser = _build(_flux_pass, "_ser", False)
flux_pass_par = _build(_flux_pass, "_par", True)
limit_pass_ser = _build(_limit_pass, "_ser", False)
limit_pass_par = _build(_limit_pass, "_par", True)
