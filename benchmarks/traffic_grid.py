"""Traffic engine on the common grid, side by side with UXsim (C++ and Python) and SUMO meso.

The case: a 10 x 10 grid of nodes 500 m apart joined by single-lane links both
ways (360 links, 13.89 m/s, jam density 0.2 veh/m, so 2647 veh/h per lane);
400 origin-destination pairs from each boundary node to each node on the
opposite boundary (west <-> east, south <-> north), 25 veh/h each for 1 h
(10,000 vehicles); every code runs to ``--until-s`` (all trips done) with
dynamic route choice (re-routing every 300 s on current travel times).

Reported per code: wall and CPU time (and their ratios to this engine's at
its default step; the machine is shared, so CPU time is the steadier
figure), trips completed and the mean travel time from the demanded
departure (origin queue included), and its ratio to UXsim C++'s. This engine
runs twice: at its default step (2 s here) and at 5 s, UXsim's step for
platoons of 5 vehicles.

    .venv/bin/pip install uxsim eclipse-sumo         # benchmark-only extras
    .venv/bin/python benchmarks/traffic_grid.py [--skip-python-uxsim] [--until-s 10800]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from simulations.traffic import RoadNetwork, TrafficModel

SIDE = 10
SPACING = 500.0
SPEED = 13.89
FLOW_VPH = 25.0
DEMAND_S = 3600.0


def grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(upstream, downstream, node xy) of the grid; node ``i = row * SIDE + col``."""
    ups, dns = [], []
    for r in range(SIDE):
        for c in range(SIDE):
            i = r * SIDE + c
            if c + 1 < SIDE:
                ups += [i, i + 1]
                dns += [i + 1, i]
            if r + 1 < SIDE:
                ups += [i, i + SIDE]
                dns += [i + SIDE, i]
    xy = np.array([(c * SPACING, r * SPACING) for r in range(SIDE) for c in range(SIDE)])
    return np.array(ups), np.array(dns), xy


def od_pairs() -> list[tuple[int, int]]:
    """Boundary node to every node of the opposite boundary, both ways (400 pairs)."""
    west = [r * SIDE for r in range(SIDE)]
    east = [r * SIDE + SIDE - 1 for r in range(SIDE)]
    south = list(range(SIDE))
    north = [(SIDE - 1) * SIDE + c for c in range(SIDE)]
    pairs = []
    for a, b in ((west, east), (east, west), (south, north), (north, south)):
        pairs += [(o, d) for o in a for d in b]
    return pairs


def run_ours(until_s: float, dt_s: float | None = None) -> dict:
    up, dn, _ = grid()
    net = RoadNetwork(up, dn, SPACING, SPEED, 1)
    pairs = np.array(od_pairs())
    start, cpu = time.perf_counter(), time.process_time()
    m = TrafficModel(net, routing="dynamic", reroute_every_s=300.0, dt_s=dt_s)
    m.add_demand(pairs[:, 0], pairs[:, 1], 0.0, DEMAND_S, FLOW_VPH / 3600.0)
    m.advance(until_s)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    tt = m.travel_time_stats()
    b = m.balance()
    return {"code": f"this engine (LTM, dt {m.dt_s:g} s)", "wall_s": wall, "cpu_s": cpu,
            "completed": b["arrived"], "mean_tt_s": tt["mean_s"],
            "note": f"{m.stats()['steps']} steps, balance error {b['error']:.1e}"}


def run_uxsim(until_s: float, cpp: bool) -> dict:
    from uxsim import World
    up, dn, xy = grid()
    start, cpu = time.perf_counter(), time.process_time()
    w = World(name="grid", deltan=5, tmax=until_s, print_mode=0, save_mode=0, show_mode=0,
              random_seed=0, duo_update_time=300, cpp=cpp)
    for i, (x, y) in enumerate(xy):
        w.addNode(f"n{i}", x, y)
    for k, (a, b) in enumerate(zip(up, dn)):
        w.addLink(f"l{k}", f"n{a}", f"n{b}", length=SPACING, free_flow_speed=SPEED,
                  jam_density=0.2, number_of_lanes=1)
    for o, d in od_pairs():
        w.adddemand(f"n{o}", f"n{d}", 0, DEMAND_S, FLOW_VPH / 3600.0)
    w.exec_simulation()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    w.analyzer.basic_analysis()
    a = w.analyzer
    return {"code": f"UXsim {'C++' if cpp else 'Python'} (deltan 5)", "wall_s": wall,
            "cpu_s": cpu,
            "completed": float(a.trip_completed), "mean_tt_s": float(a.average_travel_time),
            "note": f"{a.trip_all} trips"}


