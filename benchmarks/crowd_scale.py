"""Crowd engine at city scale: 100,000 people on a 600 m x 600 m area with buildings.

A 0.5 m grid (1.44 million cells) with ~200 random rectangular buildings (8-40 m)
and eight 10 m gaps in the fence round the area as exits; people stand at random
on open ground (about 0.4 persons/m2), desired speeds 1.34 +/- 0.26 m/s. Figures:
the floor-field solve, adding the people, wall time per simulated second while
everyone walks, a ``set_blocked`` exchange (a flooded band, all fields
recomputed) and peak memory (RSS).

Run by hand: ``.venv/bin/python benchmarks/crowd_scale.py [--agents N] [--seconds S] [--cell M]``.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time

# GNU OpenMP (numba's threading layer here) spin-waits between parallel regions by
# default: on a shared machine that doubles the CPU of every step. Sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def area(side: float, h: float, seed: int = 0):
    """Walkable grid (fence and buildings excluded) and its eight exits."""
    n = int(round(side / h))
    rng = np.random.default_rng(seed)
    walk = np.ones((n, n), bool)
    walk[[0, -1], :] = False
    walk[:, [0, -1]] = False
    for _ in range(200):
        w, d = rng.uniform(8, 40, 2)
        x0, y0 = rng.uniform(15, side - 55, 2)
        walk[int(y0 / h):int((y0 + d) / h), int(x0 / h):int((x0 + w) / h)] = False
    exits = np.zeros_like(walk)
    gap = int(10 / h)
    for frac in (0.25, 0.75):
        k = int(frac * n)
        exits[0, k:k + gap] = exits[-1, k:k + gap] = True
        exits[k:k + gap, 0] = exits[k:k + gap, -1] = True
    walk[exits] = True
    return walk, exits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--side", type=float, default=600.0)
    ap.add_argument("--cell", type=float, default=0.5)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    from simulations.crowd import CrowdModel
    h = args.cell
    print(f"{args.agents} people, {args.side:g} m square at {h:g} m cells; load: {_load()}")
    walk, exits = area(args.side, h)
    t0 = time.perf_counter()
    m = CrowdModel(walk, h, exits, seed=0)
    t_field = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    free = np.flatnonzero(walk.ravel() & ~exits.ravel())
    cells = rng.choice(free, args.agents, replace=False)
    rows, cols = np.divmod(cells, walk.shape[1])
    x = (cols + rng.uniform(0.2, 0.8, args.agents)) * h
    y = (walk.shape[0] - rows - rng.uniform(0.2, 0.8, args.agents)) * h
    t0 = time.perf_counter()
    m.add_agents(x, y)
    t_add = time.perf_counter() - t0
    m.advance(0.1)                                            # compile outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    m.advance(0.1 + args.seconds)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    band = np.zeros_like(walk)
    band[int(0.45 * walk.shape[0]):int(0.5 * walk.shape[0]), :] = True
    t0 = time.perf_counter()
    m.set_blocked(band & walk & ~exits)
    t_block = time.perf_counter() - t0
    b = m.balance()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"floor field (1 solve, {walk.size / 1e6:.2f} M cells): {t_field:.1f} s; "
          f"add_agents: {t_add:.1f} s")
    print(f"advance {args.seconds:g} s with {args.agents} people: wall {wall:.1f} s "
          f"({wall / args.seconds:.2f} s per simulated s, {m.stats()['steps']} steps), cpu {cpu:.1f} s; "
          f"{args.agents * args.seconds / wall:.0f} agent-s per wall s")
    print(f"set_blocked (flooded band, fields recomputed): {t_block:.1f} s; account: {b}")
    print(f"peak RSS {rss:.0f} MB; load after: {_load()}")


if __name__ == "__main__":
    main()
