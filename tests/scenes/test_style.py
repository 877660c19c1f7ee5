"""Colour tables: lookups, unknown values, the terrain ramp."""
from __future__ import annotations

import numpy as np

from scenes.style import (BUILDING_USE_COLORS, ROAD_CLASS_COLORS, TERRAIN_STOPS, codes_for,
                          colors_for, terrain_colors)


def test_colors_for_known_unknown_and_case():
    rgb = colors_for(["Residential", "office", "castle", None], BUILDING_USE_COLORS)
    assert rgb.dtype == np.uint8 and rgb.shape == (4, 3)
    assert rgb[0].tolist() == [236, 220, 196]
    assert rgb[1].tolist() == list(BUILDING_USE_COLORS["office"])
    assert rgb[2].tolist() == rgb[3].tolist() == list(BUILDING_USE_COLORS["other"])
    assert colors_for([], ROAD_CLASS_COLORS).shape == (0, 3)


def test_codes_for_are_table_positions():
    keys = list(ROAD_CLASS_COLORS)
    codes = codes_for(["primary", "footway", "?"], ROAD_CLASS_COLORS)
    assert codes.tolist() == [keys.index("primary"), keys.index("footway"), keys.index("other")]


def test_every_table_has_other_and_valid_colors():
    for table in (BUILDING_USE_COLORS, ROAD_CLASS_COLORS):
        assert "other" in table
        assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in table.values())


def test_terrain_ramp_ends_and_middle():
    z = np.array([10.0, 20.0, np.nan, 15.0])
    rgb = terrain_colors(z)
    assert rgb[0].tolist() == list(TERRAIN_STOPS[0][1])
    assert rgb[1].tolist() == list(TERRAIN_STOPS[-1][1])
    assert rgb[2].tolist() == rgb[0].tolist()                # NaN gets the lowest colour
    # 15 m is half way: between the stops at 0.30 and 0.55, 0.2/0.25 of the way
    lo, hi = np.array(TERRAIN_STOPS[1][1]), np.array(TERRAIN_STOPS[2][1])
    assert np.allclose(rgb[3], lo + (hi - lo) * 0.8, atol=0.5)
    fixed = terrain_colors([0.0, 100.0], low=0.0, high=200.0)
    assert fixed[0].tolist() == list(TERRAIN_STOPS[0][1])
    assert fixed[1].tolist() != list(TERRAIN_STOPS[-1][1])
