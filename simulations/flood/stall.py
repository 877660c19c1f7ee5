"""The error a flood run raises instead of looping, and where it points.

When :func:`simulations.flood.kernels.advance` cannot go on (a step below
``min_dt``, non-finite water, a negative-depth repair that does not converge,
a time that no longer advances) it stops with a status; :func:`stall_error`
turns it into a :class:`FloodStallError` naming the time, the cell (row,
col), its depth and bed slope, so that the cause can be looked at on the
terrain.

Examples
--------
>>> import numpy as np
>>> from simulations.flood.stall import stall_error
>>> h = np.zeros((3, 3)); h[1, 1] = np.nan
>>> err = stall_error(2, 12.5, h, np.zeros((3, 3)), np.zeros((3, 4)), np.zeros((4, 3)), 1.0, 1e-3)
>>> err.cell, "row 1, col 1" in str(err)
((1, 1), True)
"""
from __future__ import annotations

import numpy as np

__all__ = ["FloodStallError", "stall_error"]

_REASONS = {1: "the stable time step fell below min_dt", 2: "depth or discharge became non-finite",
            3: "the negative-depth repair did not converge",
            4: "model time stopped advancing (step below the clock's resolution)"}


class FloodStallError(RuntimeError):
    """A flood run that cannot advance; ``time_s``, ``cell`` (row, col), ``depth_m``, ``slope``."""

    def __init__(self, message: str, time_s: float, cell: tuple[int, int], depth_m: float,
                 slope: float):
        super().__init__(message)
        self.time_s, self.cell, self.depth_m, self.slope = time_s, cell, depth_m, slope


def _bed_slope(z: np.ndarray, dx: float, r: int, c: int) -> float:
    """Steepest bed slope from cell (r, c) to a 4-neighbour."""
    R, C = z.shape
    drops = [abs(z[r, c] - z[i, j]) for i, j in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
             if 0 <= i < R and 0 <= j < C]
    return max(drops, default=0.0) / dx


def _culprit(status: int, h, qx, qy, wet_depth: float) -> tuple[int, int]:
    """The cell to blame: the first non-finite one, else the one with the fastest face."""
    bad = ~np.isfinite(h)
    bad |= ~np.isfinite(qx[:, :-1]) | ~np.isfinite(qx[:, 1:])
    bad |= ~np.isfinite(qy[:-1]) | ~np.isfinite(qy[1:])
    if bad.any():
        return tuple(int(v) for v in np.argwhere(bad)[0])
    q = np.maximum.reduce([np.abs(qx[:, :-1]), np.abs(qx[:, 1:]), np.abs(qy[:-1]), np.abs(qy[1:])])
    hs = np.maximum(h, wet_depth)
    speed = q / hs + np.sqrt(9.81 * hs)
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(speed)), h.shape))


def stall_error(status: int, time_s: float, h, z, qx, qy, dx: float,
                wet_depth: float) -> FloodStallError:
    """The :class:`FloodStallError` for a kernel ``status`` at ``time_s``.

    Parameters
    ----------
    status : int
        Non-zero status of :func:`~simulations.flood.kernels.advance`.
    time_s : float
        Model time the run stopped at (s).
    h, z : ndarray
        Depth and bed elevation (m), ``(rows, cols)``.
    qx, qy : ndarray
        Current face unit discharges (m2/s).
    dx, wet_depth : float
        Cell size and face wet depth (m).
    """
    r, c = _culprit(status, np.asarray(h, np.float64), np.asarray(qx, np.float64),
                    np.asarray(qy, np.float64), wet_depth)
    depth = float(h[r, c])
    slope = _bed_slope(np.asarray(z, np.float64), dx, r, c)
    reason = _REASONS.get(status, f"kernel status {status}")
    return FloodStallError(
        f"FloodModel stopped at t = {time_s:.3f} s: {reason}; worst cell (row {r}, col {c}), "
        f"depth {depth:.4g} m, bed slope {slope:.3g}. Check the elevation there (spikes, pits, "
        f"nodata filled with extreme values), or lower alpha / min_dt.", float(time_s), (r, c),
        depth, slope)
