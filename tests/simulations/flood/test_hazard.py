"""The hazard rating shared by the engine and the twin."""
from __future__ import annotations

import numpy as np

from simulations.flood import SPEED_DEPTH, FloodModel, hazard
from simulations.flood.hazard import cell_speed


def test_hazard_is_depth_times_speed_plus_half_above_the_speed_depth():
    d = np.array([0.0, SPEED_DEPTH, 0.02, 1.0], np.float32)
    v = np.array([5.0, 5.0, 1.0, 2.0], np.float32)
    h = hazard(d, v)
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, [0.0, 0.0, 0.02 * 1.5, 2.5], rtol=1e-6)


def test_cell_speed_averages_the_faces_and_hides_films():
    qx = np.array([[0.0, 0.3, 0.1]])
    qy = np.array([[0.0, 0.0], [0.4, 0.0]])
    h = np.array([[0.1, 0.005]])
    s = cell_speed(qx, qy, h)
    assert s[0, 0] == np.hypot(0.15, 0.2) / 0.1 and s[0, 1] == 0.0


def test_model_outputs_use_the_shared_formula():
    m = FloodModel(np.tile(np.linspace(1.0, 0.0, 20), (6, 1)), 1.0, dtype="float64")
    m.depth[:, :5] = 0.4
    ds = m.run(20.0, 10.0)
    np.testing.assert_array_equal(ds.hazard.values, hazard(ds.depth.values, ds.speed.values))
    assert float(ds.max_hazard.max()) >= float(ds.hazard.max()) > 0
