"""Flood hazard rating and cell speeds: the one formula the engine and the twin share.

The hazard is ``depth * (speed + 0.5)`` (m2/s, the DEFRA/EA FD2320 hazard
rating without the debris factor) where the water is deeper than
:data:`SPEED_DEPTH`, and 0 elsewhere; below that depth the speed is reported
as 0 too (a unit discharge over a film is not a meaningful speed).

Examples
--------
>>> import numpy as np
>>> from simulations.flood import hazard
>>> hazard(np.array([0.5, 0.005]), np.array([1.0, 3.0])).tolist()
[0.75, 0.0]
"""
from __future__ import annotations

import numpy as np

__all__ = ["SPEED_DEPTH", "hazard", "cell_speed"]

SPEED_DEPTH = 0.01
"""Depth (m) below which a cell's speed and hazard are reported as zero."""


def hazard(depth, speed) -> np.ndarray:
    """Hazard rating ``depth * (speed + 0.5)`` (m2/s) where ``depth > SPEED_DEPTH``, else 0.

    Parameters
    ----------
    depth : array_like
        Water depth (m).
    speed : array_like
        Flow speed (m/s), same shape (or broadcastable).

    Returns
    -------
    ndarray
        The rating, in the dtype of ``depth``.

    Examples
    --------
    >>> float(hazard(1.0, 0.5))
    1.0
    """
    d = np.asarray(depth)
    s = np.asarray(speed)
    dtype = d.dtype if d.dtype.kind == "f" else np.float64
    return np.where(d > SPEED_DEPTH, d * (s + 0.5), 0).astype(dtype)


def cell_speed(qx, qy, depth) -> np.ndarray:
    """Cell-centred speed (m/s) from face unit discharges; 0 where shallower than ``SPEED_DEPTH``.

    Parameters
    ----------
    qx : ndarray
        x unit discharges (m2/s), ``(rows, cols + 1)``.
    qy : ndarray
        y unit discharges (m2/s), ``(rows + 1, cols)``.
    depth : ndarray
        Depth (m), ``(rows, cols)``.

    Examples
    --------
    >>> import numpy as np
    >>> qx = np.full((1, 3), 0.2); qy = np.zeros((2, 2)); h = np.full((1, 2), 0.1)
    >>> cell_speed(qx, qy, h).tolist()
    [[2.0, 2.0]]
    """
    u = 0.5 * (qx[:, :-1] + qx[:, 1:])
    v = 0.5 * (qy[:-1] + qy[1:])
    wet = depth > SPEED_DEPTH
    return np.where(wet, np.hypot(u, v) / np.where(wet, depth, 1), 0).astype(depth.dtype)
