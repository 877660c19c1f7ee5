"""Issue 14: rain on steep terrain never stalls, and a run that cannot go on says where.

Before the fix, uniform rain on a steep DEM (4 m cells, slopes up to 0.6) with
``run(400, 400)`` never returned: once the film passed the wet depth, one 10 s
step sent some hundred times each cell's water downhill and the serial
negative-depth repair cascaded through billions of cell visits. The synthetic
hill below has the same character (4 m cells, 60 m relief, slopes to 0.59);
the old engine did not finish it in a minute, this one takes about a second.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from simulations.flood import FloodModel, FloodStallError

TERRAIN = Path(__file__).resolve().parents[3] / "data_samples" / "ezhou" / "terrain.tif"


def steep_hill(n: int = 100, dx: float = 4.0, relief: float = 60.0) -> np.ndarray:
    """Two Gaussian hills with a little noise: slopes up to about 0.6 on 4 m cells."""
    y, x = np.mgrid[0:n, 0:n] * dx
    L = n * dx
    z = relief * np.exp(-(((x - 0.4 * L) / (0.3 * L)) ** 2 + ((y - 0.5 * L) / (0.35 * L)) ** 2))
    z += 0.5 * relief * np.exp(-(((x - 0.8 * L) / (0.15 * L)) ** 2
                                 + ((y - 0.2 * L) / (0.2 * L)) ** 2))
    return z + np.random.default_rng(0).normal(0.0, 0.3, z.shape) + 10.0


def _max_slope(z, dx):
    gy, gx = np.gradient(z, dx)
    return float(np.hypot(gx, gy).max())


@pytest.mark.parametrize("every", [400.0, 5.0])
def test_rain_on_a_steep_hill_returns(every):
    z = steep_hill()
    assert _max_slope(z, 4.0) > 0.5
    m = FloodModel(z, 4.0)
    m.set_rainfall([0], [20.0])
    tic = time.perf_counter()
    ds = m.run(400.0, every)
    assert time.perf_counter() - tic < 60.0          # the old engine never came back
    assert m.time_s == 400.0
    assert float(ds.depth.min()) >= 0.0
    assert m.volume_error() < 1e-5                   # float32 books
    # 20 mm/h for 400 s is 2.2 mm; runoff gathers it in the hollows but no cell
    # holds more than the whole hill's rain and nothing moves at absurd speed
    assert float(ds.max_speed.max()) < 3.0
    s = m.stats()
    assert s["steps"] < 2000 and s["min_dt"] > 0


def test_thin_sheet_flow_on_a_steep_plane_stays_bounded():
    """A 1 mm film on a 0.5 slope: with implicit friction the flux is at most the Manning
    steady value, so the film drains without any cell going dry in a single step."""
    z = np.tile(np.linspace(100.0, 0.0, 51), (8, 1)) * (0.5 * 4.0 * 50 / 100.0)
    m = FloodModel(z, 4.0, manning=0.03, boundaries={"east": "open"}, dtype="float64")
    m.depth = 2e-3
    m.run(10.0, 10.0)
    q_manning = (2e-3) ** (5 / 3) * np.sqrt(0.5) / 0.03
    q = np.abs(m._s.qxb[m._parity]).max()          # the engine's own face fluxes
    assert q <= 1.5 * q_manning
    assert m.volume_error() < 1e-12


@pytest.mark.skipif(not TERRAIN.exists(), reason=f"sample terrain {TERRAIN} absent")
def test_rain_on_the_sample_terrain_returns():
    rasterio = pytest.importorskip("rasterio", reason="rasterio reads the sample terrain")
    with rasterio.open(TERRAIN) as f:
        z = f.read(1).astype(np.float64)
        dx = float(f.res[0])
    r, c = np.unravel_index(np.argmax(np.hypot(*np.gradient(z, dx))), z.shape)
    r0, c0 = max(r - 100, 0), max(c - 100, 0)
    crop = z[r0:r0 + 200, c0:c0 + 200]           # the steepest 200 x 200 cells
    assert _max_slope(crop, dx) > 0.5
    m = FloodModel(crop, dx)
    m.set_rainfall([0], [20.0])
    ds = m.run(400.0, 400.0)
    assert m.time_s == 400.0 and float(ds.depth.min()) >= 0.0
    assert m.volume_error() < 1e-5


def test_a_step_below_min_dt_stops_with_the_cell_named():
    """Deep water makes the Courant step 0.02 s; with min_dt = 0.5 s the run must stop at
    once, naming the time, the cell and its depth, instead of crawling."""
    z = np.zeros((10, 10))
    z[3, 7] = -2.0
    m = FloodModel(z, 1.0, min_dt=0.5, dtype="float64")
    m.depth = 100.0
    m.depth[3, 7] = 102.0
    with pytest.raises(FloodStallError, match=r"t = 0\.000 s.*row 3, col 7.*depth 102 m") as err:
        m.advance(10.0)
    assert isinstance(err.value, RuntimeError)
    assert err.value.cell == (3, 7) and err.value.depth_m == 102.0
    assert err.value.slope == pytest.approx(2.0)
    assert m.time_s == 0.0
