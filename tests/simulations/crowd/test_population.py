"""Desired speeds: RiMEA test 7 (demographic groups) and the Weidmann default."""
from __future__ import annotations

import numpy as np
import pytest

from simulations.crowd import SPEED_GROUPS, CrowdModel, desired_speeds

RIMEA_TABLE_1 = {"under_30": (0.58, 1.61), "30_to_50": (1.41, 1.54), "over_50": (0.68, 1.41),
                 "impaired": (0.46, 0.76)}
"""RiMEA guideline, Table 1 (walking speeds on the level by group, m/s)."""


def test_groups_use_the_guideline_ranges():
    for group, (lo, hi) in RIMEA_TABLE_1.items():
        assert SPEED_GROUPS[group][2:] == (lo, hi)


def test_weidmann_default_mean_and_spread():
    v = desired_speeds(20_000, rng=np.random.default_rng(3))
    assert abs(v.mean() - 1.34) < 0.02          # truncation at 0.46 / 2.2 is nearly symmetric
    assert 0.22 < v.std() < 0.27


def test_rimea_7_walked_speeds_of_50_adults_per_group_lie_in_the_table_ranges():
    """RiMEA 7: 50 people per group; the speeds they actually walk (distance / time over
    a 40 m straight, each alone in a lane) fall in the group's range."""
    h, n, lanes = 0.5, 50, 4
    rows = n * lanes * 2                          # one 1 m lane per person, 200 m wide
    walk = np.ones((rows, 82), bool)
    exits = np.zeros_like(walk)
    exits[:, -1] = True                           # the line x = 40.5 .. 41 m
    m = CrowdModel(walk, h, exits, seed=7)
    rng = np.random.default_rng(7)
    speeds = {g: desired_speeds(n, g, rng) for g in RIMEA_TABLE_1}
    ids = {}
    for k, g in enumerate(RIMEA_TABLE_1):
        y = 0.5 + np.arange(k * n, (k + 1) * n) * 1.0
        ids[g] = m.add_agents(np.full(n, 0.5), y, desired_speed_ms=speeds[g])
    m.advance(100.0)
    assert m.balance()["exited"] == lanes * n
    for g, (lo, hi) in RIMEA_TABLE_1.items():
        walked = (40.5 - 0.5) / m.exit_times[ids[g]]
        # the exit is registered on the step that crosses the line: at most one step late
        assert walked.min() >= lo * (1 - 0.05 * 1.61 / 40) - 1e-9, g
        assert walked.max() <= hi + 1e-9, g
        np.testing.assert_allclose(walked, speeds[g], rtol=0.01)


def test_bad_group_and_count():
    with pytest.raises(ValueError, match="group"):
        desired_speeds(3, "toddlers")
    with pytest.raises(ValueError, match="n="):
        desired_speeds(-1)
