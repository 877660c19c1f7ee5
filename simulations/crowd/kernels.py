"""Numba kernels of the crowd: cell lists and one step of the collision-free speed model.

The collision-free speed model (Tordeux, Chraibi & Seyfried 2016) is first
order: each step a person ``i`` takes the direction

    e_i = normalise(e0_i + sum_j a exp((l - d_ij) / D) n_ji + sum_w b exp((r - d_iw) / D_w) n_wi)

(``e0`` down the floor field, ``n_ji`` the unit vector from neighbour ``j`` to
``i``, ``w`` the wall cells nearby, ``r = l / 2``) and walks at the speed

    v_i = min(v0_i, max(0, (s_i - l) / T))

where ``s_i`` is the distance to the nearest person ahead of ``i`` within a lane
of half-width ``l`` around ``e_i``. Positions are updated together (Jacobi):
``x_i += dt v_i e_i``. A move into a wall or blocked cell, or closer to one
than the body radius ``l / 2``, slides along the wall (one axis kept) or is
refused, so nobody ever stands in a wall cell or squeezes into a corner (where
the corner's push and a neighbour's would pin them, a deadlock). The
grid's edge is closed too, but only wall cells repel (an exit may lie on the edge).

Grid convention: ``h`` the cell side, row 0 north; a point ``(x, y)`` lies in
column ``floor(x / h)`` and row ``floor((H - y) / h)``, ``H = rows h``. Cell
codes: 0 wall, 1 walkable, 2 blocked (walkable ground made impassable).

Examples
--------
>>> import numpy as np
>>> pos = np.array([[0.5, 0.5], [2.5, 0.5], [0.7, 0.6]])
>>> start, order = cell_lists(pos, np.arange(3), 1.0, 4, 1)
>>> start.tolist(), sorted(order[:2].tolist())
([0, 2, 2, 3, 3], [0, 2])
"""
from __future__ import annotations

from types import FunctionType

import numpy as np
from numba import njit, prange

__all__ = ["cell_lists", "step", "PARALLEL_MIN", "PARAMS"]

PARALLEL_MIN = 3000
"""Fewest moving people for which :func:`step` runs on all threads: below it the
work of a step (~1 us a person) is smaller than waking the threads, which on a
busy machine can take milliseconds."""

PARAMS = ("dt", "length", "time_gap", "a", "d", "b", "d_wall", "cell", "height", "nb_cell")
"""Order of the scalar parameters of :func:`step`. ``nb_cell``, the side of the
neighbour cells, must be at least ``length + 6 d`` (the reach of the neighbour
repulsion, beyond which it is below 1 % of the desired direction); the gap
ahead is searched ring by ring of cells until no closer person can exist."""


@njit(cache=True)
def cell_lists(pos, alive, hn, nbx, nby):
    """Counting sort of the ``alive`` agents into square cells of side ``hn``.

    Returns ``start`` (``nbx * nby + 1``: cell ``k`` holds ``order[start[k]:start[k+1]]``)
    and ``order`` (agent indices).
    """
    ncell = nbx * nby
    count = np.zeros(ncell + 1, np.int64)
    key = np.empty(alive.size, np.int64)
    for k in range(alive.size):
        i = alive[k]
        cx = min(max(int(pos[i, 0] / hn), 0), nbx - 1)
        cy = min(max(int(pos[i, 1] / hn), 0), nby - 1)
        key[k] = cy * nbx + cx
        count[key[k] + 1] += 1
    for c in range(ncell):
        count[c + 1] += count[c]
    fill = count[:-1].copy()
    order = np.empty(alive.size, np.int64)
    for k in range(alive.size):
        order[fill[key[k]]] = alive[k]
        fill[key[k]] += 1
    return count, order


@njit(cache=True, inline="always")
def _cell_of(x, y, h, height, rows, cols):
    """(row, col) of a point; (-1, -1) outside the grid."""
    if x < 0.0 or y < 0.0:
        return -1, -1
    c = int(x / h)
    r = int((height - y) / h)
    if r < 0 or r >= rows or c < 0 or c >= cols:
        return -1, -1
    return r, c


@njit(cache=True, inline="always")
def _field_direction(f, gx, gy, x, y, h, height, code, wade):
    """Bilinear walking direction from the cell centres around ``(x, y)`` (walkable ones
    only; blocked ones only for people wading out of them)."""
    rows, cols = code.shape
    u = x / h - 0.5
    v = (height - y) / h - 0.5
    c0 = int(np.floor(u))
    r0 = int(np.floor(v))
    fu = u - c0
    fv = v - r0
    ex = 0.0
    ey = 0.0
    for dr in range(2):
        for dc in range(2):
            r = r0 + dr
            c = c0 + dc
            if r < 0 or r >= rows or c < 0 or c >= cols or code[r, c] == 0 or \
                    (code[r, c] == 2 and not wade):
                continue
            w = (fv if dr else 1.0 - fv) * (fu if dc else 1.0 - fu)
            ex += w * gx[f, r, c]
            ey += w * gy[f, r, c]
    norm = np.sqrt(ex * ex + ey * ey)
    if norm < 1e-6:
        r, c = _cell_of(x, y, h, height, rows, cols)
        if r < 0:
            return 0.0, 0.0
        return gx[f, r, c], gy[f, r, c]
    return ex / norm, ey / norm


