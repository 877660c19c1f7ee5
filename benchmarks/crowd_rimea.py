"""The RiMEA results table of the crowd engine: the measured values behind the CI tests.

The tests in ``tests/simulations/crowd`` assert the guideline's bands; this
script reruns the same scenarios (it imports their geometry helpers) and prints
the numbers, for the benchmark notes.

Run by hand: ``.venv/bin/python benchmarks/crowd_rimea.py``.
"""
from __future__ import annotations

import importlib.util
import subprocess
import time
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parents[1] / "tests" / "simulations" / "crowd"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"crowd_{name}", TESTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rimea_1(CrowdModel) -> str:
    walk = np.zeros((10, 162), bool)
    walk[1:9, 1:161] = True
    exits = np.zeros_like(walk)
    exits[1:9, 161] = True
    m = CrowdModel(walk, 0.25, exits)
    m.add_agents([0.25], [1.25], desired_speed_ms=1.33)
    m.advance(40.0)
    return f"travel time {m.exit_times[0]:.2f} s (band 26-34 s)"


def rimea_4(CrowdModel, tk) -> str:
    out = []
    for rho in (0.5, 1.0, 2.0, 3.0):
        h, length, width = 0.25, 60.0, 4.0
        walk = np.zeros((int(width / h) + 2, int(length / h)), bool)
        walk[1:-1] = True
        exits = np.zeros_like(walk)
        exits[1:-1, -1] = True
        n = int(rho * (length - 2.3) * (width - 0.4))
        pts = tk.spread(n, 0.3, length - 2.0, h + 0.2, width + h - 0.2, np.random.default_rng(1))
        m = CrowdModel(walk, h, exits)
        m.add_agents(pts[:, 0], pts[:, 1], desired_speed_ms=1.34)
        m.advance(10.0)
        p0 = m.positions
        m.advance(20.0)
        sel = (p0[:, 0] > 15) & (p0[:, 0] < 35)
        v = float(np.mean((m.positions[sel, 0] - p0[sel, 0]) / 10.0))
        d = sel.sum() / (20.0 * width)
        out.append(f"rho {d:.2f}: v {v:.2f} (Weidmann {tk.weidmann(d):.2f})")
    return "; ".join(out) + " m/s (band +/-0.15 m/s)"


def rimea_9(CrowdModel, tm) -> str:
    doors = {"w_north": ("west", 17.0, 1.0), "w_south": ("west", 3.0, 1.0),
             "e_north": ("east", 17.0, 1.0), "e_south": ("east", 3.0, 1.0)}
    walk, exits, off = tm.room(30.0, 20.0, 0.5, doors, wall=1.0)
    x, y = tm.lattice(1000, 0.6, 29.4, 0.6, 19.4, np.random.default_rng(9))
    times = []
    for closed in ([], ["e_north", "e_south"]):
        m = CrowdModel(walk, 0.5, exits, seed=9)
        for name in closed:
            m.close_exit(name)
        m.add_agents(x + off, y + off)
        times.append(tm.evacuate(m))
    return (f"4 exits {times[0]:.1f} s, 2 exits {times[1]:.1f} s, ratio {times[1] / times[0]:.2f} "
            f"(band 1.6-2.4); {1000 / times[1] / 2:.2f} persons/s per door with two open")


def rimea_12(CrowdModel, tm) -> str:
    h = 0.25
    walk = np.zeros((40, 120), bool)
    walk[:, :40] = True
    walk[18:22, 40:80] = True
    walk[:, 80:119] = True
    walk[18:22, 119] = True
    exits = np.zeros_like(walk)
    exits[18:22, 119] = True
    m = CrowdModel(walk, h, exits, seed=12)
    x, y = tm.lattice(150, 0.5, 8.0, 0.5, 9.5, np.random.default_rng(12))
    m.add_agents(x, y)
    tm.evacuate(m, step=10.0)
    peak = m.result().peak_density.values
    cx, cy = np.meshgrid((np.arange(120) + 0.5) * h, 10.0 - (np.arange(40) + 0.5) * h)
    a = peak[(cx < 10) & (np.hypot(cx - 10, cy - 5) < 2.0)].max()
    b = peak[(cx > 20) & (cx < 29.75) & (np.hypot(cx - 29.75, cy - 5) < 2.0)].max()
    return (f"peak density before the corridor {a:.2f}, before the exit {b:.2f} persons/m2 "
            f"(jam > 2.5, free < 1.5)")


def bottleneck(tk) -> str:
    widths = (1.0, 1.6, 2.2)
    res = [tk.bottleneck_flow(w) for w in widths]
    flows = ", ".join(f"{w:.1f} m: {j:.2f} p/s ({j / w:.2f} p/(m s))" for w, (j, _) in zip(widths, res))
    return f"{flows}; closest pair {min(r[1] for r in res):.3f} m (body 0.3 m)"


def main() -> None:
    from simulations.crowd import CrowdModel
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load: {load}")
    tk, tm = _module("test_kernels"), _module("test_model")
    for name, fn in (("RiMEA 1", lambda: rimea_1(CrowdModel)),
                     ("RiMEA 4", lambda: rimea_4(CrowdModel, tk)),
                     ("RiMEA 9", lambda: rimea_9(CrowdModel, tm)),
                     ("RiMEA 12", lambda: rimea_12(CrowdModel, tm)),
                     ("bottleneck", lambda: bottleneck(tk))):
        t0 = time.perf_counter()
        print(f"| {name} | {fn()} | {time.perf_counter() - t0:.1f} s wall |")


if __name__ == "__main__":
    main()
