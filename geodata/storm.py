"""Design storms: regional storm-intensity formulas and the Chicago hyetograph.

Chinese drainage design uses a regional intensity-duration-frequency (IDF)
formula of the form

    q = A (1 + C lg P) / (t + b)^n        [L/(s·ha)]

with ``t`` the duration in minutes and ``P`` the return period in years.
One L/(s·ha) of rain is 0.36 mm/h. Ezhou lies next to Wuhan and designs with
Wuhan's formula (A = 983, C = 0.65, b = 4, n = 0.56).

The Chicago design storm (Keifer & Chu, 1957) spreads that formula over time
so that the rain falling in any window around the peak equals the IDF depth
for the window's duration.

Examples
--------
>>> from geodata.storm import storm_intensity, chicago_hyetograph
>>> round(float(storm_intensity(60, 50)), 1)                # mm/h, 1 h, 50-year storm
72.5
>>> t, i = chicago_hyetograph(50, 3 * 3600, 300)
>>> t.shape, round(float((i * 300 / 3600).sum()), 1)        # 36 steps, depth in mm
((36,), 120.4)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StormFormula", "WUHAN", "storm_intensity", "storm_depth", "chicago_hyetograph"]

LPS_HA_TO_MM_H = 0.36
"""One litre per second per hectare in millimetres per hour."""


@dataclass(frozen=True)
class StormFormula:
    """A storm-intensity formula q = A (1 + C lg P) / (t + b)^n in L/(s·ha).

    Parameters
    ----------
    A, C, b, n : float
        The formula's coefficients; ``t`` and ``b`` in minutes.
    name : str
        Where the formula applies, for reports.

    Examples
    --------
    >>> StormFormula(A=983.0, C=0.65, b=4.0, n=0.56, name="Wuhan").n
    0.56
    """

    A: float
    C: float
    b: float
    n: float
    name: str = ""

    def __post_init__(self) -> None:
        if not (self.A > 0 and self.b >= 0 and 0 < self.n < 1 and self.C >= 0):
            raise ValueError(f"storm formula {self.name!r}: need A > 0, C >= 0, b >= 0 and "
                             f"0 < n < 1 (got A={self.A}, C={self.C}, b={self.b}, n={self.n})")

    def coefficient_mm_h(self, return_period_years: float) -> float:
        """Return a = 0.36 A (1 + C lg P): the numerator in mm/h."""
        p = _positive(return_period_years, "return_period_years")
        return LPS_HA_TO_MM_H * self.A * (1.0 + self.C * np.log10(p))


WUHAN = StormFormula(A=983.0, C=0.65, b=4.0, n=0.56, name="Wuhan")
"""Wuhan's storm-intensity formula, also used for Ezhou."""


def storm_intensity(duration_min, return_period_years: float,
                    formula: StormFormula = WUHAN) -> np.ndarray:
    """Mean rain intensity (mm/h) of the design storm lasting ``duration_min``.

    Parameters
    ----------
    duration_min : float or array
        Storm duration in minutes (> 0).
    return_period_years : float
        Return period P in years (> 0).
    formula : StormFormula
        The regional formula; Wuhan's by default.

    Examples
    --------
    >>> round(float(storm_intensity(5, 1)), 1)
    103.4
    """
    t = np.asarray(duration_min, dtype=float)
    if np.any(~(t > 0)):
        raise ValueError(f"duration_min must be > 0 minutes (got {duration_min})")
    a = formula.coefficient_mm_h(return_period_years)
    return a / (t + formula.b) ** formula.n


def storm_depth(duration_min, return_period_years: float,
                formula: StormFormula = WUHAN) -> np.ndarray:
    """Rain depth (mm) of the design storm lasting ``duration_min``: i(t)·t.

    Examples
    --------
    >>> round(float(storm_depth(180, 50)), 1)
    120.4
    """
    t = np.asarray(duration_min, dtype=float)
    return storm_intensity(t, return_period_years, formula) * t / 60.0


def chicago_hyetograph(return_period_years: float, duration_s: float, step_s: float, *,
                       peak_ratio: float = 0.4,
                       formula: StormFormula = WUHAN) -> tuple[np.ndarray, np.ndarray]:
    """Chicago design storm (Keifer & Chu, 1957) as piecewise-constant steps.

    The peak falls at ``peak_ratio * duration_s``. A window holding a fraction
    ``peak_ratio`` of its length before the peak and the rest after it
    receives exactly the IDF depth of its duration; the whole storm receives
    ``storm_intensity(T) * T``. Each step carries the mean intensity of the
    continuous Chicago curve over that step, so these volumes hold exactly
    whenever the window ends fall on step boundaries.

    Parameters
    ----------
    return_period_years : float
        Return period P in years.
    duration_s : float
        Storm duration T in seconds.
    step_s : float
        Step length in seconds; ``duration_s`` must be a whole number of steps.
    peak_ratio : float
        Position of the peak as a fraction of the duration, 0 < r < 1.
    formula : StormFormula
        The regional formula; Wuhan's by default.

    Returns
    -------
    times_s : ndarray
        Start of each step in seconds from the storm start; intensity
        ``intensity_mm_h[k]`` applies on ``[times_s[k], times_s[k] + step_s)``.
    intensity_mm_h : ndarray
        Mean intensity of each step in mm/h.

    Examples
    --------
    >>> t, i = chicago_hyetograph(2, 7200, 600, peak_ratio=0.4)
    >>> int(t[i.argmax()])                   # the step holding the peak at 2880 s
    2400
    """
    if not (0.0 < peak_ratio < 1.0):
        raise ValueError(f"peak_ratio must lie strictly between 0 and 1 (got {peak_ratio})")
    duration_s = _positive(duration_s, "duration_s")
    step_s = _positive(step_s, "step_s")
    n_steps = duration_s / step_s
    if abs(n_steps - round(n_steps)) > 1e-9 * max(n_steps, 1.0):
        raise ValueError(f"duration_s ({duration_s}) must be a whole number of steps "
                         f"of step_s ({step_s})")
    edges = np.arange(round(n_steps) + 1) * step_s
    depth = _cumulative_depth(edges, return_period_years, duration_s, peak_ratio, formula)
    intensity = np.diff(depth) / step_s * 3600.0
    return edges[:-1], intensity


def _cumulative_depth(t_s: np.ndarray, return_period_years: float, duration_s: float,
                      peak_ratio: float, formula: StormFormula) -> np.ndarray:
    """Rain (mm) fallen from the storm start to ``t_s`` on the continuous Chicago curve.

    With D(t) the IDF depth for duration t, the rain within ``s`` before the
    peak is ``r D(s / r)`` and within ``s`` after it ``(1 - r) D(s / (1 - r))``.
    """
    r = peak_ratio
    peak = r * duration_s
    a = formula.coefficient_mm_h(return_period_years)

    def idf_depth(seconds: np.ndarray) -> np.ndarray:
        minutes = seconds / 60.0
        return a * minutes / (minutes + formula.b) ** formula.n / 60.0

    rain_to_peak = r * idf_depth(np.float64(duration_s))
    before = rain_to_peak - r * idf_depth(np.maximum(peak - t_s, 0.0) / r)
    after = rain_to_peak + (1 - r) * idf_depth(np.maximum(t_s - peak, 0.0) / (1 - r))
    return np.where(t_s <= peak, before, after)


def _positive(value: float, name: str) -> float:
    value = float(value)
    if not value > 0:
        raise ValueError(f"{name} must be > 0 (got {value})")
    return value