@njit(cache=True, inline="always")
def _wall_push(x, y, code, h, height, b, d_wall, radius, wade):
    """Sum of wall repulsions from the obstacle cells within reach of ``(x, y)``."""
    rows, cols = code.shape
    reach = radius + 12.0 * d_wall
    m = int(np.ceil(reach / h))
    r_c = int((height - y) / h)
    c_c = int(x / h)
    px = 0.0
    py = 0.0
    for r in range(r_c - m, r_c + m + 1):
        for c in range(c_c - m, c_c + m + 1):
            if r < 0 or r >= rows or c < 0 or c >= cols:
                continue                  # the grid's edge is closed but does not repel
            k = code[r, c]
            if k == 1 or (k == 2 and wade):
                continue
            x0 = c * h
            y0 = height - (r + 1) * h
            qx = min(max(x, x0), x0 + h)
            qy = min(max(y, y0), y0 + h)
            dx = x - qx
            dy = y - qy
            d = np.sqrt(dx * dx + dy * dy)
            if d <= 1e-9 or d > reach:
                continue
            w = b * np.exp((radius - d) / d_wall)
            px += w * dx / d
            py += w * dy / d
    return px, py


@njit(cache=True, inline="always")
def _clearance(x, y, code, h, height, radius, wade):
    """Distance from ``(x, y)`` to the nearest wall cell, capped at ``radius``."""
    rows, cols = code.shape
    m = int(np.ceil(radius / h))
    r_c = int((height - y) / h)
    c_c = int(x / h)
    best = radius
    for r in range(r_c - m, r_c + m + 1):
        for c in range(c_c - m, c_c + m + 1):
            if r < 0 or r >= rows or c < 0 or c >= cols:
                continue
            k = code[r, c]
            if k == 1 or (k == 2 and wade):
                continue
            x0 = c * h
            y0 = height - (r + 1) * h
            dx = x - min(max(x, x0), x0 + h)
            dy = y - min(max(y, y0), y0 + h)
            d = np.sqrt(dx * dx + dy * dy)
            if d < best:
                best = d
    return best


@njit(cache=True, inline="always")
def _crowding(px, py, x, y, i, sx, sy, corder, cstart, nbx, nby, hn, ell):
    """Whether moving from ``(x, y)`` to ``(px, py)`` brings ``i`` closer than ``ell`` to someone."""
    cx = min(max(int(px / hn), 0), nbx - 1)
    cy = min(max(int(py / hn), 0), nby - 1)
    ell2 = ell * ell
    for gyc in range(max(cy - 1, 0), min(cy + 2, nby)):
        for gxc in range(max(cx - 1, 0), min(cx + 2, nbx)):
            cell = gyc * nbx + gxc
            for q in range(cstart[cell], cstart[cell + 1]):
                dnew = (px - sx[q]) ** 2 + (py - sy[q]) ** 2
                if dnew < ell2 and corder[q] != i and dnew < (x - sx[q]) ** 2 + (y - sy[q]) ** 2:
                    return True
    return False


@njit(cache=True, inline="always")
def _enterable(x, y, h, height, code, wade, radius, floor):
    """A walkable cell, and no closer than ``floor`` to a wall cell."""
    rows, cols = code.shape
    r, c = _cell_of(x, y, h, height, rows, cols)
    if r < 0:
        return False
    k = code[r, c]
    if not (k == 1 or (k == 2 and wade)):
        return False
    return _clearance(x, y, code, h, height, radius, wade) >= floor


