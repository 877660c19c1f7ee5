"""Levee crests kept on a coarse grid: a river held at 4 m cells is held at 16 m."""
from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from simulations.flood import FloodModel
from twin.engines.flood.levees import crest_mask, keep_crests

FINE = 4.0


def levee_dem(diagonal: bool) -> np.ndarray:
    """64 x 64 cells of 4 m: a river basin (bed 10 m) west of a 2-cell wide levee
    (crest 16 m) and low land (12 m, falling east) beyond it; straight or diagonal."""
    n = 64
    r, c = np.mgrid[0:n, 0:n].astype(float)
    line = c - (r * 0.5 + 16 if diagonal else 24)       # signed distance in cells (roughly)
    z = np.where(line < 0, 10.0, 12.0 - 0.02 * line)
    z[(line >= 0) & (line < 2)] = 16.0
    return z


def coarse_of(z: np.ndarray, k: int) -> np.ndarray:
    return z.reshape(z.shape[0] // k, k, z.shape[1] // k, k).mean(axis=(1, 3))


def water_behind_levee(z: np.ndarray, cell: float, river: np.ndarray) -> float:
    """Volume (m3) that reaches the land side when the river is held at 15 m for 30 min."""
    m = FloodModel(z, cell, dtype="float64")
    m.add_level_boundary(river, [0.0, 1800.0], [15.0, 15.0])
    ds = m.run(1800.0, 1800.0)
    land = (z < 14.0) & ~river
    return float(ds["depth"].isel(time=-1).values[land].sum() * cell * cell)


@pytest.mark.parametrize("diagonal", [False, True])
def test_a_levee_that_holds_at_4m_holds_at_16m(diagonal):
    fine = levee_dem(diagonal)
    ft = Affine(FINE, 0, 0, 0, -FINE, 64 * FINE)
    ct = Affine(4 * FINE, 0, 0, 0, -4 * FINE, 64 * FINE)
    averaged = coarse_of(fine, 4)
    kept = keep_crests(fine, ft, averaged, ct)
    river_f = fine <= 10.0
    river_c = averaged <= 10.0
    assert water_behind_levee(fine, FINE, river_f) < 1.0          # holds on the fine grid
    assert averaged.max() < 15.0                                  # averaging lowered the crest...
    assert water_behind_levee(averaged, 4 * FINE, river_c) > 100.0   # ...and the river overtops
    assert water_behind_levee(kept, 4 * FINE, river_c) < 1.0      # the kept crest holds it
    assert kept.max() == pytest.approx(16.0)


def test_crests_only_on_narrow_ridges():
    z = np.zeros((20, 20))
    z[:, 10] = 3.0                                    # a 1-cell wall
    r, c = np.mgrid[0:20, 0:20]
    hill = 10.0 * np.exp(-((r - 10) ** 2 + (c - 4) ** 2) / 200.0)   # a broad hill
    mask = crest_mask(z + hill, reach=2, rise=0.5)
    assert mask[:, 10].all()
    assert mask[:, :8].sum() <= 2                     # at most the hill's top, never its flanks


def test_finer_target_is_unchanged():
    z = np.arange(16.0).reshape(4, 4)
    t = Affine(1, 0, 0, 0, -1, 4)
    np.testing.assert_array_equal(keep_crests(z, t, z, t), z)
