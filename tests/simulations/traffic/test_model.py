"""TrafficModel against kinematic-wave theory, queueing theory and conservation.

Theory used (triangular diagram, free speed u, wave speed w, jam density kj,
capacity q = u w kj / (u + w)):

- free flow: k = q_in / u, v = u, travel time L / u;
- congested branch: q = w (kj - k), so a queue discharging at q_b holds
  k = kj - q_b / w and moves at v = q_b / k;
- a shock between states a and b moves at (q_b - q_a) / (k_b - k_a)
  (Rankine-Hugoniot); a jam released into an empty road discharges at
  capacity and the release travels back at -w;
- deterministic queueing: arrivals d > c for T seconds delay the vehicles by
  the area between the cumulative curves, d T (T' - T) / 2 with T' = d T / c.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from simulations.traffic import RoadNetwork, TrafficModel

U, W, KJ = 15.0, 5.0, 0.2
Q1 = U * W * KJ / (U + W)                    # 0.75 veh/s per lane


def _chain(n_links, length, lanes=1, **kw):
    nodes = np.arange(n_links + 1)
    return RoadNetwork(nodes[:-1], nodes[1:], length, U, lanes, **kw)


def _model(net, **kw):
    """A model whose demand departs in 0.01-vehicle quanta: a near-continuous flow."""
    kw.setdefault("quantum_veh", 0.01)
    return TrafficModel(net, **kw)


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


# ------------------------------------------------------------ single link
@pytest.mark.parametrize("share", [0.3, 0.8])
def test_single_link_steady_state_is_on_the_free_branch(share):
    net = RoadNetwork([0], [1], 900.0, U, 1)
    m = _model(net, dt_s=1.0)
    m.add_demand(0, 1, 0.0, 3600.0, share * Q1)
    m.advance(600.0)
    m.state()                                                  # reset the frame means
    m.advance(1200.0)
    s = m.state()
    assert float(s.flow[0]) == pytest.approx(share * Q1, rel=1e-6)
    assert float(s.density[0]) == pytest.approx(share * Q1 / U, rel=1e-6)
    assert float(s.speed[0]) == pytest.approx(U, rel=1e-6)
    m.advance(4000.0)
    tt = m.trips.arrive_s - m.trips.depart_s
    assert np.allclose(tt, 900.0 / U, atol=1e-6)


def test_demand_above_capacity_saturates_at_capacity_and_queues_at_the_origin():
    net = RoadNetwork([0], [1], 900.0, U, 2)
    m = _model(net, dt_s=1.0)
    m.add_demand(0, 1, 0.0, 1800.0, 1.5 * 2 * Q1)
    m.advance(600.0)
    m.state()
    m.advance(1200.0)
    s = m.state()
    assert float(s.flow[0]) == pytest.approx(2 * Q1, rel=1e-6)
    assert float(s.density[0]) == pytest.approx(2 * Q1 / U, rel=1e-6)   # critical density
    assert float(s.queue[0]) == pytest.approx(0.5 * 2 * Q1 * 1200.0, rel=1e-3)


def test_speed_factor_slows_the_link_and_its_capacity_follows_the_diagram():
    net = RoadNetwork([0], [1], 600.0, U, 1)
    m = _model(net, dt_s=1.0)
    m.set_speed_factor([0], 0.5)
    m.add_demand(0, 1, 0.0, 300.0, 0.2)
    m.advance(2000.0)
    tt = (m.trips.arrive_s - m.trips.depart_s).to_numpy()
    assert np.allclose(tt, 600.0 / (0.5 * U), atol=1e-6)
    u = 0.5 * U
    assert m._links[2][0] == pytest.approx(u * W * KJ / (u + W))


# ------------------------------------------------------------ bottleneck
def test_bottleneck_queue_is_on_the_congested_branch_and_delay_is_deterministic_queueing():
    net = RoadNetwork([0, 1], [1, 2], [1500.0, 500.0], U, [2, 1])
    m = _model(net, dt_s=1.0)
    demand, horizon = 1.25 * Q1, 3600.0
    m.add_demand(0, 2, 0.0, horizon, demand)
    m.advance(2400.0)                   # the queue tail runs back at 1 m/s: link full by ~1700 s
    m.state()
    m.advance(2460.0)
    s = m.state()
    k_queue = 2 * KJ - Q1 / W
    # 1e-4: packets under 1 % of a quantum (here 1e-4 veh) move whole at the bottleneck
    assert float(s.flow[0]) == pytest.approx(Q1, rel=1e-4)
    assert float(s.density[0]) == pytest.approx(k_queue, rel=1e-4)
    assert float(s.speed[0]) == pytest.approx(Q1 / k_queue, rel=1e-4)
    m.advance(8000.0)
    b = m.balance()
    assert b["arrived"] == pytest.approx(demand * horizon, rel=1e-12)
    t = m.trips
    delay = float(((t.arrive_s - t.depart_s - (1500.0 + 500.0) / U) * t["count"]).sum())
    clear = demand * horizon / Q1
    theory = demand * horizon * (clear - horizon) / 2.0
    assert delay == pytest.approx(theory, rel=0.02)


# ------------------------------------------------------------ waves
def _occupied_front(m, lengths):
    """Upstream end (m from the chain start) of the queue: first link past jam/2."""
    dens = m.state().vehicles.to_numpy() / lengths
    jammed = np.flatnonzero(dens > 0.5 * KJ)
    return np.concatenate([[0.0], np.cumsum(lengths)])[jammed.min()] if jammed.size else None


def test_shock_runs_back_at_the_rankine_hugoniot_speed():
    n, dx = 60, 100.0
    net = _chain(n, dx)
    m = _model(net, dt_s=1.0)
    qa = 0.5 * Q1
    m.add_demand(0, n, 0.0, 20000.0, qa)
    m.set_capacity_factor([n - 1], 0.2)       # bottleneck at the end: q_b = 0.2 q
    qb = 0.2 * Q1
    ka, kb = qa / U, KJ - qb / W
    speed = (qb - qa) / (kb - ka)             # negative: the queue tail runs upstream
    fronts, times = [], np.arange(1500.0, 3001.0, 300.0)
    for t in times:
        m.advance(t)
        fronts.append(_occupied_front(m, np.full(n, dx)))
    slope = np.polyfit(times, fronts, 1)[0]
    assert slope == pytest.approx(speed, rel=0.05)


def test_jam_release_discharges_at_capacity_and_the_release_runs_back_at_w():
    n, dx = 30, 100.0
    net = _chain(n, dx)
    m = _model(net, dt_s=1.0)
    m.add_demand(0, n, 0.0, 3000.0, Q1)
    m.set_capacity_factor([n - 1], 1e-9)      # all but shut: a full jam forms behind it
    m.advance(3000.0)
    vehicles = m.state().vehicles.to_numpy()
    assert np.allclose(vehicles[:n - 1], KJ * dx, rtol=1e-5)     # jam density everywhere
    m.set_capacity_factor([n - 1], 1.0)
    released = 3000.0
    starts = np.full(n - 1, np.nan)
    exited0 = m.result().exited.to_numpy()
    for t in np.arange(released + 1.0, released + 800.0, 1.0):
        m.advance(t)
        moved = m.result().exited.to_numpy() - exited0
        new = np.isnan(starts) & (moved[:n - 1] > 1e-3)
        starts[new] = t
    # link i's exit sits (n - 1 - i) links upstream of the release point
    distance = (n - 1 - np.arange(n - 1)) * dx - dx
    late = np.polyfit(distance[5:], starts[5:], 1)[0]
    assert 1.0 / late == pytest.approx(W, rel=0.05)
    m.state()
    m.advance(m.time_s + 300.0)
    assert float(m.state().flow[n - 1]) == pytest.approx(Q1, rel=0.02)   # discharge at q


# ------------------------------------------------------------ nodes
def test_diverge_is_fifo_a_blocked_turn_holds_the_whole_approach():
    # 0 -> 1, then 1 -> 2 (free) and 1 -> 3 -> 4 where 3 -> 4 is nearly shut
    net = RoadNetwork([0, 1, 1, 3], [1, 2, 3, 4], [500.0, 500.0, 300.0, 300.0], U, 1)
    # cohorts of one step keep the two groups interleaved as they arrived (strict FIFO)
    m = _model(net, dt_s=1.0, routing="fixed", cohort_s=1.0)
    m.add_demand([0, 0], [2, 4], 0.0, 4000.0, 0.3 * Q1)
    m.set_capacity_factor([3], 0.05)
    m.advance(2500.0)
    m.state()
    m.advance(3000.0)
    f = m.state().flow.to_numpy()
    assert f[2] == pytest.approx(0.05 * Q1, rel=0.02)                # the blocked turn
    assert f[1] == pytest.approx(f[2], rel=0.02)                     # held to the same rate
    assert f[0] == pytest.approx(2 * 0.05 * Q1, rel=0.02)


def test_multi_lane_diverge_a_blocked_turn_holds_only_its_lane_group():
    # 0 -> 1 (two lanes), then 1 -> 2 and 1 -> 3; the turn into 3 is shut for 40 s, so
    # 9 vehicles queue for it, within the two-lane approach's bay (2 x 10 vehicles)
    net = RoadNetwork([0, 1, 1, 3], [1, 2, 3, 4], [500.0, 500.0, 300.0, 300.0], U,
                      [2, 1, 1, 1])
    passed = {}
    for fifo in ("lanes", "strict"):
        m = _model(net, dt_s=1.0, routing="fixed", cohort_s=1.0, fifo=fifo)
        m.add_demand([0, 0], [2, 4], 0.0, 4000.0, 0.3 * Q1)
        m.advance(600.0)
        before = m.result()["entered"].to_numpy()
        m.set_capacity_factor([2], 1e-6)
        m.advance(640.0)
        passed[fifo] = (m.result()["entered"].to_numpy() - before)[1]
    assert passed["lanes"] == pytest.approx(40.0 * 0.3 * Q1, rel=0.05)   # the free turn flows
    assert passed["strict"] < 0.2 * passed["lanes"]                      # held behind


def test_merge_shares_the_outflow_in_proportion_to_incoming_capacities():
    net = RoadNetwork([0, 1, 2], [2, 2, 3], [500.0, 500.0, 500.0], U, [1, 2, 1])
    m = _model(net, dt_s=1.0)
    m.add_demand([0, 1], [3, 3], 0.0, 3000.0, [Q1, 2 * Q1])
    m.advance(2000.0)
    m.state()
    m.advance(2600.0)
    f = m.state().flow.to_numpy()
    assert f[2] == pytest.approx(Q1, rel=1e-3)
    assert f[0] / f[1] == pytest.approx(1.0 / 2.0, rel=0.02)


# ------------------------------------------------------------ conservation
def _grid(side, length=300.0):
    ups, dns = [], []
    for r in range(side):
        for c in range(side):
            i = r * side + c
            if c + 1 < side:
                ups += [i, i + 1]
                dns += [i + 1, i]
            if r + 1 < side:
                ups += [i, i + side]
                dns += [i + side, i]
    return RoadNetwork(ups, dns, length, U, 1)


def test_vehicles_are_conserved_every_step_and_never_enter_a_closed_link():
    net = _grid(5)
    m = _model(net, dt_s=1.0, reroute_every_s=120.0)
    rng = np.random.default_rng(3)
    o = rng.integers(0, 25, 60)
    d = (o + rng.integers(1, 25, 60)) % 25
    m.add_demand(o, d, 0.0, 1800.0, rng.uniform(0.01, 0.08, 60))
    closed = [int(np.flatnonzero((net.upstream == 12) & (net.downstream == 13))[0]),
              int(np.flatnonzero((net.upstream == 7) & (net.downstream == 12))[0])]
    entered_at_close = None
    for t in np.arange(10.0, 3600.0, 37.0):
        m.advance(t)
        b = m.balance()
        assert abs(b["error"]) < 1e-9 * max(1.0, b["demanded"])
        assert abs(b["curve_error"]) < 1e-9 * max(1.0, b["demanded"])
        if entered_at_close is None and t > 600:
            m.set_capacity_factor(closed, 0.0)
            entered_at_close = m.result().entered.to_numpy()[closed].copy()
    assert np.array_equal(m.result().entered.to_numpy()[closed], entered_at_close)
    b = m.balance()
    assert b["unserved"] == 0.0 and b["arrived"] == pytest.approx(b["demanded"], rel=1e-9)


def test_cut_off_destination_counts_unserved_and_the_run_ends():
    net = RoadNetwork([0, 1], [1, 2], 500.0, U, 1)
    m = _model(net, dt_s=1.0)
    m.add_demand(0, 2, 0.0, 1200.0, 0.2)
    m.advance(600.0)
    m.set_capacity_factor([1], 0.0)           # node 2 now unreachable
    m.advance(3000.0)
    b = m.balance()
    assert b["demanded"] == pytest.approx(240.0)
    assert b["unserved"] > 100.0
    assert b["waiting"] + b["on_network"] == pytest.approx(0.0, abs=1e-9)
    assert abs(b["error"]) < 1e-9
    assert m.trips["unserved"].sum() == pytest.approx(b["unserved"])


def test_demand_to_an_unreachable_node_warns_and_is_unserved():
    net = _quiet(RoadNetwork, [0, 2], [1, 3], 500.0, U, 1)
    m = _model(net)
    with pytest.warns(UserWarning, match=r"no path.*\(0, 3\)"):
        m.add_demand(0, 3, 0.0, 100.0, 0.1)
    m.advance(200.0)
    assert m.balance()["unserved"] == pytest.approx(10.0)


# ------------------------------------------------------------ routing
def _two_routes(routing):
    # short route 0->1->3 with a one-lane bottleneck 1->3 (capacity 0.3 q); long route 0->2->3
    net = RoadNetwork([0, 1, 0, 2], [1, 3, 2, 3], [500.0, 500.0, 1500.0, 1500.0], U,
                      [2, 1, 2, 2], capacity_vps=[2 * Q1, 0.3 * Q1, 2 * Q1, 2 * Q1])
    m = _model(net, dt_s=1.0, routing=routing, reroute_every_s=60.0)
    m.add_demand(0, 3, 0.0, 1800.0, 0.8 * Q1)
    m.advance(6000.0)
    return m


def test_dynamic_routing_avoids_the_congested_route():
    fixed, dynamic = _two_routes("fixed"), _two_routes("dynamic")
    assert fixed.result().entered[2] == 0.0                 # fixed: all on the short route
    assert float(dynamic.result().entered[2]) > 0.3 * dynamic.balance()["demanded"]
    assert (dynamic.travel_time_stats()["mean_s"]
            < 0.5 * fixed.travel_time_stats()["mean_s"])
    for m in (fixed, dynamic):
        assert abs(m.balance()["error"]) < 1e-9


# ------------------------------------------------------------ steps
def test_off_grid_times_are_reached_exactly_and_agree_with_a_regular_run():
    def run(times):
        m = TrafficModel(RoadNetwork([0, 1], [1, 2], [400.0, 400.0], U, 1), dt_s=2.0)
        m.add_demand(0, 2, 0.0, 600.0, 0.4)
        for t in times:
            m.advance(t)
            assert m.time_s == t
        return m
    a = run([1200.0])
    b = run([0.7, 13.3, 100.1, 101.0, 555.5, 1200.0])
    ta = (a.trips.arrive_s - a.trips.depart_s).mean()
    tb = (b.trips.arrive_s - b.trips.depart_s).mean()
    assert tb == pytest.approx(ta, abs=2.0)
    assert abs(b.balance()["error"]) < 1e-9


def test_links_shorter_than_a_step_pass_capacity_and_keep_the_step():
    net = RoadNetwork([0, 1, 2], [1, 2, 3], [400.0, 3.0, 400.0], U, 1)
    m = _model(net, dt_s=1.0)
    assert m.stats()["lengthened_links"] == 1
    m.add_demand(0, 3, 0.0, 1800.0, 2.0 * Q1)
    m.advance(900.0)
    m.state()
    m.advance(1500.0)
    assert float(m.state().flow[2]) == pytest.approx(Q1, rel=1e-3)
    assert m.stats()["min_dt"] == 1.0


def test_run_returns_frames_and_results():
    m = TrafficModel(RoadNetwork([0], [1], 300.0, U, 1), dt_s=1.0)
    m.add_demand(0, 1, 0.0, 300.0, 0.1)
    ds = m.run(600.0, 120.0)
    assert ds.flow.dims == ("time", "link") and ds.time.values.tolist()[-1] == 600.0
    assert {"entered", "max_density", "queue", "speed"} <= set(ds.data_vars)
    st = m.stats()
    assert st["steps"] == 600 and st["dt_s"] == 1.0


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"routing": "random"}, "routing"),
    ({"dt_s": 0.0}, "dt_s"),
    ({"reroute_share": 1.5}, "reroute_share"),
    ({"cohort_s": -1.0}, "cohort_s"),
])
def test_bad_model_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrafficModel(RoadNetwork([0], [1], 100.0, U, 1), **kwargs)


@pytest.mark.parametrize("call, match", [
    (lambda m: m.set_capacity_factor([5], 0.0), "links"),
    (lambda m: m.set_capacity_factor([0], -1.0), r"factor\[0\]"),
    (lambda m: m.set_speed_factor([0], np.nan), r"factor\[0\]"),
    (lambda m: m.add_demand(0, 9, 0.0, 10.0, 1.0), r"destination\[0\]"),
    (lambda m: m.add_demand(0, 1, 0.0, 10.0, np.nan), r"flow_vps\[0\]"),
    (lambda m: m.add_demand(0, 1, 0.0, 10.0, -1.0), r"flow_vps\[0\]"),
    (lambda m: m.add_demand(0, 1, 10.0, 5.0, 1.0), r"end_s\[0\]"),
    (lambda m: m.add_demand(1, 1, 0.0, 5.0, 1.0), "origin == destination"),
    (lambda m: m.add_demand([0, 1], [1, 0], 0.0, 5.0, [1.0, 2.0, 3.0]), "flow_vps"),
    (lambda m: m.advance(-5.0), "until_s"),
])
def test_bad_calls_raise_naming_the_argument(call, match):
    m = TrafficModel(RoadNetwork([0, 1], [1, 0], 100.0, U, 1))
    with pytest.raises(ValueError, match=match):
        call(m)
