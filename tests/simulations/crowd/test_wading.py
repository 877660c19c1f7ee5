"""Walking in standing water: the published speed loss, and people in a CrowdModel
walking slower through water and taking a dry detour when it is quicker."""
from __future__ import annotations

import numpy as np
import pytest

from simulations.crowd import CrowdModel, wading_speed_factor
from simulations.crowd.wading import WADING_DEPTH_M


def test_the_factor_matches_the_experiment_and_is_monotone():
    # Li et al. 2026: -38.6 % (men) and -44.8 % (women) from dry ground to 0.35 m
    assert float(wading_speed_factor(0.35)) == pytest.approx(1 - 0.417, abs=1e-6)
    assert float(wading_speed_factor(0.0)) == 1.0
    d = np.linspace(-0.1, 1.0, 200)
    f = wading_speed_factor(d)
    assert (np.diff(f) <= 0).all() and f.min() > 0.5 and f.max() == 1.0
    assert float(wading_speed_factor(np.nan)) == 1.0           # no data is dry


def corridor(length=30.0, h=0.5, width=2.0):
    rows, cols = int(width / h), int(length / h)
    walk = np.ones((rows, cols), bool)
    exits = np.zeros_like(walk)
    exits[:, -1] = True
    return walk, exits


@pytest.mark.parametrize("depth", [0.1, 0.2, WADING_DEPTH_M])
def test_one_person_wades_a_flooded_corridor_at_the_reduced_speed(depth):
    """Free walk over L metres of water: t = L / (v0 * factor(depth))."""
    walk, exits = corridor()
    m = CrowdModel(walk, 0.5, exits)
    m.set_speed_factor(np.full(walk.shape, wading_speed_factor(depth)))
    m.add_agents([1.0], [1.0], desired_speed_ms=1.2)
    m.advance(120.0)
    distance = 30.0 - 0.5 - 1.0                      # to the exit column's near edge
    expected = distance / (1.2 * float(wading_speed_factor(depth)))
    assert float(m.exit_times[0]) == pytest.approx(expected, rel=0.03)


def test_people_take_a_dry_detour_when_it_is_quicker_and_wade_when_it_is_not():
    """A 30 m x 20 m yard split by a wall with two gaps: the direct one in a 20 m long band
    of water 0.35 m deep, the other dry at the north edge. Wading costs 20 / 0.583 - 20 =
    14.3 m of extra dry walking, the detour about 6-8 m: people go round. In ankle-deep
    water (0.05 m) wading costs 1.3 m: they wade."""
    h = 0.5
    rows, cols = 40, 60                                      # 20 m x 30 m
    walk = np.ones((rows, cols), bool)
    walk[:, 28:32] = False                                   # a wall at x = 14-16 m
    walk[18:22, 28:32] = True                                # the short, wet gap (mid-yard)
    walk[0:4, 28:32] = True                                  # the dry gap at the north edge
    exits = np.zeros_like(walk)
    exits[18:22, -1] = True
    wet = np.zeros_like(walk)
    wet[16:24, 10:50] = True                                 # y 8-12 m, x 5-25 m
    m = CrowdModel(walk, h, exits)
    m.set_speed_factor(np.where(wet, wading_speed_factor(WADING_DEPTH_M), 1.0))
    m.add_agents([3.0], [10.0], desired_speed_ms=1.2)
    north = False
    for t in np.arange(0.5, 120.0, 0.5):
        m.advance(t)
        p = m.positions[0]
        if np.isfinite(p[0]) and 14.0 < p[0] < 16.0:
            north |= p[1] > 17.0
    assert m.balance()["exited"] == 1 and north, "took the wet gap although the dry one is quicker"

    shallow = CrowdModel(walk, h, exits)
    shallow.set_speed_factor(np.where(wet, wading_speed_factor(0.05), 1.0))
    shallow.add_agents([3.0], [10.0], desired_speed_ms=1.2)
    for t in np.arange(0.5, 120.0, 0.5):
        shallow.advance(t)
        p = shallow.positions[0]
        if np.isfinite(p[0]) and 14.0 < p[0] < 16.0:
            assert p[1] < 12.0, "went round although ankle-deep water is quicker"
    assert shallow.balance()["exited"] == 1


@pytest.mark.parametrize("factor, match", [
    (np.ones((2, 2)), "shape"),
    (np.zeros((4, 60)), r"\(0, 1\]"),
    (np.full((4, 60), 1.5), r"\(0, 1\]"),
    (np.full((4, 60), np.nan), r"\(0, 1\]"),
])
def test_bad_speed_factors_are_named(factor, match):
    walk, exits = corridor()
    m = CrowdModel(walk, 0.5, exits)
    with pytest.raises(ValueError, match=match):
        m.set_speed_factor(factor)
