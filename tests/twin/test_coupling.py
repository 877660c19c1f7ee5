"""City <-> flood coupling on hand-made cities with known answers."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from affine import Affine

from geodata.errors import DataError, DataWarning
from geodata.raster import Raster
from geodata.sensors import SensorTable
from geodata.storm import storm_depth
from twin.city import City
from twin.coupling import (design_rain, flood_grid, gauge_weights, impacts, initial_depth, locate,
                           lower_ground, rain_field, river_level)
from twin.scenario import Thresholds

X0, Y0, CELL = 500000.0, 3360000.0, 10.0
START = pd.Timestamp("2024-07-05T12:00:00+08:00")


def cell_box(r0, c0, r1, c1):
    """Polygon covering cells rows r0..r1-1, cols c0..c1-1."""
    return shapely.box(X0 + c0 * CELL, Y0 - r1 * CELL, X0 + c1 * CELL, Y0 - r0 * CELL)


def sensors(stations: list[dict], readings: pd.DataFrame) -> SensorTable:
    st = gpd.GeoDataFrame(stations, geometry=[shapely.Point(s.pop("x"), s.pop("y"))
                                              for s in stations], crs="EPSG:4547")
    return SensorTable(st.assign(warning=np.nan, alarm=np.nan), readings)


@pytest.fixture
def city() -> City:
    """10 x 10 cells of 10 m, ground 20 m falling 0.1 m per column eastwards;
    building A on cells (1..2, 1..2), a 2 m shed B inside cell (5, 8) by the lake, a
    river on row 9, a road along row 4 crossing a lake cell at (4, 8), parks on cols 0..4."""
    z = (20.0 - 0.1 * np.arange(10))[None, :].repeat(10, axis=0)
    terrain = Raster(z, Affine(CELL, 0, X0, 0, -CELL, Y0), "EPSG:4547")
    buildings = gpd.GeoDataFrame(
        {"id": ["A", "B"], "height": [12.0, 3.0], "base": [19.85, 19.3], "use": ["res", "shed"],
         "population": [40, 0]},
        geometry=[cell_box(1, 1, 3, 3),
                  shapely.box(X0 + 84, Y0 - 56, X0 + 86, Y0 - 54)], crs="EPSG:4547")
    roads = gpd.GeoDataFrame({"id": ["R1"], "class": ["primary"], "lanes": [2]},
                             geometry=[shapely.LineString([(X0 + 5, Y0 - 45), (X0 + 95, Y0 - 45)])],
                             crs="EPSG:4547")
    water = gpd.GeoDataFrame({"id": ["W1", "W2"], "kind": ["river", "lake"], "name": ["Y", "L"]},
                             geometry=[cell_box(9, 0, 10, 10), cell_box(4, 8, 5, 9)],
                             crs="EPSG:4547")
    landuse = gpd.GeoDataFrame({"id": ["L1", "L2"], "class": ["park", "residential"],
                                "manning": [0.1, 0.015]},
                               geometry=[cell_box(0, 0, 10, 5), cell_box(0, 5, 10, 10)],
                               crs="EPSG:4547")
    return City("Tiny", "EPSG:4547", terrain=terrain, buildings=buildings, roads=roads,
                water=water, landuse=landuse, places={"gap": (X0 + 55, Y0 - 85)})


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


def test_idw_and_thiessen_weights():
    x = np.array([5.0, 15.0, 25.0, 35.0])
    y = np.array([25.0, 15.0, 5.0])
    gx, gy = np.array([5.0, 35.0, 20.0]), np.array([25.0, 5.0, 14.0])
    w = gauge_weights(x, y, gx, gy)
    assert w.shape == (12, 3)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_array_equal(w[0], [1, 0, 0])          # cell (0, 0) holds gauge 0
    np.testing.assert_array_equal(w[11], [0, 1, 0])         # cell (2, 3) holds gauge 1
    d = np.hypot(15.0 - gx, 15.0 - gy)                      # cell (1, 1)
    np.testing.assert_allclose(w[5], d ** -2 / (d ** -2).sum())
    t = gauge_weights(x, y, gx, gy, method="thiessen")
    cx, cy = np.meshgrid(x, y)
    nearest = np.argmin(np.hypot(cx.reshape(-1, 1) - gx, cy.reshape(-1, 1) - gy), axis=1)
    np.testing.assert_array_equal(t.argmax(axis=1), nearest)
    np.testing.assert_array_equal(t.sum(axis=1), 1.0)
    with pytest.raises(ValueError):
        gauge_weights(x, y, gx, gy, method="kriging")


def gauge_city(city) -> City:
    times = pd.date_range("2024-07-05T03:00Z", periods=37, freq="5min")
    n = len(times)
    readings = pd.concat([
        pd.DataFrame({"sensor_id": "RG1", "time": times, "value": 10.0}),
        pd.DataFrame({"sensor_id": "RG2", "time": times, "value": 30.0}),
        pd.DataFrame({"sensor_id": "WL1", "time": times, "value": 18.0 + np.arange(n) * 0.01}),
        pd.DataFrame({"sensor_id": "RG3", "time": times - pd.Timedelta("2D"), "value": 99.0}),
    ], ignore_index=True)
    city.sensors = sensors([
        {"id": "RG1", "name": "west", "kind": "rain_gauge", "unit": "mm/h",
         "x": X0 + 5, "y": Y0 - 5},
        {"id": "RG2", "name": "east", "kind": "weather_station", "unit": "mm/h",
         "x": X0 + 95, "y": Y0 - 95},
        {"id": "RG3", "name": "old", "kind": "rain_gauge", "unit": "mm/h", "x": X0 + 50, "y": Y0},
        {"id": "WL1", "name": "river", "kind": "water_level", "unit": "m",
         "x": X0 + 50, "y": Y0 - 95},
    ], readings)
    return city


def test_rain_field_from_gauges(city):
    city = gauge_city(city)
    g = flood_grid(city, CELL)
    with pytest.warns(DataWarning, match="RG3"):
        t, rain = rain_field(city.sensors, g, START, 3600.0)
    assert rain.shape == (len(t), 10, 10) and rain.dtype == np.float32
    assert t[0] == 0 and t[-1] == 3600 and np.all(np.diff(t) == 300)
    np.testing.assert_allclose(rain[:, 0, 0], 10.0)       # at gauge RG1
    np.testing.assert_allclose(rain[:, 9, 9], 30.0)       # at RG2, a weather station
    assert (rain >= 10.0 - 1e-4).all() and (rain <= 30.0 + 1e-4).all()
    np.testing.assert_allclose(rain[:, 4, 5], 20.0, rtol=0.2)   # near the middle
    t, th = rain_field(city.sensors, g, START, 3600.0, method="thiessen", gauges=["RG1", "RG2"])
    assert set(np.unique(th)) == {10.0, 30.0}
    assert th[0, 2, 1] == 10.0 and th[0, 8, 7] == 30.0


def test_rain_field_bad_gauges(city):
    city = gauge_city(city)
    g = flood_grid(city, CELL)
    with pytest.raises(DataError, match="unknown stations RG9"):
        rain_field(city.sensors, g, START, 3600.0, gauges=["RG1", "RG9"], file="s.toml")
    with pytest.raises(DataError, match="not rain gauges: WL1"):
        rain_field(city.sensors, g, START, 3600.0, gauges=["WL1"], file="s.toml")
    with pytest.raises(DataError, match="no rain gauge has readings"):
        rain_field(city.sensors, g, START + pd.Timedelta("30D"), 3600.0, file="s.toml")


def test_river_level_from_gauge(city):
    city = gauge_city(city)
    t, level = river_level(city.sensors, "WL1", START + pd.Timedelta("7min"), 600.0, offset_m=1.0)
    # readings every 5 min from the start; one reading either side of the window
    np.testing.assert_allclose(t, [-120.0, 180.0, 480.0, 780.0])
    np.testing.assert_allclose(level, 19.0 + np.array([13, 14, 15, 16]) * 0.01)  # from 03:00Z
    with pytest.raises(DataError, match="not a water_level"):
        river_level(city.sensors, "RG1", START, 600.0)
    with pytest.raises(DataError, match="not a station"):
        river_level(city.sensors, "XX", START, 600.0)


def test_design_rain_holds_the_storm_depth():
    t, i = design_rain(100, 7200, step_s=300, delay_s=1800, scale=2.0)
    assert i[0] == 0 and i[-1] == 0 and t[-1] == 1800 + 7200
    assert (i[t < 1800] == 0).all()
    depth = np.sum(i[:-1] * np.diff(t)) / 3600
    np.testing.assert_allclose(depth, 2.0 * storm_depth(120.0, 100), rtol=1e-6)


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


def test_initial_depth_fills_water_to_its_level(city):
    city = gauge_city(city)
    g = flood_grid(city, CELL)
    h = initial_depth(g, {"lake": 19.5, "river": 19.55})
    assert h[4, 8] == pytest.approx(0.3, abs=1e-5)             # lake bed 19.2 m (float32 DEM)
    np.testing.assert_allclose(h[9], np.maximum(19.55 - (20.0 - 0.1 * np.arange(10)), 0), atol=1e-5)
    assert h[:9].sum() == pytest.approx(0.3, abs=1e-5)         # nothing on land
    # WL1 reads 18.12 m at the start: below the lake bed, so nothing
    assert initial_depth(g, {"lake": "WL1"}, city.sensors, START).sum() == 0
    with pytest.raises(DataError, match="'flood.initial_levels.sea'"):
        initial_depth(g, {"sea": 1.0})
    with pytest.raises(DataError, match="'flood.initial_levels.lake' names 'RG1'"):
        initial_depth(g, {"lake": "RG1"}, city.sensors, START)


def test_rain_readings_are_means_over_the_interval_ending_at_them(city):
    t = pd.date_range("2024-07-05T04:00Z", periods=4, freq="5min")
    city.sensors = sensors([{"id": "RG1", "name": "a", "kind": "rain_gauge", "unit": "mm/h",
                             "x": X0 + 5, "y": Y0 - 5}],
                           pd.DataFrame({"sensor_id": "RG1", "time": t, "value": [0, 60, 0, 0.0]}))
    times, rain = rain_field(city.sensors, flood_grid(city, CELL), START, 900.0)
    np.testing.assert_array_equal(times, [0, 300, 600, 900])
    np.testing.assert_array_equal(rain[:, 5, 5], [60, 0, 0, 0])     # 5 mm fell in 04:00-04:05
    depth_mm = np.sum(rain[:-1, 5, 5] * np.diff(times)) / 3600
    assert depth_mm == 5.0


def test_a_canal_narrower_than_a_cell_is_water(city):
    canal = shapely.box(X0 + 2, Y0 - 100, X0 + 4, Y0)          # 2 m wide, inside column 0
    city.water = gpd.GeoDataFrame({"id": ["C1"], "kind": ["canal"]}, geometry=[canal],
                                  crs="EPSG:4547")
    g = flood_grid(city, CELL)
    assert g.water["canal"][:, 0].all() and g.water["canal"].sum() == 10
    assert not (g.road_cells[2] == 0).any()                    # the road bridges it
