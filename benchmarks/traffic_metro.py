"""Traffic engine at metropolitan scale: a synthetic 10,000-link metro, 1,000,000 trips in 3 h.

The network, built as a strategic model of a 20 x 20 km metro would be (a road
hierarchy, the local streets abstracted to a 400 m mesh):

- a 51 x 51 mesh of junctions 400 m apart (lengths jittered +-10 %), two-way;
- **local streets**: one lane each way, 40 km/h, 1,000 veh/h (junction-limited);
- **arterials** every fifth row and column (2 km apart): two lanes each way,
  60 km/h, 2,400 veh/h;
- **motorways**: a ring 12 km across (rows/columns 10 and 40) and two radials
  crossing the centre (row and column 25), three lanes each way, 100 km/h,
  6,000 veh/h, with an interchange at every arterial (every 2 km);

10,288 directed links, 2,601 nodes. The demand: 625 zones of 800 x 800 m; home
ends spread over the metro with a mild centre bias, work ends concentrated on
the centre (a CBD) and four sub-centres; a doubly constrained gravity model
(``exp(-beta t)`` on free-flow times, ``beta`` = 0.15 / min) for the 1,000,000
trips, pairs under 3 trips dropped (and the rest rescaled to the total); a
morning-peak time profile over six half hours (14, 17, 19, 19, 17, 14 %). A
zone's trips start from its four junctions (one per destination, in turn) and
end at its centre junction; each OD pair and half hour is one demand row
(trips grouped with the engine's ``count``). The run goes on after the demand
ends until the network is empty (or ``--until-s``).

Before running, the demand is checked against the capacity of two screen lines
(the north-south and east-west midlines) and a cordon around the 4 x 4 km
centre, both directions, in the peak half hour.

Reported: wall and CPU time (set-up included), peak memory (RSS), steps,
link updates per second, re-routings, trips completed, mean and
95th-percentile travel time, vehicles still on the network, the vehicle
balance and the machine load (``uptime`` before and after). With
``--uxsim`` the same metro and demand also run in UXsim (C++ mode) as a ratio
(UXsim moves platoons of ``deltan`` vehicles and departs a demand row's
vehicles a whole platoon at a time: this demand's rows hold 1.4 trips on
average, so most depart nothing there; see the benchmark notes).

    .venv/bin/python benchmarks/traffic_metro.py [--trips 1000000] [--until-s 18000] [--uxsim]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time

import numpy as np

from simulations.traffic import RoadNetwork, TrafficModel

SIDE = 51
SPACING = 500.0
ZONE = 2                                   # zone side in mesh cells (800 m)
ARTERIAL_EVERY = 5
RING = (10, 40)
RADIAL = 25
PROFILE = np.array([0.14, 0.17, 0.19, 0.19, 0.17, 0.14])
SLICE_S = 1800.0
BETA_PER_MIN = 0.15
MIN_PAIR_TRIPS = 3.0
#              lanes  km/h   veh/h (all lanes)
CLASSES = {"local": (1, 40.0, 1200.0), "arterial": (3, 60.0, 4500.0),
           "motorway": (4, 100.0, 8000.0)}


def node(r: int, c: int) -> int:
    return r * SIDE + c


def network(seed: int = 0) -> tuple[RoadNetwork, np.ndarray, np.ndarray]:
    """The metro network, each link's class name and the node coordinates (m)."""
    rng = np.random.default_rng(seed)
    ups, dns, lens, cls = [], [], [], []

    def road(a: int, b: int, length: float, kind: str) -> None:
        ups.extend([a, b])
        dns.extend([b, a])
        lens.extend([length, length])
        cls.extend([kind, kind])

    for r in range(SIDE):
        for c in range(SIDE):
            if c + 1 < SIDE:
                road(node(r, c), node(r, c + 1), SPACING * rng.uniform(0.9, 1.1),
                     "arterial" if r % ARTERIAL_EVERY == 0 else "local")
            if r + 1 < SIDE:
                road(node(r, c), node(r + 1, c), SPACING * rng.uniform(0.9, 1.1),
                     "arterial" if c % ARTERIAL_EVERY == 0 else "local")
    step = ARTERIAL_EVERY
    lo, hi = RING
    for a in range(lo, hi, step):            # the ring's four sides
        for fixed in (lo, hi):
            road(node(fixed, a), node(fixed, a + step), step * SPACING, "motorway")
            road(node(a, fixed), node(a + step, fixed), step * SPACING, "motorway")
    for a in range(0, SIDE - 1, step):       # the two radials, edge to edge
        road(node(RADIAL, a), node(RADIAL, a + step), step * SPACING, "motorway")
        road(node(a, RADIAL), node(a + step, RADIAL), step * SPACING, "motorway")
    cls = np.array(cls)
    lanes = np.array([CLASSES[k][0] for k in cls], float)
    speed = np.array([CLASSES[k][1] for k in cls]) / 3.6
    cap = np.array([CLASSES[k][2] for k in cls]) / 3600.0
    net = RoadNetwork(np.array(ups), np.array(dns), np.array(lens), speed, lanes,
                      capacity_vps=cap, n_nodes=SIDE * SIDE)
    xy = np.array([(c * SPACING, r * SPACING) for r in range(SIDE) for c in range(SIDE)])
    return net, cls, xy


