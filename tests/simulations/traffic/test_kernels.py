"""Kernels: curve interpolation over regular and irregular steps, and the node model."""
from __future__ import annotations

import numpy as np
import pytest

from simulations.traffic import kernels


def test_curve_at_interpolates_regular_steps_in_a_ring():
    size, dt = 5, 2.0
    hist = np.zeros(size)
    values = 3.0 * np.arange(12)                  # N(t) = 1.5 t on steps 0..11
    for j, v in enumerate(values):
        hist[j % size] = v
    k, t_now = 11, 22.0
    for x in (15.0, 16.5, 21.0, 22.0):
        got = kernels.curve_at(hist, 0, size, k, 0, 0.0, np.zeros(size), size, t_now, dt, x)
        assert got == pytest.approx(1.5 * x)
    assert kernels.curve_at(hist, 0, size, k, 0, 0.0, np.zeros(size), size, t_now, dt,
                            -3.0) == 0.0


def test_curve_at_searches_past_an_irregular_step():
    times = np.array([0.0, 1.0, 2.0, 2.5, 3.5, 4.5])        # step 3 was short (0.5 s)
    hist = 2.0 * times                                       # N(t) = 2 t
    n = times.size
    for x in (0.5, 1.7, 2.2, 2.5, 3.0, 4.4):
        got = kernels.curve_at(hist, 0, n, 5, 3, 2.5, times, n, 4.5, 1.0, x)
        assert got == pytest.approx(2.0 * x)


def _split(sij, cap, recv):
    sij = np.asarray(sij, float)
    n_in, n_cols = sij.shape
    alpha = np.zeros(n_in)
    kernels._node_split(n_in, n_cols - 2, sij, np.asarray(cap, float),
                        np.asarray(recv, float).copy(), alpha, np.zeros(n_in, bool),
                        np.zeros(n_cols, bool), np.zeros(n_in))
    return alpha


def test_merge_is_capacity_proportional_when_both_are_supply_constrained():
    # two approaches (capacity 1 and 2) both want 3 into one exit of supply 1.5
    alpha = _split([[3.0, 0, 0], [3.0, 0, 0]], [1.0, 2.0], [1.5])
    flows = alpha * 3.0
    assert flows.sum() == pytest.approx(1.5)
    assert flows[0] / flows[1] == pytest.approx(0.5)


def test_merge_gives_a_demand_constrained_approach_all_it_wants():
    alpha = _split([[0.2, 0, 0], [3.0, 0, 0]], [1.0, 1.0], [1.5])
    assert alpha[0] == 1.0
    assert alpha[1] * 3.0 == pytest.approx(1.3)


def test_diverge_fifo_scales_every_turn_of_an_approach():
    # one approach: 1 to exit A (supply 0.1), 1 to exit B (ample)
    alpha = _split([[1.0, 1.0, 0, 0]], [5.0], [0.1, 10.0])
    assert alpha[0] == pytest.approx(0.1)


def test_tampere_example_with_a_shared_bottleneck_exit():
    # approaches 0 and 1 share exit 0; approach 1 also feeds exit 1
    alpha = _split([[1.0, 0.0, 0, 0], [0.5, 0.5, 0, 0]], [1.0, 1.0], [0.6, 5.0])
    q = np.array([[1.0, 0.0], [0.5, 0.5]]) * alpha[:, None]
    assert q[:, 0].sum() == pytest.approx(0.6)            # supply used fully
    assert q[0, 0] / q[1, 0] == pytest.approx(1.0 / 0.5)  # oriented capacities 1 : 0.5
    assert q[1, 1] == pytest.approx(q[1, 0])              # FIFO keeps the turn ratio
