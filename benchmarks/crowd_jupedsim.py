"""Crowd engine vs JuPedSim: 10,000 people leave a 100 m x 100 m square by four 4 m doors.

Both engines run the collision-free speed model (Tordeux et al. 2016) on the
same people (positions, desired speeds, body diameter 0.3 m, time gap 1 s) in
one process, one after the other: ours at its default step (0.05 s) on a 0.5 m
grid with a fast-marching floor field, JuPedSim (``pip install jupedsim``, a
benchmark extra) at its default step (0.01 s) on the exact polygon, each person
walking to the nearest door (in a convex room the nearest door is also the
first reached). Figures: simulated agent-seconds per wall second, their ratio,
evacuation times (last person out) and people per door.

Two runs: (A) the 10,000 people of the title, throughput over the first
``--horizon`` simulated seconds (JuPedSim stops there: at its 0.01 s step a full
evacuation takes hours of wall time on a loaded 2-core machine; ours goes on
to the end and reports its evacuation time); (B) ``--evac-agents`` people in a
``--evac-side`` square with the same four doors, both engines to the last
person out, for the evacuation times side by side.

Run by hand: ``.venv/bin/python benchmarks/crowd_jupedsim.py [--agents N] [--horizon S]``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import time

# GNU OpenMP (numba's threading layer here) spin-waits between parallel regions by
# default: on a shared machine that doubles the CPU of every step. Sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numba
import numpy as np

DOOR, WALL, H = 4.0, 1.0, 0.5


def people(n: int, side: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` people on a jittered lattice in the square (m) and their desired speeds (m/s)."""
    from simulations.crowd import desired_speeds
    rng = np.random.default_rng(seed)
    k = int(np.ceil(np.sqrt(n)))
    g = np.linspace(1.0, side - 1.0, k)
    gx, gy = np.meshgrid(g, g)
    pick = rng.permutation(k * k)[:n]
    jit = 0.25 * (g[1] - g[0])
    x = gx.ravel()[pick] + rng.uniform(-jit, jit, n)
    y = gy.ravel()[pick] + rng.uniform(-jit, jit, n)
    return x, y, desired_speeds(n, rng=rng)


def doors(side: float) -> dict[str, tuple[float, float, float, float]]:
    """Door passages (x0, y0, x1, y1) in room coordinates, through a 1 m wall, centred per side."""
    a, b = side / 2 - DOOR / 2, side / 2 + DOOR / 2
    return {"west": (-WALL, a, 0.0, b), "east": (side, a, side + WALL, b),
            "south": (a, -WALL, b, 0.0), "north": (a, side, b, side + WALL)}


def run_ours(x, y, v0, side: float, horizon: float, threads: int | None):
    from simulations.crowd import CrowdModel
    n = int(round((side + 2 * WALL) / H))
    walk = np.zeros((n, n), bool)
    centre_x = (np.arange(n) + 0.5) * H - WALL              # room coordinates of cell centres
    centre_y = (n - np.arange(n) - 0.5) * H - WALL
    cx, cy = np.meshgrid(centre_x, centre_y)
    walk[(cx > 0) & (cx < side) & (cy > 0) & (cy < side)] = True
    exits = {}
    for name, (x0, y0, x1, y1) in doors(side).items():
        passage = (cx > x0) & (cx < x1) & (cy > y0) & (cy < y1)
        walk |= passage
        outer = passage & ((cx < -WALL + H) | (cx > side + WALL - H) |
                           (cy < -WALL + H) | (cy > side + WALL - H))
        exits[name] = outer
    m = CrowdModel(walk, H, exits, seed=0, threads=threads)
    m.add_agents(x + WALL, y + WALL, desired_speed_ms=v0)
    m.advance(0.05)                                          # compile outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    m.advance(horizon)
    wall, cpu, agent_s = time.perf_counter() - t0, time.process_time() - c0, m.stats()["agent_seconds"]
    while m.balance()["exited"] < x.size and m.time_s < 3600.0:
        m.advance(m.time_s + 10.0)
    per_door = {k: int(v) for k, v in zip(m.exits, m.state().exited.values)}
    evac = float(np.nanmax(m.exit_times)) if m.balance()["exited"] == x.size else np.nan
    return {"agent_s": agent_s, "wall_s": wall, "cpu_s": cpu, "evac_s": evac,
            "per_door": per_door, "sim_s": horizon, "dt": m.dt_s}


