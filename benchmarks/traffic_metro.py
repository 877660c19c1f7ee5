"""Traffic engine at metropolitan scale: a synthetic 10,000-link network, 1,000,000 trips in 3 h.

The network: a 50 x 50 grid of intersections about 200 m apart (jittered
lengths 150-250 m), two-way single-lane streets at 11-14 m/s, every fifth
row and column a two-lane arterial at 17 m/s (9,800 directed links). The
demand: 400 zone nodes; 40,000 random zone-to-zone pairs whose flows sum to
1,000,000 trips spread over 3 h (with a peak in the middle hour); the run
continues until ``--until-s`` (default 4 h). Reported: wall and CPU time,
peak memory (RSS), steps, link updates per second, trips completed, mean and
95th-percentile travel time, and the vehicle balance.

    .venv/bin/python benchmarks/traffic_metro.py [--trips 1000000] [--until-s 14400]
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from simulations.traffic import RoadNetwork, TrafficModel

SIDE = 50


def network(seed: int = 0) -> RoadNetwork:
    rng = np.random.default_rng(seed)
    ups, dns, arterial = [], [], []
    for r in range(SIDE):
        for c in range(SIDE):
            i = r * SIDE + c
            if c + 1 < SIDE:
                ups += [i, i + 1]
                dns += [i + 1, i]
                arterial += [r % 5 == 0] * 2
            if r + 1 < SIDE:
                ups += [i, i + SIDE]
                dns += [i + SIDE, i]
                arterial += [c % 5 == 0] * 2
    arterial = np.array(arterial)
    n = arterial.size
    length = rng.uniform(150.0, 250.0, n)
    speed = np.where(arterial, 17.0, rng.uniform(11.0, 14.0, n))
    lanes = np.where(arterial, 2, 1)
    return RoadNetwork(np.array(ups), np.array(dns), length, speed, lanes)


def demand(n_trips: int, seed: int = 1):
    """(origin, destination, start, end, flow) rows: 40,000 pairs in three hourly periods."""
    rng = np.random.default_rng(seed)
    zones = rng.choice(SIDE * SIDE, 400, replace=False)
    pairs = 40_000
    o = rng.choice(zones, pairs)
    d = rng.choice(zones, pairs)
    keep = o != d
    o, d = o[keep], d[keep]
    weight = rng.gamma(2.0, 1.0, o.size)
    weight *= n_trips / weight.sum()
    shares = np.array([0.3, 0.45, 0.25])             # off-peak, peak, off-peak hour
    rows = [(o, d, np.full(o.size, 3600.0 * h), np.full(o.size, 3600.0 * (h + 1)),
             weight * s / 3600.0) for h, s in enumerate(shares)]
    return tuple(np.concatenate(col) for col in zip(*rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trips", type=float, default=1_000_000)
    ap.add_argument("--until-s", type=float, default=14400.0)
    ap.add_argument("--dt-s", type=float, default=None)
    ap.add_argument("--routing", default="dynamic")
    ap.add_argument("--report-s", type=float, default=600.0)
    args = ap.parse_args()
    net = network()
    rows = demand(int(args.trips))
    warm = TrafficModel(network(), dt_s=args.dt_s)        # compile / load the numba cache
    warm.add_demand(*(c[:100] for c in rows))
    warm.advance(60.0)
    w0, c0 = time.perf_counter(), time.process_time()
    m = TrafficModel(net, dt_s=args.dt_s, routing=args.routing)
    m.add_demand(*rows)
    setup = time.perf_counter() - w0
    for t in np.arange(args.report_s, args.until_s + 1.0, args.report_s):
        m.advance(t)
        b = m.balance()
        print(f"t={t:6.0f} s wall {time.perf_counter() - w0:7.1f} s cpu "
              f"{time.process_time() - c0:7.1f} s  demanded {b['demanded']:9.0f}"
              f"  waiting {b['waiting']:8.0f}  on network {b['on_network']:8.0f}  arrived "
              f"{b['arrived']:9.0f}  packets {m.stats()['packets']}", flush=True)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    st, tt, b = m.stats(), m.travel_time_stats(), m.balance()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"load: {os.getloadavg()}")
    print(f"links {net.n_links}, nodes {net.n_nodes}, demand rows {rows[0].size}, trip groups "
          f"{m.demand.n_groups}, destinations {m.demand.dest_nodes.size}")
    print(f"wall {wall:.1f} s (set-up {setup:.1f} s), CPU {cpu:.1f} s, peak RSS {rss:.0f} MB, "
          f"steps {st['steps']} (dt {st['dt_s']:g} s), link updates/s "
          f"{st['link_updates'] / wall:.3g}, re-routings {st['reroutes']}")
    print(f"trips demanded {b['demanded']:.0f}, arrived {b['arrived']:.0f}, still on network "
          f"{b['on_network']:.0f}, waiting {b['waiting']:.0f}, unserved {b['unserved']:.0f}, "
          f"balance error {b['error']:.2e}")
    print(f"travel time mean {tt['mean_s']:.0f} s, p95 {tt['p95_s']:.0f} s; simulated/wall "
          f"{args.until_s / wall:.0f}x")


if __name__ == "__main__":
    main()
