"""Tilted V-catchment: this engine's outlet hydrograph against the published benchmark.

Two 800 m x 1000 m planes of slope 0.05 drain to a 20 m channel of slope 0.02
(Manning n 0.015 planes, 0.15 channel); 10.8 mm/h (3e-6 m/s) falls for 90 min,
then the catchment drains. Published (Di Giammarco et al. 1996; Panday &
Huyakorn 2004; Kollet & Maxwell 2006): equilibrium outflow = rain x area =
3e-6 x 1.62e6 m2 = 4.86 m3/s (MODFLOW 6 SWF 4.8595 m3/s at 5400 s), reached
at about 3000-4000 s, then a recession. The channel's outlet is a held-level
sink one row south of the last channel cell (the same set-up as the CI test
``tests/simulations/flood/test_benchmarks_rain.py``), so the outflow is read
from the volume books. The channel is one cell wide: at cells other than 20 m
the rained area (and so the equilibrium) is (2 x 800 + dx) x 1000 m2.

    .venv/bin/python benchmarks/flood_vcatchment.py [--cell-size 20] [--every 600]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from simulations.flood import FloodModel

RAIN = 3e-6


def v_catchment(dx: float, dtype: str) -> tuple[FloodModel, float]:
    """The model and its rained-on area (m2)."""
    half = int(round(800.0 / dx))
    cols, rows = 2 * half + 1, int(round(1000.0 / dx))
    x = (np.arange(cols) - half) * dx
    y = (rows - np.arange(rows + 1) - 0.5) * dx
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
    rain = np.full((2, *z.shape), RAIN * 3.6e6)
    rain[1] = 0.0
    rain[:, rows, :] = 0.0
    m.set_rainfall([0.0, 5400.0], rain)
    return m, float(rows * cols * dx * dx)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cell-size", type=float, default=20.0)
    p.add_argument("--every", type=float, default=600.0, help="reporting interval (s)")
    p.add_argument("--dtype", default="float64")
    a = p.parse_args()
    m, area = v_catchment(a.cell_size, a.dtype)
    q_eq = RAIN * area
    times = np.arange(0.0, 10800.0 + 1.0, 60.0)
    vol = [0.0]
    tic = time.perf_counter()
    for t in times[1:]:
        m.advance(t)
        vol.append(-m.balance()["boundary"])
    wall = time.perf_counter() - tic
    q = np.diff(vol) / 60.0
    end = times[1:]
    print(f"tilted V-catchment at {a.cell_size:g} m ({m.shape[0]} x {m.shape[1]} cells, {a.dtype}); "
          f"wall {wall:.1f} s, load average {os.getloadavg()[0]:.1f}")
    print(f"published equilibrium outflow 4.86 m3/s (rain x 1.62 km2); rain x area here "
          f"{q_eq:.3f} m3/s; peak {q.max():.3f} m3/s ({100 * (q.max() / q_eq - 1):+.2f} %), "
          f"at 5400 s {q[np.searchsorted(end, 5400.0)]:.3f} m3/s")
    t90 = end[np.argmax(q >= 0.9 * q_eq)]
    t99 = end[np.argmax(q >= 0.99 * q_eq)]
    print(f"90 % of equilibrium at {t90:.0f} s, 99 % at {t99:.0f} s (published: ~3000-4000 s)")
    print(f"volume balance error {m.volume_error():.1e} (relative)")
    print(f"\n{'t (min)':>8s} {'Q (m3/s)':>9s} {'Q/Q_eq':>7s}")
    for k in range(len(end)):
        if end[k] % a.every < 1e-6:
            print(f"{end[k] / 60:8.0f} {q[k]:9.3f} {q[k] / q_eq:7.3f}")


if __name__ == "__main__":
    main()