def run_jupedsim(x, y, v0, side: float, horizon: float):
    import jupedsim as jps
    from shapely.geometry import Polygon, box
    from shapely.ops import unary_union
    area = unary_union([box(0, 0, side, side)] + [box(*d) for d in doors(side).values()])
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=Polygon(area.exterior))
    targets = {}
    for name, (x0, y0, x1, y1) in doors(side).items():
        if name in ("west", "east"):
            strip = (x0, y0, x0 + H, y1) if name == "west" else (x1 - H, y0, x1, y1)
        else:
            strip = (x0, y0, x1, y0 + H) if name == "south" else (x0, y1 - H, x1, y1)
        stage = sim.add_exit_stage(box(*strip))
        targets[name] = (stage, sim.add_journey(jps.JourneyDescription([stage])),
                         ((x0 + x1) / 2, (y0 + y1) / 2))
    names = list(targets)
    centres = np.array([targets[k][2] for k in names])
    nearest = np.argmin(np.hypot(x[:, None] - centres[:, 0], y[:, None] - centres[:, 1]), axis=1)
    door_of = {}
    for i in range(x.size):
        stage, journey, _ = targets[names[nearest[i]]]
        aid = sim.add_agent(jps.CollisionFreeSpeedModelAgentParameters(
            journey_id=journey, stage_id=stage, position=(float(x[i]), float(y[i])),
            radius=0.15, time_gap=1.0, desired_speed=float(v0[i])))
        door_of[aid] = names[nearest[i]]
    t0, c0 = time.perf_counter(), time.process_time()
    agent_s, dt = 0.0, sim.delta_time()
    while sim.agent_count() > 0 and sim.elapsed_time() < horizon - 1e-9:
        agent_s += sim.agent_count() * dt * 10
        sim.iterate(10)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    evac = sim.elapsed_time() if sim.agent_count() == 0 else np.nan
    return {"agent_s": agent_s, "wall_s": wall, "cpu_s": cpu, "evac_s": evac,
            "per_door": {k: int((nearest == i).sum()) for i, k in enumerate(names)},
            "sim_s": sim.elapsed_time(), "dt": dt}


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def compare(n: int, side: float, horizon: float, threads: int | None) -> None:
    """Run both engines on the same ``n`` people and print one table."""
    x, y, v0 = people(n, side)
    print(f"\n{n} people, {side:g} m square, four {DOOR:g} m doors, horizon {horizon:g} s; "
          f"load: {_load()}")
    rows = {"crowd (ours)": run_ours(x, y, v0, side, horizon, threads),
            "JuPedSim CFSM": run_jupedsim(x, y, v0, side, horizon)}
    print(f"{'engine':<15}{'dt s':>6}{'sim s':>8}{'wall s':>9}{'cpu s':>8}"
          f"{'agent-s/wall s':>16}{'evac s':>9}  people per door")
    for k, r in rows.items():
        print(f"{k:<15}{r['dt']:>6.2f}{r['sim_s']:>8.1f}{r['wall_s']:>9.1f}{r['cpu_s']:>8.1f}"
              f"{r['agent_s'] / r['wall_s']:>16.0f}{r['evac_s']:>9.1f}  {r['per_door']}")
    a, b = rows.values()
    print(f"speed-up, agent-seconds per wall second: "
          f"{(a['agent_s'] / a['wall_s']) / (b['agent_s'] / b['wall_s']):.1f}x; per CPU second: "
          f"{(a['agent_s'] / a['cpu_s']) / (b['agent_s'] / b['cpu_s']):.1f}x; load after: {_load()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--side", type=float, default=100.0)
    ap.add_argument("--horizon", type=float, default=10.0)
    ap.add_argument("--evac-agents", type=int, default=1_000)
    ap.add_argument("--evac-side", type=float, default=40.0)
    ap.add_argument("--threads", type=int, default=None,
                    help="numba threads for ours (default: all; JuPedSim runs on one)")
    args = ap.parse_args()
    print(f"numba threads for ours: {args.threads or 'all'} of {numba.config.NUMBA_NUM_THREADS} "
          f"(OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}); "
          f"ours runs to the last person out in both runs, JuPedSim only in run B")
    if args.agents:
        compare(args.agents, args.side, args.horizon, args.threads)
    if args.evac_agents:
        compare(args.evac_agents, args.evac_side, 3600.0, args.threads)


if __name__ == "__main__":
    main()
