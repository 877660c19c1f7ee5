"""Rain on the grid against kinematic-wave solutions and the tilted V-catchment benchmark.

Kinematic wave on a plane of length L, slope S, Manning n, rain i (Wooding
1965; e.g. Chow, Maidment & Mays 1988, 9.4): ``q = alpha h^m`` with
``alpha = sqrt(S)/n`` and ``m = 5/3``; the outflow per unit width rises as
``alpha (i t)^m`` until ``t_e = (L / (alpha i^(m-1)))^(1/m)``, then holds at
``i L``. A burst shorter than ``t_e`` (duration D) gives a plateau at
``alpha (i D)^m`` after the rain stops.

Tilted V-catchment (Di Giammarco et al. 1996; Panday & Huyakorn 2004; Kollet &
Maxwell 2006): two 800 m x 1000 m planes of slope 0.05 towards a 20 m channel
of slope 0.02, n = 0.015 on the planes and 0.15 in the channel, 10.8 mm/h
(3e-6 m/s) for 90 min. The equilibrium outflow is rain x area =
3e-6 x 1620 x 1000 = 4.86 m3/s (MODFLOW 6's SWF reproduces 4.8595 m3/s at
5400 s), reached at about 3000-4000 s, then a recession.

The outflow is read from the volume books (``outflow`` for open edges,
``boundary`` for a held-level sink), so it is the water the engine actually
let go, and every run also closes its balance to round-off.
"""
from __future__ import annotations

import numpy as np
import pytest

from simulations.flood import FloodModel

M = 5.0 / 3.0
MM_H = 1.0 / 3.6e6


def _outflow_series(m: FloodModel, times, key: str = "outflow") -> np.ndarray:
    """Mean outflow rate (m3/s) over each interval between ``times``, from the books."""
    sign = -1.0 if key == "boundary" else 1.0
    vol = [sign * m.balance()[key]]
    for t in times[1:]:
        m.advance(t)
        vol.append(sign * m.balance()[key])
    return np.diff(vol) / np.diff(times)


def _kinematic_rise(t, L, S, n, i):
    """Outflow per unit width (m2/s) of a plane under constant rain (rising limb, equilibrium)."""
    alpha = np.sqrt(S) / n
    return np.minimum(alpha * (i * np.asarray(t)) ** M, i * L)


def _plane(L, S, n, dx, rows=3, dtype="float64"):
    cols = int(round(L / dx))
    z = S * dx * (cols - 1 - np.arange(cols))[None, :] * np.ones((rows, 1))
    return FloodModel(z, dx, manning=n, boundaries={"east": "open"}, dtype=dtype)


# ------------------------------------------------------------ tilted plane
def test_tilted_plane_rising_hydrograph_and_equilibrium():
    L, S, n, rain = 200.0, 0.02, 0.03, 50.0
    i = rain * MM_H
    alpha = np.sqrt(S) / n
    t_e = (L / (alpha * i ** (M - 1))) ** (1 / M)               # 831 s
    m = _plane(L, S, n, 2.0)
    width = 3 * 2.0
    m.set_rainfall([0.0], [rain])
    times = np.arange(0.0, 2.0 * t_e + 30.0, 30.0)
    q = _outflow_series(m, times) / width
    mid = 0.5 * (times[1:] + times[:-1])
    exact = np.array([np.mean(_kinematic_rise(np.linspace(a, b, 31), L, S, n, i))
                      for a, b in zip(times[:-1], times[1:])])
    rising = (mid > 0.4 * t_e) & (mid < 0.9 * t_e)
    assert np.abs(q[rising] / exact[rising] - 1).max() < 0.15
    settled = mid > 1.5 * t_e
    assert np.abs(q[settled] / (i * L) - 1).max() < 0.01           # equilibrium = rain x length
    # the time to reach 95 % of equilibrium is the kinematic t_e within 10 %
    t95 = mid[np.argmax(q >= 0.95 * i * L)]
    assert t95 == pytest.approx(t_e * 0.95 ** (1 / M), rel=0.1)
    assert m.volume_error() < 1e-12