def zones() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per zone: its centre junction (destination), its four junctions (origins), centre xy."""
    nz = (SIDE - 1) // ZONE
    centre, starts, xy = [], [], []
    for i in range(nz):
        for j in range(nz):
            r0, c0 = ZONE * i, ZONE * j
            centre.append(node(r0 + 1, c0 + 1))
            starts.append([node(r0, c0), node(r0, c0 + 1), node(r0 + 1, c0),
                           node(r0 + 1, c0 + 1)])
            xy.append(((c0 + 1) * SPACING, (r0 + 1) * SPACING))
    return np.array(centre), np.array(starts), np.array(xy)


def free_times(net: RoadNetwork, nodes: np.ndarray) -> np.ndarray:
    """Free-flow times (min) between the given nodes."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    g = coo_matrix((net.free_time_s, (net.upstream, net.downstream)),
                   shape=(net.n_nodes, net.n_nodes)).tocsr()
    return dijkstra(g, directed=True, indices=nodes)[:, nodes] / 60.0


def od_matrix(net: RoadNetwork, n_trips: float, seed: int = 1) -> tuple[np.ndarray, ...]:
    """Zone centres, origin junctions and the 3-h OD matrix (trips), doubly constrained."""
    rng = np.random.default_rng(seed)
    centre, starts, xy = zones()
    mid = (SIDE - 1) * SPACING / 2.0
    r = np.hypot(xy[:, 0] - mid, xy[:, 1] - mid) / 1000.0                # km from the centre
    homes = np.exp(-r / 12.0) * rng.uniform(0.7, 1.3, r.size)
    jobs = 1.0 + 1.2 * np.exp(-(r / 5.0) ** 2)                            # the CBD
    for sx, sy in ((-7.0, -7.0), (7.0, -7.0), (-7.0, 7.0), (7.0, 7.0)):   # four sub-centres
        jobs += 0.8 * np.exp(-(np.hypot(xy[:, 0] - mid - sx * 1000, xy[:, 1] - mid - sy * 1000)
                               / 2000.0) ** 2)
    jobs *= rng.uniform(0.7, 1.3, r.size)
    prod = homes / homes.sum() * n_trips
    attr = jobs / jobs.sum() * n_trips
    f = np.exp(-BETA_PER_MIN * free_times(net, centre))
    np.fill_diagonal(f, 0.0)
    a = np.ones(r.size)
    for _ in range(50):                                                   # Furness
        b = attr / (f.T @ (prod * a))
        a = 1.0 / (f @ b)
    od = (prod * a)[:, None] * f * b[None, :]
    od[od < MIN_PAIR_TRIPS * n_trips / 1e6] = 0.0             # (scaled with the total)
    od *= n_trips / od.sum()
    return centre, starts, xy, od


