"""Forcing series: checks, packing and the rainfall step convention."""
from __future__ import annotations

import numpy as np
import pytest

from simulations.flood.forcing import MM_H, pack_series, rain_frames, rate_grid, time_series


def test_rain_frames_last_value_holds_or_stops_at_the_last_edge():
    t, f, peak, end = rain_frames([0, 600], [10.0, 20.0], (3, 4), "float64")
    assert end == np.inf and f.shape == (2, 1, 1)
    assert f[1, 0, 0] == pytest.approx(20.0 * MM_H)
    t, f, peak, end = rain_frames([0, 600, 900], [10.0, 20.0], (3, 4), "float64")
    assert end == 900.0 and t.tolist() == [0.0, 600.0]


def test_rain_frames_per_cell_and_peaks():
    i = np.zeros((2, 3, 4))
    i[1, 2, 3] = 72.0
    t, f, peak, end = rain_frames([0, 60], i, (3, 4), "float32")
    assert f.dtype == np.float32 and f.shape == (2, 3, 4)
    assert peak.tolist() == pytest.approx([0.0, 72.0 * MM_H])


@pytest.mark.parametrize("times, values, message", [
    ([0, 60], [1.0, -1.0], "negative"),
    ([0, 60], [1.0, np.nan], "NaN"),
    ([60, 0], [1.0, 1.0], "increase strictly"),
    ([0, 60, 120, 180], [1.0], "intensities"),
    ([], [], "non-empty"),
])
def test_bad_rainfall_is_rejected(times, values, message):
    with pytest.raises(ValueError, match=message):
        rain_frames(times, values, (2, 2), "float64")


def test_time_series_and_packing():
    t, v = time_series([0, 10, 20], [0, 5, 0], "inflow")
    ptr, tt, vv = pack_series([(t, v), (t[:2], v[:2])])
    assert ptr.tolist() == [0, 3, 5] and tt.tolist() == [0, 10, 20, 0, 10]
    with pytest.raises(ValueError, match="one value per time"):
        time_series([0, 10], [1, 2, 3], "inflow")
    assert time_series([0], [-2.0], "level", nonnegative=False)[1].tolist() == [-2.0]


def test_rate_grid_shapes_and_units():
    assert rate_grid(36.0, (2, 3), "x", "rate", "mm/h", MM_H, "float64")[0, 0] == pytest.approx(1e-5)
    assert rate_grid(np.ones((2, 3)), (2, 3), "x", "rate", "mm/h", 1.0, "float32").shape == (2, 3)
    with pytest.raises(ValueError, match="grid is"):
        rate_grid(np.ones((3, 2)), (2, 3), "x", "rate", "mm/h", 1.0, "float64")
