"""Colours of states shown in the operations-centre viewer.

The city's own colours (building use, road class, water) come from
:mod:`scenes.style`; this module adds the colours of *states*: water depth
classes, building height, an impassable road, a sensor's status and the
highlight of the picked feature.

Every ramp is colour-blind safe (it changes in lightness, not only in hue:
viridis for heights, yellow-orange-red-magenta for depths against walls,
pale-to-deep blues for water) and stays lighter than the dark background, so
the last class never sinks into it.
"""
from __future__ import annotations

import numpy as np

from scenes.style import ramp

__all__ = ["HEIGHT_STOPS", "DEPTH_BREAKS", "DEPTH_COLORS", "IMPACT_COLORS", "ROAD_CLOSED",
           "HIGHLIGHT", "SENSOR_STATUS_COLORS", "BACKGROUND", "ramp", "classify", "hex_color",
           "class_labels", "contrast"]

RGB = tuple[int, int, int]

BACKGROUND: RGB = (15, 20, 31)
"""The 3D view's and the map's background."""

HEIGHT_STOPS: tuple[tuple[float, RGB], ...] = (
    (0.0, (72, 104, 160)), (15.0, (33, 145, 140)), (40.0, (94, 201, 98)),
    (100.0, (253, 231, 37)))
"""Building height (m) -> colour: viridis from its blue on (the dark purple start
of viridis would vanish on the background)."""

DEPTH_BREAKS: tuple[float, ...] = (0.15, 0.30, 0.50, 1.00, 2.00)
"""Class breaks of water depth (m): wet feet, road closure, knee, waist, head."""

DEPTH_COLORS: tuple[RGB, ...] = (
    (190, 232, 255), (130, 200, 250), (80, 160, 245), (50, 115, 230), (100, 80, 220),
    (170, 90, 230))
"""Water depth classes (below the first break ... above the last) -> colour of the
flood surface: pale to deep blue, then violet (never navy on the dark background)."""

IMPACT_COLORS: tuple[RGB, ...] = (
    (185, 185, 190), (255, 226, 110), (252, 160, 50), (230, 85, 40), (215, 40, 90),
    (235, 90, 220))
"""Depth against a building in :data:`DEPTH_BREAKS` classes: grey dry, yellow,
orange, red, crimson, magenta."""

ROAD_CLOSED: RGB = (255, 70, 70)
"""A road under more water than vehicles can pass."""

HIGHLIGHT: RGB = (0, 255, 200)
"""The picked building, road or sensor."""

SENSOR_STATUS_COLORS: dict[str, RGB] = {
    "ok": (70, 170, 255), "warning": (255, 190, 0), "alarm": (255, 50, 110),
    "no data": (150, 150, 150)}
"""Sensor status -> colour of its glyph: blue ok, amber warning, red-pink alarm
(not green and red, which many cannot tell apart)."""


def classify(values: np.ndarray, breaks: tuple[float, ...],
             colors: tuple[RGB, ...]) -> np.ndarray:
    """Colour of the class of each value: ``colors[k]`` for ``breaks[k-1] <= v < breaks[k]``.

    Examples
    --------
    >>> classify([0.0, 0.2, 5.0], (0.15, 1.0), ((0, 0, 0), (1, 1, 1), (2, 2, 2))).tolist()
    [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    """
    if len(colors) != len(breaks) + 1:
        raise ValueError(f"colors: need {len(breaks) + 1} colours for {len(breaks)} breaks, "
                         f"got {len(colors)}")
    v = np.nan_to_num(np.asarray(values, dtype=float).ravel(), nan=-np.inf)
    return np.asarray(colors, np.uint8)[np.searchsorted(np.asarray(breaks), v, side="right")]


def class_labels(breaks: tuple[float, ...], unit: str, *, first: str | None = None) -> list[str]:
    """Labels of the classes of ``breaks``.

    Examples
    --------
    >>> class_labels((0.15, 1.0), "m")
    ['< 0.15 m', '0.15–1 m', '≥ 1 m']
    """
    b = [f"{x:g}" for x in breaks]
    out = [first or f"< {b[0]} {unit}"]
    out += [f"{lo}–{hi} {unit}" for lo, hi in zip(b[:-1], b[1:])]
    return out + [f"≥ {b[-1]} {unit}"]


def contrast(rgb: RGB, background: RGB = BACKGROUND) -> float:
    """WCAG contrast ratio of two colours (1 to 21); 3 is readable for graphics.

    Examples
    --------
    >>> round(contrast((255, 255, 255), (0, 0, 0)), 1)
    21.0
    """
    def lum(c):
        c = np.asarray(c, float) / 255.0
        c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])
    a, b = sorted((lum(rgb), lum(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def hex_color(rgb: RGB) -> str:
    """``(r, g, b)`` -> ``"#rrggbb"``.

    Examples
    --------
    >>> hex_color((255, 0, 16))
    '#ff0010'
    """
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))