def _tool(name: str) -> str:
    """A SUMO program: on PATH, or beside this Python (the eclipse-sumo wheel's scripts)."""
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def _sumo_files(folder: Path, until_s: float) -> Path:
    """SUMO grid network (netgenerate) and flows between junctions; returns the config."""
    net = folder / "grid.net.xml"
    subprocess.run([_tool("netgenerate"), "--grid",
                    "--grid.number", str(SIDE), "--grid.length", str(SPACING),
                    "--default.lanenumber", "1", "--default.speed", str(SPEED),
                    "--no-turnarounds", "true", "--tls.guess", "false",
                    "--default.junctions.keep-clear", "false",
                    "-o", str(net)], check=True, capture_output=True)
    name = lambda i: f"{chr(ord('A') + i % SIDE)}{i // SIDE}"   # noqa: E731 netgenerate ids
    flows = [f'  <flow id="f{k}" fromJunction="{name(o)}" toJunction="{name(d)}" begin="0" '
             f'end="{DEMAND_S:g}" vehsPerHour="{FLOW_VPH:g}" departLane="best" '
             f'departSpeed="max"/>' for k, (o, d) in enumerate(od_pairs())]
    (folder / "flows.rou.xml").write_text("<routes>\n" + "\n".join(flows) + "\n</routes>\n")
    cfg = folder / "grid.sumocfg"
    cfg.write_text(f"""<configuration>
  <input><net-file value="grid.net.xml"/><route-files value="flows.rou.xml"/></input>
  <time><begin value="0"/><end value="{until_s:g}"/></time>
  <processing><junction-taz value="true"/></processing>
  <mesoscopic><mesosim value="true"/></mesoscopic>
  <routing><device.rerouting.probability value="1"/>
           <device.rerouting.period value="300"/></routing>
  <report><no-step-log value="true"/><duration-log.statistics value="true"/></report>
  <output><tripinfo-output value="trips.xml"/></output>
</configuration>
""")
    return cfg


def run_sumo(until_s: float) -> dict:
    exe = _tool("sumo")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = _sumo_files(Path(tmp), until_s)
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([exe, "-c", str(cfg)], capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        if out.returncode:
            raise RuntimeError(out.stderr[-500:])
        import xml.etree.ElementTree as ET
        trips = ET.parse(Path(tmp) / "trips.xml").getroot().findall("tripinfo")
        tt = [float(t.get("duration")) + float(t.get("departDelay")) for t in trips]
    return {"code": "SUMO meso (eclipse-sumo)", "wall_s": wall, "cpu_s": cpu,
            "completed": float(len(tt)),
            "mean_tt_s": float(np.mean(tt)) if tt else float("nan"),
            "note": "duration + departDelay; wall includes the one-off route computation"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until-s", type=float, default=10800.0)
    ap.add_argument("--skip-python-uxsim", action="store_true")
    ap.add_argument("--skip-sumo", action="store_true")
    args = ap.parse_args()
    run_ours(600.0)                                   # compile / load the numba cache
    rows = [run_ours(args.until_s), run_ours(args.until_s, 5.0)]
    for cpp in ((True,) if args.skip_python_uxsim else (True, False)):
        try:
            rows.append(run_uxsim(args.until_s, cpp))
        except Exception as err:                      # report, do not hide
            rows.append({"code": f"UXsim {'C++' if cpp else 'Python'}", "wall_s": float("nan"),
                         "cpu_s": float("nan"),
                         "completed": float("nan"), "mean_tt_s": float("nan"),
                         "note": f"failed: {err}"})
    if not args.skip_sumo:
        try:
            rows.append(run_sumo(args.until_s))
        except Exception as err:
            rows.append({"code": "SUMO meso", "wall_s": float("nan"), "cpu_s": float("nan"),
                         "completed": float("nan"),
                         "mean_tt_s": float("nan"), "note": f"failed: {err}"})
    ref = next((r for r in rows if r["code"].startswith("UXsim C++")
                and np.isfinite(r["mean_tt_s"])), rows[0])
    print(f"load: {os.getloadavg()}")
    print(f"{'code':32s} {'wall s':>8s} {'x ours':>7s} {'CPU s':>7s} {'x ours':>7s} {'done':>7s} "
          f"{'mean tt s':>9s} {'tt/UXsimC++':>11s}  note")
    for r in rows:
        print(f"{r['code']:32s} {r['wall_s']:8.2f} {r['wall_s'] / rows[0]['wall_s']:7.2f} "
              f"{r['cpu_s']:7.2f} {r['cpu_s'] / rows[0]['cpu_s']:7.2f} "
              f"{r['completed']:7.0f} {r['mean_tt_s']:9.1f} "
              f"{r['mean_tt_s'] / ref['mean_tt_s']:11.3f}  {r['note']}")


if __name__ == "__main__":
    main()
