"""How much slower people walk in standing water.

Controlled walking experiments in still water (Li, Song, Zhang and Bode 2026,
188 participants at 0, 0.35, 0.60 and 0.90 m) found that going from dry ground
to 0.35 m of water cuts the walking speed by 38.6 % for men and 44.8 % for
women, with smaller further losses in deeper water. :func:`wading_speed_factor`
takes the mean of the two, 41.7 % at 0.35 m, and interpolates linearly from dry
ground; deeper water keeps the 0.35 m factor (a crowd model blocks such cells
anyway: see ``walkable_depth_m`` in the city's crowd settings).

The factor multiplies each person's desired speed in a wet cell and divides the
floor field's speed there, so people both walk slower in water and prefer a dry
detour when it is quicker.

Examples
--------
>>> import numpy as np
>>> wading_speed_factor(np.array([0.0, 0.175, 0.35, 0.6])).round(3).tolist()
[1.0, 0.792, 0.583, 0.583]
"""
from __future__ import annotations

import numpy as np

__all__ = ["wading_speed_factor", "WADING_DEPTH_M", "WADING_LOSS"]

WADING_DEPTH_M = 0.35
"""Depth (m) of the experiment's shallowest water level."""

WADING_LOSS = 0.5 * (0.386 + 0.448)
"""Fraction of the dry walking speed lost at :data:`WADING_DEPTH_M` (mean of men and women)."""


def wading_speed_factor(depth_m) -> np.ndarray:
    """Walking speed in water over the dry walking speed, for each depth.

    Parameters
    ----------
    depth_m : array_like
        Water depth (m); negative and NaN depths count as dry.

    Returns
    -------
    numpy.ndarray of float32
        Factor in ``(0, 1]``, 1 on dry ground, ``1 - WADING_LOSS`` from
        :data:`WADING_DEPTH_M` down.

    Examples
    --------
    >>> float(wading_speed_factor(0.35))
    0.5830000042915344
    """
    d = np.nan_to_num(np.asarray(depth_m, dtype=float), nan=0.0)
    share = np.clip(d / WADING_DEPTH_M, 0.0, 1.0)
    return (1.0 - WADING_LOSS * share).astype(np.float32)
