"""Pregnolato depth-disruption factors, closures by depth, incidents, fixed closures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.engines.traffic.disruption import link_factors, pregnolato_factor
from twin.engines.traffic.settings import Incident


def pregnolato_kmh(w_mm):
    """The published curve, v = 0.0009 w^2 - 0.5529 w + 86.9448 (km/h, w in mm)."""
    return 0.0009 * w_mm ** 2 - 0.5529 * w_mm + 86.9448


@pytest.mark.parametrize("depth_m", [0.0, 0.05, 0.1, 0.2, 0.25, 0.3])
def test_speed_factor_is_the_pregnolato_curve_over_dry_speed(depth_m):
    expected = pregnolato_kmh(depth_m * 1000) / 86.9448
    assert pregnolato_factor(depth_m) == pytest.approx(expected, rel=1e-12)


def test_speed_factor_landmarks():
    f = pregnolato_factor([0.0, 0.1, 0.3, 0.5, 2.0])
    assert f[0] == 1.0
    assert f[1] == pytest.approx(40.6548 / 86.9448)
    assert f[2] < 0.03                                # about 2 km/h near 300 mm
    assert f[3] == f[4] == pytest.approx(f.min())     # held at the curve's minimum beyond it
    assert np.all(np.diff(pregnolato_factor(np.linspace(0, 0.3, 31))) < 0)


def test_roads_close_at_the_closure_depth_and_reopen_when_drained():
    roads = np.array(["R1", "R1", "R2", "R3"])
    wet = pd.Series({"R1": 0.35, "R2": 0.1, "R9": 1.0})
    speed, cap = link_factors(roads, wet, 0.3, np.zeros(4, bool), (), 0.0)
    assert cap.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert speed[2] == pytest.approx(pregnolato_kmh(100) / 86.9448)
    assert speed[3] == 1.0                            # R3 is dry (not in the series)
    drained = pd.Series({"R1": 0.29, "R2": 0.0})
    speed, cap = link_factors(roads, drained, 0.3, np.zeros(4, bool), (), 600.0)
    assert cap.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_incidents_apply_in_their_period_and_closures_always():
    roads = np.array(["R1", "R2", "R3"])
    inc = (Incident("R2", 600.0, 1200.0, 0.25),)
    fixed = np.array([False, False, True])
    for t, expected in ((0.0, [1.0, 1.0, 0.0]), (600.0, [1.0, 0.25, 0.0]),
                        (1200.0, [1.0, 1.0, 0.0])):
        _, cap = link_factors(roads, None, 0.3, fixed, inc, t)
        assert cap.tolist() == expected
