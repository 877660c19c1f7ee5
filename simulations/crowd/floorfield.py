"""The floor field: travel time to the nearest target by fast marching, and its descent direction.

People navigate down the gradient of a travel-time field ``T`` that solves the
eikonal equation ``|grad T| = f`` (``f`` the slowness, s/m) with ``T = 0`` on the
target cells (Sethian 1996). :func:`travel_time` is a first-order fast-marching
solve on the 4-neighbour grid with a binary heap; :func:`descent` turns ``T``
into unit walking directions per cell (upwind differences, so a direction never
points into a cell that cannot be entered).

Examples
--------
>>> import numpy as np
>>> cost = np.ones((3, 5))
>>> seed = np.full((3, 5), np.inf); seed[:, 0] = 0.0
>>> t = travel_time(cost, seed, 1.0)
>>> t[1].round(2).tolist()
[0.0, 1.0, 2.0, 3.0, 4.0]
>>> dx, dy = descent(t, 1.0)
>>> float(dx[1, 3]), float(dy[1, 3])          # walk west
(-1.0, 0.0)
"""
from __future__ import annotations

import numpy as np
from numba import njit

from simulations import heap

__all__ = ["travel_time", "descent"]


@njit(cache=True, inline="always")
def _solve(t, done, cost, r, c, h):
    """First-order upwind eikonal update of cell (r, c) from its accepted neighbours."""
    rows, cols = t.shape
    a = np.inf
    if c > 0 and done[r, c - 1]:
        a = t[r, c - 1]
    if c < cols - 1 and done[r, c + 1] and t[r, c + 1] < a:
        a = t[r, c + 1]
    b = np.inf
    if r > 0 and done[r - 1, c]:
        b = t[r - 1, c]
    if r < rows - 1 and done[r + 1, c] and t[r + 1, c] < b:
        b = t[r + 1, c]
    fh = cost[r, c] * h
    lo = min(a, b)
    if not np.isfinite(lo):
        return np.inf
    d = a - b
    if np.isfinite(a) and np.isfinite(b) and abs(d) < fh:
        return 0.5 * (a + b + np.sqrt(2.0 * fh * fh - d * d))
    return lo + fh


@njit(cache=True)
def _march(cost, seed, h):
    rows, cols = cost.shape
    t = np.full((rows, cols), np.inf)
    done = np.zeros((rows, cols), np.bool_)
    fixed = np.zeros((rows, cols), np.bool_)
    cap = 4 * rows * cols + 8
    hk = np.empty(cap)
    hv = np.empty(cap, np.int64)
    n = 0
    for r in range(rows):
        for c in range(cols):
            if np.isfinite(seed[r, c]):
                t[r, c] = seed[r, c]
                fixed[r, c] = True
                n = heap.push(hk, hv, n, seed[r, c], r * cols + c)
    while n > 0:
        key, idx, n = heap.pop(hk, hv, n)
        r = idx // cols
        c = idx - r * cols
        if done[r, c] or key > t[r, c]:
            continue
        done[r, c] = True
        for k in range(4):
            rr, cc = r, c
            if k == 0:
                rr = r - 1
            elif k == 1:
                rr = r + 1
            elif k == 2:
                cc = c - 1
            else:
                cc = c + 1
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            if done[rr, cc] or fixed[rr, cc] or not np.isfinite(cost[rr, cc]):
                continue
            tn = _solve(t, done, cost, rr, cc, h)
            if tn < t[rr, cc]:
                t[rr, cc] = tn
                n = heap.push(hk, hv, n, tn, rr * cols + cc)
    return t


def travel_time(cost: np.ndarray, seed: np.ndarray, cell_size: float) -> np.ndarray:
    """Travel time (s, or m for unit cost) from the seeded cells over the grid.

    Parameters
    ----------
    cost : ndarray, (rows, cols)
        Slowness (s/m) per cell; ``inf`` where nobody can walk.
    seed : ndarray, (rows, cols)
        Known times (0 on targets), kept as they are whatever their cost;
        ``inf`` elsewhere.
    cell_size : float
        Cell side (m).

    Returns
    -------
    ndarray, float64
        ``T``; ``inf`` where no seed can be reached.

    Examples
    --------
    >>> cost = np.ones((1, 4)); seed = np.array([[np.inf, np.inf, np.inf, 0.0]])
    >>> travel_time(cost, seed, 0.5).tolist()
    [[1.5, 1.0, 0.5, 0.0]]
    """
    return _march(np.ascontiguousarray(cost, np.float64), np.ascontiguousarray(seed, np.float64),
                  float(cell_size))


@njit(cache=True, inline="always")
def _seen(t, zone, r, c, r2, c2):
    """``t`` of neighbour (r2, c2) as seen from (r, c): inf off the grid or in another zone."""
    rows, cols = t.shape
    if r2 < 0 or r2 >= rows or c2 < 0 or c2 >= cols or zone[r2, c2] != zone[r, c] and zone[r, c]:
        return np.inf
    return t[r2, c2]


@njit(cache=True)
def _descent(t, h, zone):
    rows, cols = t.shape
    gx = np.zeros((rows, cols), np.float32)
    gy = np.zeros((rows, cols), np.float32)
    for r in range(rows):
        for c in range(cols):
            tc = t[r, c]
            if not np.isfinite(tc):
                continue
            w = _seen(t, zone, r, c, r, c - 1)
            e = _seen(t, zone, r, c, r, c + 1)
            nn = _seen(t, zone, r, c, r - 1, c)
            s = _seen(t, zone, r, c, r + 1, c)
            dx = 0.0
            if e < tc and e <= w:
                dx = (tc - e) / h
            elif w < tc:
                dx = -(tc - w) / h
            dy = 0.0                      # y points north, rows run south
            if nn < tc and nn <= s:
                dy = (tc - nn) / h
            elif s < tc:
                dy = -(tc - s) / h
            norm = np.sqrt(dx * dx + dy * dy)
            if norm > 0.0:
                gx[r, c] = dx / norm
                gy[r, c] = dy / norm
    return gx, gy


def descent(t: np.ndarray, cell_size: float,
            keep_in: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit walking direction (east, north) per cell down the travel-time field.

    Cells with no lower neighbour (targets, unreachable cells) get ``(0, 0)``.
    Cells of ``keep_in`` (bool) look only at neighbours in ``keep_in``: their
    direction never leads out of it (dry people never head into water).

    Examples
    --------
    >>> t = np.array([[2.0, 1.0, 0.0]])
    >>> [a.tolist() for a in descent(t, 1.0)]
    [[[1.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]]]
    """
    zone = np.zeros(t.shape, np.bool_) if keep_in is None else np.asarray(keep_in, np.bool_)
    return _descent(np.ascontiguousarray(t, np.float64), float(cell_size), zone)
