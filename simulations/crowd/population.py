"""Desired walking speeds of a population, overall and by the RiMEA age groups.

Weidmann (1993) gives a free walking speed on the level of 1.34 +/- 0.26 m/s
(mean +/- sd). The RiMEA guideline (Table 1, used by its test 7) gives speed
ranges per group: under 30 years 0.58-1.61 m/s, 30 to 50 years 1.41-1.54 m/s,
over 50 years 0.68-1.41 m/s, mobility impaired 0.46-0.76 m/s. Speeds are drawn
from normal distributions truncated to their range (resampled, never clipped,
so no mass piles up on a bound).

Examples
--------
>>> import numpy as np
>>> v = desired_speeds(1000, rng=np.random.default_rng(0))
>>> abs(float(v.mean()) - 1.34) < 0.03, bool(v.min() >= 0.46 and v.max() <= 2.2)
(True, True)
>>> w = desired_speeds(50, group="30_to_50", rng=np.random.default_rng(0))
>>> bool(w.min() >= 1.41 and w.max() <= 1.54)
True
"""
from __future__ import annotations

import numpy as np
from scipy.stats import truncnorm

__all__ = ["desired_speeds", "SPEED_GROUPS"]

SPEED_GROUPS: dict[str, tuple[float, float, float, float]] = {
    # group: (mean, sd, low, high) in m/s
    "weidmann": (1.34, 0.26, 0.46, 2.2),
    "under_30": (1.095, 0.26, 0.58, 1.61),
    "30_to_50": (1.475, 0.0325, 1.41, 1.54),
    "over_50": (1.045, 0.18, 0.68, 1.41),
    "impaired": (0.61, 0.075, 0.46, 0.76),
}
"""Truncated-normal speed distributions; the ranges are the RiMEA Table 1 bounds
(``weidmann``: 1.34 +/- 0.26 m/s, cut at the slowest and a brisk walk)."""


def desired_speeds(n: int, group: str = "weidmann",
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """``n`` desired walking speeds (m/s) of one group of :data:`SPEED_GROUPS`.

    Parameters
    ----------
    n : int
        How many.
    group : str
        A key of :data:`SPEED_GROUPS`.
    rng : numpy.random.Generator, optional
        Random source (a fresh default one if omitted).

    Examples
    --------
    >>> v = desired_speeds(200, "impaired", np.random.default_rng(1))
    >>> bool(v.min() >= 0.46 and v.max() <= 0.76)
    True
    """
    if group not in SPEED_GROUPS:
        raise ValueError(f"desired_speeds: group={group!r} unknown; use one of "
                         f"{sorted(SPEED_GROUPS)}")
    if int(n) != n or n < 0:
        raise ValueError(f"desired_speeds: n={n} must be a whole number >= 0")
    mean, sd, low, high = SPEED_GROUPS[group]
    rng = np.random.default_rng() if rng is None else rng
    a, b = (low - mean) / sd, (high - mean) / sd
    return truncnorm.rvs(a, b, loc=mean, scale=sd, size=int(n), random_state=rng)