def demand_rows(od: np.ndarray, centre: np.ndarray, starts: np.ndarray):
    """(origin, destination, start, end, flow) rows: OD pair x half hour."""
    o, d = np.nonzero(od)
    origin = starts[o, d % starts.shape[1]]            # a zone's four junctions take turns
    dest = centre[d]
    keep = origin != dest
    o, d, origin, dest = o[keep], d[keep], origin[keep], dest[keep]
    total = od[o, d]
    rows = [(origin, dest, np.full(o.size, SLICE_S * k), np.full(o.size, SLICE_S * (k + 1)),
             total * share / SLICE_S) for k, share in enumerate(PROFILE)]
    return tuple(np.concatenate(col) for col in zip(*rows))


def capacity_check(net: RoadNetwork, xy: np.ndarray, rows) -> list[str]:
    """Peak half-hour demand across the two midlines and the centre cordon vs their capacity."""
    o, d, t0, _, q = rows
    peak = t0 == SLICE_S * int(np.argmax(PROFILE))
    o, d, vph = o[peak], d[peak], q[peak] * 3600.0
    up, dn = xy[net.upstream], xy[net.downstream]
    cap = net.capacity_vps * 3600.0
    mid = (SIDE - 1) * SPACING / 2.0 + 1.0             # between two mesh lines
    half = 2000.0 + 1.0
    out = []
    for name, side in (("north-south midline", lambda p: p[..., 0] < mid),
                       ("east-west midline", lambda p: p[..., 1] < mid),
                       ("centre cordon 4 x 4 km", lambda p: np.all(np.abs(p - mid + 1.0)
                                                                   < half, axis=-1))):
        a_o, a_d = side(xy[o]), side(xy[d])
        a_u, a_v = side(up), side(dn)
        for label, dem, c in (("in/east" if "cordon" not in name else "inbound",
                               vph[~a_o & a_d].sum(), cap[~a_u & a_v].sum()),
                              ("out/west" if "cordon" not in name else "outbound",
                               vph[a_o & ~a_d].sum(), cap[a_u & ~a_v].sum())):
            out.append(f"  {name:24} {label:9} demand {dem:8.0f} veh/h, capacity {c:8.0f} "
                       f"veh/h ({dem / c:4.0%})")
    return out


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def run_ours(net, rows, args) -> dict:
    w0, c0 = time.perf_counter(), time.process_time()
    m = TrafficModel(net, dt_s=args.dt_s, routing=args.routing,
                     reroute_every_s=args.reroute_s)
    m.add_demand(*rows)
    setup = time.perf_counter() - w0
    t = 0.0
    while t < args.until_s:
        t = min(args.until_s, t + args.report_s)
        m.advance(t)
        b = m.balance()
        print(f"  t={t:6.0f} s wall {time.perf_counter() - w0:6.1f} s cpu "
              f"{time.process_time() - c0:6.1f} s  demanded {b['demanded']:8.0f} waiting "
              f"{b['waiting']:7.0f} on network {b['on_network']:7.0f} arrived "
              f"{b['arrived']:8.0f} packets {m.stats()['packets']}", flush=True)
        if t >= PROFILE.size * SLICE_S and b["on_network"] + b["waiting"] < args.empty_veh:
            break
    return {"model": m, "wall": time.perf_counter() - w0, "cpu": time.process_time() - c0,
            "setup": setup, "sim_s": t}


