"""Flood forcing from gauges, design storms and levels, with known answers."""
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


@pytest.mark.parametrize("fill", ["zero", "hold", "stop"])
def test_gauges_that_end_before_the_scenario_are_reported_and_filled(city, fill):
    t = pd.date_range(START, periods=4, freq="5min")                # to +15 min
    city.sensors = sensors([{"id": "G1", "kind": "rain_gauge", "x": X0 + 5, "y": Y0 - 5}],
                           pd.DataFrame({"sensor_id": "G1", "time": t, "value": 30.0}))
    grid = flood_grid(city, CELL)
    if fill == "stop":
        with pytest.raises(DataError, match="no readings after .* runs to"):
            rain_field(city.sensors, grid, START, 3600.0, fill=fill)
        return
    with pytest.warns(DataWarning, match=f"G1 have no readings after.*{fill}"):
        times, field = rain_field(city.sensors, grid, START, 3600.0, fill=fill)
    after = field[times >= 900.0].max()
    assert after == (0.0 if fill == "zero" else 30.0)
    assert field[times < 900.0].min() == 30.0
