"""Colours of the city's layers: building use, road class, water, sensors, terrain.

Every table maps a category to an RGB triple (0-255). The key ``"other"``
is the colour of any value the table does not know. The same colours are used
by the meshes (cell data ``rgb``), the GLB export and the rendered picture,
so a building of one use looks the same everywhere.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

__all__ = ["ramp", "BUILDING_USE_COLORS", "ROAD_CLASS_COLORS", "WATER_COLOR", "SENSOR_KIND_COLORS",
           "LANDUSE_CLASS_COLORS", "BIM_COLOR", "TERRAIN_STOPS", "colors_for", "codes_for",
           "terrain_colors"]

RGB = tuple[int, int, int]

BUILDING_USE_COLORS: dict[str, RGB] = {
    "residential": (236, 220, 196),
    "commercial": (120, 166, 210),
    "office": (150, 180, 220),
    "industrial": (186, 160, 200),
    "public": (240, 180, 120),
    "school": (250, 210, 110),
    "hospital": (232, 120, 120),
    "mixed": (210, 196, 170),
    "other": (205, 205, 205),
}
"""Building ``use`` -> colour: warm for homes, blue for business, violet for industry."""

ROAD_CLASS_COLORS: dict[str, RGB] = {
    "motorway": (96, 96, 104),
    "trunk": (104, 104, 112),
    "primary": (112, 112, 118),
    "secondary": (124, 124, 128),
    "tertiary": (136, 136, 140),
    "residential": (150, 150, 152),
    "service": (164, 164, 164),
    "footway": (190, 178, 160),
    "other": (140, 140, 140),
}
"""Road ``class`` -> colour: darker asphalt for the larger roads."""

LANDUSE_CLASS_COLORS: dict[str, RGB] = {
    "park": (150, 196, 120),
    "forest": (96, 150, 90),
    "farmland": (210, 214, 150),
    "grass": (170, 206, 130),
    "residential": (226, 214, 200),
    "commercial": (214, 200, 214),
    "industrial": (210, 200, 190),
    "water": (120, 170, 220),
    "other": (200, 200, 180),
}
"""Land-use ``class`` -> colour."""

SENSOR_KIND_COLORS: dict[str, RGB] = {
    "water_level": (30, 120, 255),
    "rain_gauge": (0, 190, 220),
    "weather": (0, 200, 160),
    "traffic": (255, 140, 0),
    "camera": (230, 40, 40),
    "crowd": (220, 0, 160),
    "other": (255, 220, 0),
}
"""Sensor station ``kind`` -> colour (bright, to stand out over the city)."""

WATER_COLOR: RGB = (64, 132, 214)
"""Rivers and lakes."""

BIM_COLOR: RGB = (245, 245, 240)
"""Detailed (BIM) buildings."""

TERRAIN_STOPS: tuple[tuple[float, RGB], ...] = (
    (0.00, (74, 120, 70)),
    (0.30, (120, 160, 90)),
    (0.55, (196, 190, 130)),
    (0.80, (170, 130, 90)),
    (1.00, (235, 230, 225)),
)
"""Hypsometric ramp of the terrain: ``(fraction of the elevation range, colour)``."""


def _table_arrays(table: Mapping[str, RGB]) -> tuple[list[str], np.ndarray]:
    keys = list(table)
    return keys, np.asarray([table[k] for k in keys], dtype=np.uint8)


def codes_for(values: Iterable[object], table: Mapping[str, RGB]) -> np.ndarray:
    """Position of each value among the keys of ``table``; unknown values get ``"other"``.

    Values are compared as lower-case strings, so ``"Residential"`` matches.

    Parameters
    ----------
    values : iterable
        Categories, e.g. a ``use`` column.
    table : mapping
        Category -> RGB, with an ``"other"`` key.

    Returns
    -------
    numpy.ndarray
        int32 codes, shape ``(n,)``.

    Examples
    --------
    >>> codes_for(["office", "castle"], BUILDING_USE_COLORS).tolist()
    [2, 8]
    """
    keys, _ = _table_arrays(table)
    lookup = {k: i for i, k in enumerate(keys)}
    other = lookup["other"]
    vals = np.asarray(list(values), dtype=object)
    if vals.size == 0:
        return np.zeros(0, np.int32)
    uniq, inverse = np.unique(vals.astype(str), return_inverse=True)
    code_of_uniq = np.array([lookup.get(u.strip().lower(), other) for u in uniq], np.int32)
    return code_of_uniq[inverse.ravel()]


def colors_for(values: Iterable[object], table: Mapping[str, RGB]) -> np.ndarray:
    """RGB colour of each value from a colour table.

    Parameters
    ----------
    values : iterable
        Categories, e.g. ``city.buildings["use"]``.
    table : mapping
        Category -> RGB (0-255), with an ``"other"`` key for unknown values.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(n, 3)``.

    Examples
    --------
    >>> colors_for(["residential", None], BUILDING_USE_COLORS).tolist()
    [[236, 220, 196], [205, 205, 205]]
    """
    _, rgb = _table_arrays(table)
    return rgb[codes_for(values, table)]


def ramp(values, stops) -> np.ndarray:
    """Colours of values on a piecewise-linear ramp (the one colour-ramp rule).

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


def terrain_colors(elevation: np.ndarray, *, low: float | None = None,
                   high: float | None = None) -> np.ndarray:
    """Hypsometric colours of elevations, from green lowlands to pale summits.

    Parameters
    ----------
    elevation : array_like
        Elevations (m); NaN gets the lowest colour.
    low, high : float, optional
        Elevations mapped to the two ends of :data:`TERRAIN_STOPS`; the
        finite minimum and maximum by default.

    Returns
    -------
    numpy.ndarray
        uint8, shape ``(n, 3)``.

    Examples
    --------
    >>> terrain_colors([0.0, 10.0]).tolist()
    [[74, 120, 70], [235, 230, 225]]
    """
    z = np.asarray(elevation, dtype=float).ravel()
    finite = z[np.isfinite(z)]
    lo = low if low is not None else (float(finite.min()) if finite.size else 0.0)
    hi = high if high is not None else (float(finite.max()) if finite.size else lo + 1.0)
    t = np.clip((np.nan_to_num(z, nan=lo) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    return ramp(t, TERRAIN_STOPS)
