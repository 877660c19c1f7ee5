"""Kernel density: head count kept in open ground, no dilution against walls, 0 on walls."""
from __future__ import annotations

import numpy as np

from simulations.crowd.density import DensityGrid


def test_head_count_is_kept_in_open_ground():
    rng = np.random.default_rng(0)
    xy = rng.uniform(15.0, 25.0, (300, 2))
    d = DensityGrid(np.ones((40, 40), bool), 1.0, 0.7)(xy)
    assert abs(d.sum() - 300) < 1e-9


def test_uniform_crowd_against_a_wall_reads_its_true_density():
    walk = np.ones((40, 40), bool)
    walk[:, :10] = False                                    # a wall west of x = 10 m
    h = 0.5                                                 # grid 20 m x 20 m
    g = np.arange(5.25, 15.0, 0.5)                          # 4 persons/m2 from the wall on
    gx, gy = np.meshgrid(g, g)
    d = DensityGrid(walk, h, 0.7)(np.column_stack([gx.ravel(), gy.ravel()]))
    assert (d[:, :10] == 0).all()
    inner = d[12:28, 10:20]                                 # next to the wall, inside the crowd
    np.testing.assert_allclose(inner, 4.0, rtol=0.05)
