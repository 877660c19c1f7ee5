"""Flood impacts on a hand-made depth field."""
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


def test_impacts_on_a_hand_made_depth_field(city):
    g = flood_grid(city, CELL)
    depth = np.zeros((3, 10, 10))
    depth[1, 0, 1] = 0.2            # against building A (its ring)
    depth[1, 4, :] = 0.1            # road wet, still open
    depth[2, 3, 3] = 0.5            # A again, deeper
    depth[2, 4, 5] = 0.35           # road closed
    depth[2, 9, :] = 3.0            # the river is not flooding
    depth[2, 1, 1] = 9.0            # inside A's blocked footprint: ignored
    speed = np.zeros_like(depth)
    speed[2, 4, 5] = 2.0
    ds = xr.Dataset({"depth": (("time", "y", "x"), depth), "speed": (("time", "y", "x"), speed)},
                    coords={"time": [0.0, 600.0, 1200.0], "y": g.y, "x": g.x})
    imp = impacts(ds, g, city, Thresholds(), start=START)
    b = imp.buildings.set_index("id")
    assert b.loc["A", "max_depth"] == pytest.approx(0.5)
    assert b.loc["A", "first_flooded_s"] == 600.0 and b.loc["A", "flooded"]
    assert b.loc["A", "first_flooded"] == START + pd.Timedelta("10min")
    # B reads the wet road row beside it (0.1 m), not the lake cell (4, 8)
    assert b.loc["B", "max_depth"] == pytest.approx(0.1) and np.isnan(b.loc["B", "first_flooded_s"])
    assert b.loc["A", "people"] == 40
    r = imp.roads.set_index("id")
    assert r.loc["R1", "max_depth"] == pytest.approx(0.35) and r.loc["R1", "closed_from_s"] == 1200
    np.testing.assert_allclose(imp.building_depth.values, [[0, 0], [0.2, 0.1], [0.5, 0]])
    np.testing.assert_allclose(imp.road_depth.values[:, 0], [0, 0.1, 0.35])
    k = imp.kpis
    # frame 1: 0.2 m cell + 10 road cells at 0.1 m minus the lake cell = 10 cells of 100 m2
    np.testing.assert_allclose(k["flooded_area_m2"], [0, 1000, 200])
    np.testing.assert_allclose(k["max_depth_m"], [0, 0.2, 0.5])
    np.testing.assert_array_equal(k["buildings_flooded"], [0, 1, 1])
    np.testing.assert_array_equal(k["roads_closed"], [0, 0, 1])
    np.testing.assert_array_equal(k["people_affected"], [0, 40, 40])
    assert k["max_hazard_m2s"].iloc[2] == pytest.approx(0.35 * 2.5)
    assert (k["hazard_x"].iloc[2], k["hazard_y"].iloc[2]) == (X0 + 55, Y0 - 45)
    back = type(imp).from_dataset(imp.to_dataset(), imp.kpis, START)
    pd.testing.assert_frame_equal(back.buildings, imp.buildings, check_dtype=False)
