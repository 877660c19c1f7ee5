"""Zones, the gravity model and the daily profile."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from twin.engines.traffic.demand import (ATTRACTION_WEIGHTS, PROFILES, city_zones, gravity,
                                         profile_rate)


def test_gravity_is_production_constrained_and_follows_the_deterrence():
    p, a = np.array([1000.0, 400.0, 0.0]), np.array([1.0, 2.0, 3.0])
    t = np.array([[0.0, 5.0, 15.0], [5.0, 0.0, 10.0], [15.0, 10.0, 0.0]])
    od = gravity(p, a, t, beta=0.1)
    np.testing.assert_allclose(od.sum(axis=1), p)
    assert np.all(np.diag(od) == 0)
    # from zone 0: T_01 / T_02 = (A_1 e^{-0.5}) / (A_2 e^{-1.5}) = 2/3 e^{1}
    np.testing.assert_allclose(od[0, 1] / od[0, 2], 2.0 / 3.0 * np.e)


def test_gravity_sends_nothing_where_there_is_no_path():
    t = np.array([[0.0, np.inf], [np.inf, 0.0]])
    np.testing.assert_array_equal(gravity([10.0, 10.0], [1.0, 1.0], t), 0.0)


def _box(x, y, side=20.0):
    return shapely.box(x, y, x + side, y + side)


def test_zones_sum_residents_and_scale_jobs_to_the_productions():
    b = gpd.GeoDataFrame({
        "use": ["residential", "residential", "office", "school"],
        "population": [300, 100, 10, 0], "storeys": [5, 2, 10, 2],
        "geometry": [_box(10, 10), _box(60, 10), _box(700, 10), _box(720, 40)]})
    nodes = np.array([[0.0, 0.0], [100.0, 0.0], [700.0, 0.0], [2000.0, 0.0]])
    core = np.array([True, True, True, False])
    z = city_zones(b, nodes, core, zone_size_m=500.0, trips_per_resident=2.0).table
    assert len(z) == 2
    home = z[z["residents"] > 0].iloc[0]
    assert home["residents"] == 400                  # the office's 10 people are not residents
    assert home["productions"] == 800
    np.testing.assert_allclose(z["attractions"].sum(), z["productions"].sum())
    work = z[z["residents"] == 0].iloc[0]
    assert work["node"] == 2
    # the residential floor also attracts a little (visits)
    jobs_home = 400 * 5 * ATTRACTION_WEIGHTS["residential"] + 400 * 2 * \
        ATTRACTION_WEIGHTS["residential"]
    jobs_work = 400 * 10 * ATTRACTION_WEIGHTS["office"] + 400 * 2 * ATTRACTION_WEIGHTS["school"]
    np.testing.assert_allclose(work["attractions"] / home["attractions"], jobs_work / jobs_home)


def test_gateways_become_external_zones():
    b = gpd.GeoDataFrame({"use": ["residential", "office"], "population": [100, 0],
                          "storeys": [1, 1], "geometry": [_box(0, 0), _box(600, 0)]})
    nodes = np.array([[0.0, 0.0], [600.0, 0.0], [900.0, 0.0]])
    z = city_zones(b, nodes, np.ones(3, bool), trips_per_resident=1.0, gateways=[2],
                   external_share=0.5).table
    ext = z[z["kind"] == "external"]
    assert ext["zone"].tolist() == ["X01"] and ext["node"].tolist() == [2]
    assert ext["productions"].iloc[0] == pytest.approx(100.0)   # half of all trip ends


def test_profiles_sum_to_one_with_a_morning_peak():
    for p in PROFILES.values():
        assert p.shape == (24,) and p.sum() == pytest.approx(1.0)
    wd = PROFILES["weekday"]
    assert wd[7:9].min() > 1.5 * wd[10:15].mean() and wd.argmax() in (7, 8)


def test_profile_rate_splits_at_local_hours():
    p = np.arange(24, dtype=float)
    start = pd.Timestamp("2024-07-05T07:30:00+08:00")
    pieces = profile_rate(p, start, -900.0, 3600.0)
    assert [(a, b) for a, b, _ in pieces] == [(-900.0, 1800.0), (1800.0, 3600.0)]
    assert [r * 3600 for _, _, r in pieces] == [7.0, 8.0]
