"""Levee and embankment crests kept when the terrain is coarsened for the flood grid.

Averaging a 4 m DEM to 16 m cells spreads a 5 m wide levee over a cell three
times wider and lowers its crest by metres, so a river it holds on the fine
grid overtops it on the coarse one. :func:`keep_crests` finds the crests on the
fine DEM (cells standing at least ``rise`` above the terrain ``reach`` cells
away on both sides, along any of four directions: a narrow ridge), burns
their highest elevation into the coarse cells they cross, and closes the
diagonal gaps of the burned lines so that water cannot pass between two
crest cells that touch only at a corner (the engine's fluxes cross cell faces).

Examples
--------
>>> import numpy as np
>>> from affine import Affine

from geodata.grid import GridSpec
>>> fine = np.zeros((16, 16)); fine[:, 7] = 5.0             # a 1-cell levee, 5 m high
>>> coarse = fine.reshape(4, 4, 4, 4).mean(axis=(1, 3))     # 4x coarser: crest 1.25 m
>>> out = keep_crests(fine, Affine(1, 0, 0, 0, -1, 16), coarse, Affine(4, 0, 0, 0, -4, 16))
>>> out[:, 1].tolist()
[5.0, 5.0, 5.0, 5.0]
"""
from __future__ import annotations

import numpy as np
from affine import Affine

from geodata.grid import GridSpec

__all__ = ["crest_mask", "keep_crests"]

_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def crest_mask(z: np.ndarray, reach: int, rise: float = 0.5) -> np.ndarray:
    """Cells of ``z`` standing ``rise`` above both cells ``reach`` away in some direction.

    Parameters
    ----------
    z : numpy.ndarray
        Elevation (m), NaN outside the terrain.
    reach : int
        Half-width (cells) of the narrowest feature that is *not* a crest.
    rise : float
        Height (m) a crest must stand above both sides.

    Examples
    --------
    >>> z = np.zeros((5, 5)); z[:, 2] = 2.0
    >>> crest_mask(z, 1)[:, 2].all(), crest_mask(z, 1)[:, 0].any()
    (True, False)
    """
    z = np.where(np.isfinite(z), z, np.inf)
    out = np.zeros(z.shape, bool)
    R, C = z.shape
    for dr, dc in _DIRECTIONS:
        for k in range(1, max(int(reach), 1) + 1):
            a = _shifted(z, dr * k, dc * k)
            b = _shifted(z, -dr * k, -dc * k)
            out |= np.isfinite(z) & (z - np.maximum(a, b) >= rise)
    return out & np.isfinite(z)


def _shifted(z: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """``z`` moved by ``(dr, dc)``, +inf where nothing moved in (edges never count)."""
    out = np.full(z.shape, np.inf)
    R, C = z.shape
    out[max(dr, 0):R + min(dr, 0), max(dc, 0):C + min(dc, 0)] = \
        z[max(-dr, 0):R - max(dr, 0), max(-dc, 0):C - max(dc, 0)]
    return out


def keep_crests(fine: np.ndarray, fine_transform: Affine, coarse: np.ndarray,
                coarse_transform: Affine, *, rise: float = 0.5) -> np.ndarray:
    """``coarse`` elevation with the crests of ``fine`` burned in (never lowered).

    Parameters
    ----------
    fine, coarse : numpy.ndarray
        North-up elevations (m); ``coarse`` is ``fine`` resampled.
    fine_transform, coarse_transform : affine.Affine
    rise : float
        See :func:`crest_mask`.

    Returns
    -------
    numpy.ndarray
        A new array: each coarse cell crossed by a crest takes the highest crest
        elevation in it, and diagonal steps of burned lines are closed through
        one of their corner cells at the lower of the two crests.
    """
    ratio = abs(coarse_transform.a / fine_transform.a)
    out = np.array(coarse, dtype="float64", copy=True)
    if ratio <= 1.0:
        return out
    crest = crest_mask(fine, reach=int(np.ceil(ratio)), rise=rise)
    r, c = np.nonzero(crest)
    fine_grid = GridSpec(fine_transform, fine.shape)
    coarse_grid = GridSpec(coarse_transform, out.shape)
    rr, cc = coarse_grid.index(fine_grid.x[c], fine_grid.y[r])
    ok = coarse_grid.contains(rr, cc)
    top = np.full(out.shape, -np.inf)
    np.maximum.at(top, (rr[ok], cc[ok]), fine[r[ok], c[ok]])
    _close_diagonals(top)
    burned = np.isfinite(top) & np.isfinite(out)
    out[burned] = np.maximum(out[burned], top[burned])
    return out


def _close_diagonals(top: np.ndarray) -> None:
    """Where two crest cells touch only at a corner, raise one corner cell to the
    lower crest (in place; ``-inf`` marks cells without a crest)."""
    on = np.isfinite(top)
    for dc in (1, -1):
        a = on[:-1, max(-dc, 0):top.shape[1] - max(dc, 0)]
        b = on[1:, max(dc, 0):top.shape[1] - max(-dc, 0)]
        side1 = on[:-1, max(dc, 0):top.shape[1] - max(-dc, 0)]   # (r, c + dc)
        side2 = on[1:, max(-dc, 0):top.shape[1] - max(dc, 0)]    # (r + 1, c)
        gap = a & b & ~side1 & ~side2
        r, c = np.nonzero(gap)
        c = c + max(-dc, 0)
        level = np.minimum(top[r, c], top[r + 1, c + dc])
        top[r, c + dc] = np.maximum(top[r, c + dc], level)
