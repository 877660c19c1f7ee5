"""Colours of states shown in the operations-centre viewer.

The city's own colours (building use, road class, water) come from
:mod:`scenes.style`; this module adds the colours of *states*: flood impact of
a building, an impassable road, a sensor's alarm status, the water depth
ramp, and the highlight of the selected building.
"""
from __future__ import annotations

import numpy as np

__all__ = ["IMPACT_STOPS", "HEIGHT_STOPS", "DEPTH_STOPS", "ROAD_CLOSED", "HIGHLIGHT",
           "SENSOR_STATUS_COLORS", "ramp", "hex_color"]

RGB = tuple[int, int, int]

IMPACT_STOPS: tuple[tuple[float, RGB], ...] = (
    (0.00, (200, 200, 200)), (0.15, (255, 220, 90)), (0.50, (255, 140, 40)),
    (1.00, (220, 40, 40)), (2.00, (130, 0, 60)))
"""Water depth at a building (m) -> colour: grey dry, yellow wet feet, red deep."""

HEIGHT_STOPS: tuple[tuple[float, RGB], ...] = (
    (0.0, (230, 230, 240)), (15.0, (150, 180, 230)), (40.0, (60, 90, 200)),
    (100.0, (30, 20, 110)))
"""Building height (m) -> colour."""

DEPTH_STOPS: tuple[tuple[float, RGB], ...] = (
    (0.0, (150, 210, 255)), (0.3, (60, 150, 240)), (1.0, (20, 80, 200)), (3.0, (10, 20, 110)))
"""Water depth (m) -> colour of the flood surface."""

ROAD_CLOSED: RGB = (230, 30, 30)
"""A road under more water than vehicles can pass."""

HIGHLIGHT: RGB = (0, 255, 200)
"""The building selected on the map."""

SENSOR_STATUS_COLORS: dict[str, RGB] = {
    "ok": (40, 200, 90), "warning": (255, 190, 0), "alarm": (240, 30, 30),
    "no data": (150, 150, 150)}
"""Sensor status -> colour of its glyph."""


def ramp(values: np.ndarray, stops: tuple[tuple[float, RGB], ...]) -> np.ndarray:
    """Colours of values on a piecewise-linear ramp.

    Parameters
    ----------
    values : array_like
        Values in the units of the stops; NaN gets the first colour.
    stops : sequence of (value, RGB)
        Increasing values and their colours; values beyond the ends are clamped.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(n, 3)``.

    Examples
    --------
    >>> ramp([0.0, 0.075, 9.0], ((0.0, (0, 0, 0)), (0.15, (200, 100, 0)))).tolist()
    [[0, 0, 0], [100, 50, 0], [200, 100, 0]]
    """
    v = np.nan_to_num(np.asarray(values, dtype=float).ravel(), nan=stops[0][0])
    at = np.array([s for s, _ in stops])
    cols = np.array([c for _, c in stops], dtype=float)
    out = np.column_stack([np.interp(v, at, cols[:, k]) for k in range(3)])
    return np.rint(out).astype(np.uint8)


def hex_color(rgb: RGB) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``.

    Examples
    --------
    >>> hex_color((255, 0, 16))
    '#ff0010'
    """
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))
