"""Counters on roads, path incidence, the OD fit against engine counts, the calibrator."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geodata.errors import DataWarning
from simulations.traffic import RoadNetwork, TrafficModel
from twin.engines.traffic.calibration import (Calibrator, fit_od, geh, match_counters,
                                              path_incidence, reading_shape)
from twin.engines.traffic.network import city_network


def test_geh_values():
    # GEH = sqrt(2 (M - C)^2 / (M + C)): 100 vs 0 -> sqrt(200); 1100 vs 1000 -> sqrt(20000/2100)
    np.testing.assert_allclose(geh([100.0, 1100.0, 0.0], [0.0, 1000.0, 0.0]),
                               [np.sqrt(200.0), np.sqrt(20000.0 / 2100.0), 0.0])


def _truth_network():
    """Origins 0, 1 and destinations 2, 3, each pair on its own link (and links back)."""
    up = [0, 0, 1, 1, 2, 3, 2, 3]
    dn = [2, 3, 2, 3, 0, 0, 1, 1]
    return RoadNetwork(up, dn, 600.0, 15.0, 1)


def test_fit_recovers_a_known_od_from_engine_counts():
    net = _truth_network()
    zones = np.array([0, 1, 2, 3])
    truth = np.zeros((4, 4))
    truth[0, 2], truth[0, 3], truth[1, 2], truth[1, 3] = 300.0, 200.0, 100.0, 50.0
    m = TrafficModel(net, dt_s=1.0)
    o, d = np.nonzero(truth)
    m.add_demand(zones[o], zones[d], 0.0, 3600.0, truth[o, d] / 3600.0)
    m.advance(1800.0)
    e0 = m.result()["entered"].values.copy()
    m.advance(3600.0)
    counted = [[0], [1], [2], [3]]
    counts = (m.result()["entered"].values - e0)[[0, 1, 2, 3]] * 2.0   # veh/h, measured
    inc = path_incidence(net, zones, counted)
    prior = np.where(truth > 0, 150.0, 0.0)
    prior[2, 0] = prior[3, 1] = 80.0                 # pairs no counter sees keep their prior
    factors, g = fit_od(prior, inc, counts, strength=0.01)
    fitted = prior * factors
    model = np.einsum("ij,ijk->k", fitted, inc)
    assert geh(model, counts).max() < 5.0
    np.testing.assert_allclose(fitted[o, d], truth[o, d], rtol=0.1)
    np.testing.assert_allclose(fitted[2, 0] / fitted[3, 1], 1.0)


def test_path_incidence_follows_the_fastest_route():
    # 0 -> 2 directly (link 0, 1000 m) or through 1 (links 1, 2, 2 x 200 m)
    net = RoadNetwork([0, 0, 1], [2, 1, 2], [1000.0, 200.0, 200.0], 10.0, 1)
    inc = path_incidence(net, np.array([0, 2]), [[0], [2]])
    assert inc[0, 1].tolist() == [False, True]
    assert not inc[1, 0].any()                       # no way back


def _roads():
    return gpd.GeoDataFrame(
        {"id": ["L1", "A1", "A2"], "class": ["local", "arterial", "arterial"],
         "name": ["Lane", "Avenue", "Avenue"], "lanes": [2, 6, 6],
         "speed_kmh": [30.0, 60.0, 60.0], "oneway": [False, False, False],
         "geometry": [shapely.LineString([(0, 0), (0, 100)]),
                      shapely.LineString([(0, 0), (100, 0)]),
                      shapely.LineString([(100, 0), (200, 0)])]})


def test_counters_match_the_arterial_at_a_junction_and_far_ones_are_warned():
    roads = _roads()
    net = city_network(roads)
    stations = gpd.GeoDataFrame(
        {"id": ["TC1", "TC2", "RG1"], "kind": ["traffic_counter", "traffic_counter", "rain"],
         "geometry": [shapely.Point(0, 0), shapely.Point(500, 500), shapely.Point(0, 0)]})
    with pytest.warns(DataWarning, match="TC2"):
        m = match_counters(stations, roads, net, max_m=60.0)
    assert m["counter"].tolist() == ["TC1"]
    assert m["road"].tolist() == ["A1"]
    assert sorted(net.links.loc[list(m["links"].iloc[0]), "road"]) == ["A1", "A1"]


def test_calibrator_nudges_only_the_pairs_crossing_a_counter():
    inc = np.zeros((2, 2, 2), bool)
    inc[0, 1, 0] = True                               # pair 0->1 crosses counter 0
    cal = Calibrator(inc, gain=0.5, clip=1.5)
    cal.update(300.0, np.array([2000.0, np.nan]), np.array([1000.0, 500.0]))
    assert cal.factor[0, 1] == pytest.approx(1.5 ** 0.5)    # ratio 2 clipped to 1.5
    assert cal.factor[1, 0] == 1.0


def test_a_congested_counter_only_nudges_down():
    inc = np.ones((2, 2, 1), bool)
    cal = Calibrator(inc, gain=1.0, clip=1.5)
    cal.update(300.0, np.array([2000.0]), np.array([1000.0]), hold_up=np.array([True]))
    assert np.all(cal.factor == 1.0)
    cal.update(600.0, np.array([500.0]), np.array([1000.0]), hold_up=np.array([True]))
    np.testing.assert_allclose(cal.factor, 1 / 1.5)


def test_reading_shape_is_each_counters_reading_over_its_period_mean():
    # two counters of different size with the same rise and fall: the shape is theirs,
    # each normalised by its own period mean; a bin without readings is NaN
    t0 = pd.Timestamp("2024-07-05T07:00+08:00")
    minutes = np.arange(0, 120, 5)
    rel = np.where(minutes < 60, 0.5 + minutes / 60.0, 2.5 - minutes / 60.0)   # peak at 1 h
    rows = [pd.DataFrame({"sensor_id": c, "time": t0 + pd.to_timedelta(minutes, unit="min"),
                          "value": size * rel}) for c, size in (("A", 3000.0), ("B", 1000.0))]
    readings = pd.concat(rows, ignore_index=True)
    shape = reading_shape(readings, ["A", "B"], t0, -900.0, 7200.0, 7200.0, bin_s=900.0)
    assert shape[0][:2] == (-900.0, 0.0) and np.isnan(shape[0][2])        # before the data
    f = np.array([s[2] for s in shape[1:]])
    expect = np.array([rel[(minutes >= 15 * k) & (minutes < 15 * (k + 1))].mean()
                       for k in range(8)]) / rel.mean()
    np.testing.assert_allclose(f, expect, rtol=1e-12)
