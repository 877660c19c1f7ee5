"""The city on the flood grid: layers from hand-made squares."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

from geodata.errors import DataError, DataWarning
from geodata.storm import storm_depth
from twin.engines.flood.forcing import design_rain, gauge_weights, initial_depth, rain_field, river_level
from twin.engines.flood.grid import flood_grid, locate, lower_ground
from twin.engines.flood.impacts import impacts
from twin.engines.flood.settings import Thresholds

from .conftest import CELL, START, X0, Y0, cell_box, sensors


def test_grid_layers_from_known_squares(city):
    g = flood_grid(city, CELL)
    assert g.shape == (10, 10) and g.cell_size == CELL and g.origin == (X0, Y0)
    expected = np.full((10, 10), -1)
    expected[1:3, 1:3] = 0
    expected[5, 8] = 1                     # smaller than a cell: its cell still counts
    np.testing.assert_array_equal(g.building_index, expected)
    np.testing.assert_array_equal(g.blocked, expected >= 0)
    assert g.x[0] == X0 + 5 and g.y[0] == Y0 - 5
    np.testing.assert_array_equal(g.water["river"], np.arange(10)[:, None].repeat(10, 1) == 9)
    assert g.water["lake"].sum() == 1 and g.water["lake"][4, 8]
    assert (g.manning[:, :5] == 0.1).all() and (g.manning[:, 5:] == 0.015).all()
    assert not g.drained[:, :5].any()                      # parks have no sewers
    assert g.drained[:9, 5:].sum() == 9 * 5 - 1 - 1        # minus shed B and the lake cell
    # ring of A: the 12 cells around its 2 x 2 footprint
    b, r, c = g.building_cells
    ring_a = {(int(rr), int(cc)) for bb, rr, cc in zip(b, r, c) if bb == 0}
    assert ring_a == {(rr, cc) for rr in range(4) for cc in range(4)} - {
        (1, 1), (1, 2), (2, 1), (2, 2)}
    assert (b == 1).sum() == 7                              # not the lake cell (4, 8)
    assert not g.any_water[r, c].any()
    # road R1 along row 4, minus the lake cell it crosses
    rb, rr, rc = g.road_cells
    assert set(rr.tolist()) == {4} and sorted(rc.tolist()) == [0, 1, 2, 3, 4, 5, 6, 7, 9]


def test_raised_buildings_and_resampled_terrain(city):
    g = flood_grid(city, CELL, buildings="raised")
    assert not g.blocked.any()
    assert np.allclose(g.elevation[1:3, 1:3], 31.85)
    assert np.isclose(g.elevation[5, 8], 22.3)
    assert np.isclose(g.elevation[0, 0], 20.0)
    coarse = flood_grid(city, 20.0)
    assert coarse.shape == (5, 5)
    # the average of two columns 20.0 and 19.9 m
    assert np.isclose(coarse.elevation[0, 0], 19.95, atol=1e-4)


def test_lower_ground_and_locate(city):
    g = flood_grid(city, CELL)
    z = lower_ground(g, (X0 + 50, Y0 - 50), 20.0, 19.0)         # a cell corner
    changed = z != g.elevation
    assert changed.sum() == 4 and (z[changed] == 19.0).all()   # the 2 x 2 cells within 10 m
    np.testing.assert_array_equal(np.argwhere(changed), [[4, 4], [4, 5], [5, 4], [5, 5]])
    assert (lower_ground(g, (X0 + 50, Y0 - 50), 20.0, 25.0) == g.elevation).all()
    assert locate(city, "gap") == (X0 + 55, Y0 - 85)
    assert locate(city, (1.0, 2.0)) == (1.0, 2.0)
    with pytest.raises(DataError, match="gap"):
        locate(city, "levee", file="s.toml")


def test_a_canal_narrower_than_a_cell_is_water(city):
    canal = shapely.box(X0 + 2, Y0 - 100, X0 + 4, Y0)          # 2 m wide, inside column 0
    city.water = gpd.GeoDataFrame({"id": ["C1"], "kind": ["canal"]}, geometry=[canal],
                                  crs="EPSG:4547")
    g = flood_grid(city, CELL)
    assert g.water["canal"][:, 0].all() and g.water["canal"].sum() == 10
    assert not (g.road_cells[2] == 0).any()                    # the road bridges it


def test_a_grid_too_large_for_memory_is_refused_before_allocating(city):
    with pytest.raises(DataError, match="flood grid of 0.001 m cells.*larger cell size"):
        flood_grid(city, 0.001)


def test_a_pump_in_a_building_cell_moves_to_the_nearest_open_cell(city):
    from twin.engines.flood import _open_cell
    grid = flood_grid(city, CELL)
    assert grid.blocked[1, 1]                                   # building A
    with pytest.warns(DataWarning, match="moved to the nearest open cell"):
        r, c = _open_cell(grid, 1, 1, "s.toml", "forcing.pumps[0].at")
    assert not grid.blocked[r, c] and max(abs(r - 1), abs(c - 1)) == 1
    assert _open_cell(grid, 5, 5, "s.toml", "k") == (5, 5)
    with pytest.raises(DataError, match="no open cell within 0 cells"):
        _open_cell(grid, 1, 1, "s.toml", "forcing.pumps[0].at", reach=0)