def run_uxsim(net, cls, xy, rows, until_s: float, deltan: int) -> dict:
    """The same metro in UXsim (C++ mode), dynamic user optimum routing."""
    import uxsim
    w0, c0 = time.perf_counter(), time.process_time()
    w = uxsim.World(name="metro", deltan=deltan, tmax=until_s, print_mode=0, save_mode=0,
                    show_mode=0, random_seed=0, duo_update_time=300, cpp=True)
    for i in range(net.n_nodes):
        w.addNode(str(i), xy[i, 0], xy[i, 1])
    for l in range(net.n_links):
        w.addLink(f"l{l}", str(net.upstream[l]), str(net.downstream[l]),
                  length=float(net.length_m[l]), free_flow_speed=float(net.free_speed_ms[l]),
                  jam_density=0.2, number_of_lanes=int(net.lanes[l]),
                  capacity_out=float(net.capacity_vps[l]))
    o, d, t0, t1, q = rows
    for i in range(o.size):
        w.adddemand(str(o[i]), str(d[i]), float(t0[i]), float(t1[i]), float(q[i]))
    w.exec_simulation()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    w.analyzer.basic_analysis()
    return {"wall": wall, "cpu": cpu, "trips": w.analyzer.trip_completed,
            "generated": w.analyzer.trip_all, "mean_tt": w.analyzer.average_travel_time}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trips", type=float, default=1_000_000)
    ap.add_argument("--until-s", type=float, default=18000.0)
    ap.add_argument("--dt-s", type=float, default=5.0)
    ap.add_argument("--routing", default="dynamic")
    ap.add_argument("--reroute-s", type=float, default=300.0)
    ap.add_argument("--report-s", type=float, default=900.0)
    ap.add_argument("--empty-veh", type=float, default=100.0,
                    help="stop once fewer vehicles than this are on the roads or waiting")
    ap.add_argument("--uxsim", action="store_true", help="also run UXsim C++ (slow)")
    ap.add_argument("--uxsim-deltan", type=int, default=5)
    args = ap.parse_args()
    load0 = uptime()
    w0, c0 = time.perf_counter(), time.process_time()
    net, cls, xy = network()
    centre, starts, zxy, od = od_matrix(net, args.trips)
    rows = demand_rows(od, centre, starts)
    build = time.perf_counter() - w0, time.process_time() - c0
    kinds = {k: int((cls == k).sum()) for k in CLASSES}
    tt_free = free_times(net, centre)
    print(f"Metro: {net.n_links} links ({kinds}), {net.n_nodes} nodes, {centre.size} zones; "
          f"{od.sum():.0f} trips in {np.count_nonzero(od)} OD pairs "
          f"({rows[0].size} demand rows), mean free-flow trip "
          f"{np.average(tt_free, weights=od) :.1f} min; built in {build[0]:.1f} s")
    print("Peak half hour against the cut capacities:")
    print("\n".join(capacity_check(net, xy, rows)))
    warm = TrafficModel(network()[0], dt_s=args.dt_s)     # compile / load the numba cache
    warm.add_demand(*(c[:200] for c in rows))
    warm.advance(120.0)
    print(f"load before: {load0}")
    res = run_ours(net, rows, args)
    m = res["model"]
    st, tt, b = m.stats(), m.travel_time_stats(), m.balance()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"load after:  {uptime()}")
    print(f"this engine: {res['sim_s']:.0f} s simulated in wall {res['wall']:.1f} s (set-up "
          f"{res['setup']:.1f} s), CPU {res['cpu']:.1f} s, peak RSS {rss:.0f} MB, threads "
          f"{st['threads']}")
    print(f"  steps {st['steps']} (dt {st['dt_s']:g} s), link updates/s "
          f"{st['link_updates'] / res['wall']:.3g}, re-routings {st['reroutes']}, trip groups "
          f"{m.demand.n_groups}, destinations {m.demand.dest_nodes.size}")
    print(f"  trips demanded {b['demanded']:.0f}, arrived {b['arrived']:.0f}, still on the "
          f"roads {b['on_network']:.0f}, waiting {b['waiting']:.0f}, unserved "
          f"{b['unserved']:.0f}, balance error {b['error']:.2e}")
    print(f"  travel time mean {tt['mean_s']:.0f} s, p95 {tt['p95_s']:.0f} s (free flow "
          f"{60 * np.average(tt_free, weights=od):.0f} s); simulated/wall "
          f"{res['sim_s'] / res['wall']:.0f}x")
    if args.uxsim:
        ux = run_uxsim(net, cls, xy, rows, res["sim_s"], args.uxsim_deltan)
        print(f"UXsim C++ (deltan {args.uxsim_deltan}): wall {ux['wall']:.1f} s "
              f"({ux['wall'] / res['wall']:.2f}x ours), CPU {ux['cpu']:.1f} s "
              f"({ux['cpu'] / res['cpu']:.2f}x ours), trips generated {ux['generated']:.0f} "
              f"(of {b['demanded']:.0f}; a demand row departs whole platoons of deltan "
              f"vehicles, so rows holding fewer depart none), completed {ux['trips']:.0f}, "
              f"mean travel time {ux['mean_tt']:.0f} s; load {uptime()}")


if __name__ == "__main__":
    main()
