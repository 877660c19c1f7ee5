"""Flood engine cell-updates per second with 1 and 2 threads, on a quiet and on a loaded machine.

A wet grid (``--size`` x ``--size`` cells, 2 m, a sloshing 1 m pool over gentle
noise, closed edges, float32) is advanced for ``--seconds`` of model time with
1 thread, 2 threads and the engine's own choice (``threads=None``); then the
same again while a busy-loop process (``python -c "while True: pass"``, started
and stopped here) holds one core. The engine's choice should never cost more
than one thread does on the loaded machine. Load averages are printed with the
figures: the machine is shared.

    .venv/bin/python benchmarks/flood_threads.py [--size 600] [--seconds 60] [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from simulations.flood import FloodModel


def wet_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 0.05, (size, size))
    y, x = np.mgrid[0:size, 0:size] / size
    h = np.maximum(1.0 + 0.3 * np.sin(6 * x) * np.cos(4 * y) - z, 0.0)
    return z, h


def rate(z, h, threads, seconds: float, repeat: int) -> float:
    """Best cell-updates per second over ``repeat`` runs."""
    best = 0.0
    for _ in range(repeat):
        m = FloodModel(z, 2.0, manning=0.03, threads=threads)
        m.depth = h
        m.advance(seconds)
        s = m.stats()
        best = max(best, s["cell_updates"] / s["wall_s"])
    return best


def table(label: str, z, h, seconds: float, repeat: int) -> dict:
    load = os.getloadavg()[0]
    r = {name: rate(z, h, t, seconds, repeat) for name, t in (("1 thread", 1), ("2 threads", 2),
                                                             ("auto", None))}
    print(f"{label} (load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end):")
    for name, v in r.items():
        print(f"  {name:10s} {v / 1e6:8.1f} M cell-updates/s")
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=600)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    z, h = wet_grid(a.size)
    rate(z, h, 1, 1.0, 1)                       # compile untimed
    rate(z, h, 2, 1.0, 1)
    print(f"{a.size} x {a.size} wet cells, float32, {a.seconds:g} s of model time, best of {a.repeat}")
    table("as found", z, h, a.seconds, a.repeat)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        table("one core held by a busy loop", z, h, a.seconds, a.repeat)
    finally:
        busy.kill()
        busy.wait()


if __name__ == "__main__":
    main()