def _step(pos, v0, start_s, field, alive, cstart, corder, nbx, nby, gx, gy, code, slow, labels,
         exit_open, t, p, new_pos, speed, out_label):
    """One model step for the ``alive`` agents.

    ``slow`` (rows, cols) multiplies the desired speed of a person standing in the
    cell (wading in shallow water).

    Writes ``new_pos`` and ``speed`` (m/s) of each alive agent and
    ``out_label`` (the exit label it stepped into, 0 if none). Agents whose start
    time is after ``t`` stand still (and still take room).
    """
    dt, ell, tgap, a, dd, b, dw, h, height, hn = (p[0], p[1], p[2], p[3], p[4], p[5], p[6],
                                                  p[7], p[8], p[9])
    rows, cols = code.shape
    radius = 0.5 * ell
    rc2 = (ell + 6.0 * dd) ** 2
    sx = np.empty(corder.size)
    sy = np.empty(corder.size)
    for q in prange(corder.size):
        sx[q] = pos[corder[q], 0]
        sy[q] = pos[corder[q], 1]
    for k in prange(alive.size):
        i = alive[k]
        x = pos[i, 0]
        y = pos[i, 1]
        new_pos[i, 0] = x
        new_pos[i, 1] = y
        speed[i] = 0.0
        out_label[i] = 0
        if t < start_s[i]:
            continue
        rc, cc = _cell_of(x, y, h, height, rows, cols)
        wade = rc >= 0 and code[rc, cc] == 2
        e0x, e0y = _field_direction(field[i], gx, gy, x, y, h, height, code, wade)
        if e0x == 0.0 and e0y == 0.0:
            continue
        cx = min(max(int(x / hn), 0), nbx - 1)
        cy = min(max(int(y / hn), 0), nby - 1)
        ex = e0x
        ey = e0y
        for gyc in range(max(cy - 1, 0), min(cy + 2, nby)):
            for gxc in range(max(cx - 1, 0), min(cx + 2, nbx)):
                cell = gyc * nbx + gxc
                for q in range(cstart[cell], cstart[cell + 1]):
                    dx = x - sx[q]
                    dy = y - sy[q]
                    d2 = dx * dx + dy * dy
                    if d2 > rc2 or corder[q] == i or d2 <= 1e-18:
                        continue
                    d = np.sqrt(d2)
                    w = a * np.exp((ell - d) / dd)
                    ex += w * dx / d
                    ey += w * dy / d
        wx, wy = _wall_push(x, y, code, h, height, b, dw, radius, wade)
        ex += wx
        ey += wy
        norm = np.sqrt(ex * ex + ey * ey)
        if norm < 1e-9:
            ex = e0x
            ey = e0y
        else:
            ex /= norm
            ey /= norm
        vmax = v0[i] * slow[rc, cc] if rc >= 0 else v0[i]
        reach = ell + tgap * vmax             # beyond this gap the person walks at vmax
        s2 = reach * reach
        ring = 1
        while True:
            for gyc in range(max(cy - ring, 0), min(cy + ring + 1, nby)):
                for gxc in range(max(cx - ring, 0), min(cx + ring + 1, nbx)):
                    if ring > 1 and abs(gyc - cy) < ring and abs(gxc - cx) < ring:
                        continue              # an inner ring, already searched
                    cell = gyc * nbx + gxc
                    for q in range(cstart[cell], cstart[cell + 1]):
                        dx = sx[q] - x
                        dy = sy[q] - y
                        ahead = ex * dx + ey * dy
                        if ahead <= 0.0 or abs(ex * dy - ey * dx) > ell or corder[q] == i:
                            continue
                        d2 = dx * dx + dy * dy
                        if d2 < s2:
                            s2 = d2
            # everyone in ring + 1 and beyond is at least ring * hn away
            if (ring * hn) ** 2 >= s2:
                break
            ring += 1
        v = min(vmax, max(0.0, (np.sqrt(s2) - ell) / tgap))
        nx = x + dt * v * ex
        ny = y + dt * v * ey
        # a body keeps its radius off walls (or, if closer already, gets no closer)
        floor = min(radius, _clearance(x, y, code, h, height, radius, wade)) - 1e-9
        if not _enterable(nx, ny, h, height, code, wade, radius, floor):
            # slide along the wall: a direction the gap was not checked for
            if _enterable(nx, y, h, height, code, wade, radius, floor) and \
                    not _crowding(nx, y, x, y, i, sx, sy, corder, cstart, nbx, nby, hn, ell):
                ny = y
            elif _enterable(x, ny, h, height, code, wade, radius, floor) and \
                    not _crowding(x, ny, x, y, i, sx, sy, corder, cstart, nbx, nby, hn, ell):
                nx = x
            else:
                nx = x
                ny = y
        new_pos[i, 0] = nx
        new_pos[i, 1] = ny
        speed[i] = np.sqrt((nx - x) ** 2 + (ny - y) ** 2) / dt
        r, c = _cell_of(nx, ny, h, height, rows, cols)
        if r >= 0:
            lab = labels[r, c]
            if lab > 0 and exit_open[lab]:
                out_label[i] = lab


def _build(fn, suffix: str, parallel: bool):
    """Compile ``fn`` under its own name (so the on-disk caches of the builds stay apart)."""
    copy = FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__doc__ = fn.__doc__
    return njit(cache=True, parallel=parallel,
                fastmath={"contract", "arcp", "afn", "reassoc", "nsz"})(copy)


_step_par = _build(_step, "_par", True)
_step_ser = _build(_step, "_ser", False)


def step(*args, parallel: bool) -> None:
    """:func:`_step` on all numba threads (``parallel``) or on one."""
    (_step_par if parallel else _step_ser)(*args)