def test_steep_hillslope_burst_plateau_after_a_sudden_wetting_front():
    """A dry 0.3 slope, 800 m long, gets 100 mm/h for 10 min (D < t_e = 870 s): the
    outflow rises as alpha (i t)^m and then holds at alpha (i D)^m (kinematic plateau)."""
    L, S, n, rain, D = 800.0, 0.3, 0.05, 100.0, 600.0
    i = rain * MM_H
    alpha = np.sqrt(S) / n
    t_e = (L / (alpha * i ** (M - 1))) ** (1 / M)
    assert t_e > D
    plateau = alpha * (i * D) ** M                                 # 0.0119 m2/s
    # the plateau lasts until the characteristic from the top arrives
    x_d = alpha * (i * D) ** M / i
    t_end = D + (L - x_d) / (M * alpha * (i * D) ** (M - 1))
    m = _plane(L, S, n, 4.0, dtype="float32")
    m.set_rainfall([0.0, D], [rain])
    times = np.arange(0.0, 3600.0 + 1.0, 20.0)
    q = _outflow_series(m, times) / (3 * 4.0)
    mid = 0.5 * (times[1:] + times[:-1])
    hold = (mid > D + 60.0) & (mid < t_end - 20.0)
    assert hold.sum() > 5
    assert np.abs(q[hold] / plateau - 1).max() < 0.05
    assert q.max() < 1.05 * plateau
    # everything that fell has left or is still on the slope, to float32 round-off
    b = m.balance()
    assert b["rain"] == pytest.approx(i * D * L * 3 * 4.0, rel=1e-5)
    assert m.volume_error() < 1e-5
    assert float(m.depth.min()) >= 0.0


# ----------------------------------------------------------- V-catchment
def v_catchment(dx: float = 20.0, dtype: str = "float64") -> tuple[FloodModel, float]:
    """The tilted V on ``dx`` cells, the channel's outlet a held-level sink one row south.

    Returns the model and the rained-on area (m2)."""
    half = int(round(800.0 / dx))
    cols, rows = 2 * half + 1, int(round(1000.0 / dx))
    x = (np.arange(cols) - half) * dx                 # channel centre at x = 0
    y = (rows - np.arange(rows + 1) - 0.5) * dx       # northing, one extra row for the outlet
    z = np.abs(x)[None, :] * 0.05 + y[:, None] * 0.02
    blocked = np.zeros(z.shape, bool)
    blocked[rows, :] = True
    blocked[rows, half] = False
    n = np.full(z.shape, 0.015)
    n[:, half] = 0.15
    m = FloodModel(z, dx, manning=n, blocked=blocked, dtype=dtype)
    sink = np.zeros(z.shape, bool)
    sink[rows, half] = True
    m.add_level_boundary(sink, [0.0], [float(z[rows, half])])
    rain = np.full((2, *z.shape), 10.8)
    rain[1] = 0.0
    rain[:, rows, :] = 0.0                             # no rain on the outlet row
    m.set_rainfall([0.0, 5400.0], rain)
    return m, float(cols * rows * dx * dx)


def test_tilted_v_catchment_equilibrium_and_recession():
    m, area = v_catchment()
    assert area == pytest.approx(1.62e6)
    times = np.arange(0.0, 10800.0 + 1.0, 60.0)
    q = _outflow_series(m, times, key="boundary")
    mid = 0.5 * (times[1:] + times[:-1])
    q_eq = 3e-6 * area                                             # 4.86 m3/s
    at_5400 = q[np.searchsorted(mid, 5400.0) - 1]
    assert at_5400 == pytest.approx(q_eq, rel=0.03)
    assert q.max() < 1.03 * q_eq                                   # peak within 3 %
    t90 = mid[np.argmax(q >= 0.9 * q_eq)]
    assert 2000.0 < t90 < 4000.0                                   # equilibrium at ~3000-4000 s
    assert q[mid < 600.0].max() < 0.25 * q_eq
    after = q[mid > 5400.0]
    assert np.all(np.diff(after) < 1e-6)                           # recession falls
    assert after[-1] < 0.3 * q_eq
    assert m.volume_error() < 1e-12


@pytest.mark.parametrize("every", [5.0, 600.0])
def test_v_catchment_output_interval_does_not_change_the_run(every):
    """Frames every 5 s or every 600 s: the run finishes and ends in the same state as one
    advance to the end (output times only cut steps)."""
    ref, _ = v_catchment(dx=40.0, dtype="float32")
    ref.advance(1800.0)
    m, _ = v_catchment(dx=40.0, dtype="float32")
    ds = m.run(1800.0, every)
    assert ds.time.size == int(np.ceil(1800.0 / every))
    assert m.volume_error() < 1e-5
    # cut steps change the time discretisation a little: within 1 % of the deepest water
    assert np.abs(m.depth - ref.depth).max() < 0.01 * ref.depth.max()
    assert m.balance()["storage"] == pytest.approx(ref.balance()["storage"], rel=5e-3)
