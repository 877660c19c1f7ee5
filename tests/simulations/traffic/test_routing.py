"""Routing kernels: shortest times against scipy, turn shares without cycles or closures."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from simulations.traffic import RoadNetwork, routing


def _random_net(seed=0, n=40, m=160):
    rng = np.random.default_rng(seed)
    up = rng.integers(0, n, m)
    dn = (up + rng.integers(1, n, m)) % n
    _, first = np.unique(up * n + dn, return_index=True)   # one link per node pair
    up, dn = up[np.sort(first)], dn[np.sort(first)]
    m = up.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RoadNetwork(up, dn, rng.uniform(50, 500, m), 10.0, 1, n_nodes=n), rng


def test_shortest_times_match_scipy_dijkstra():
    net, rng = _random_net()
    cost = rng.uniform(1.0, 60.0, net.n_links)
    cost[::17] = np.inf
    dest = np.array([0, 5, 39])
    got = routing.shortest_times(cost, net.upstream, net.in_ptr, net.in_links, dest,
                                 net.n_nodes)
    ok = np.isfinite(cost)
    g = coo_matrix((cost[ok], (net.downstream[ok], net.upstream[ok])),
                   shape=(net.n_nodes, net.n_nodes)).tocsr()
    want = dijkstra(g, indices=dest)              # reverse graph: times *to* dest
    assert np.allclose(got, want)


def test_shares_sum_to_one_avoid_closed_links_and_hold_no_cycle():
    net, rng = _random_net(1)
    dest = np.arange(0, 40, 7)
    slots = np.zeros((dest.size, net.n_links), np.float32)
    closed = np.zeros(net.n_links, bool)
    closed[rng.choice(net.n_links, 15, replace=False)] = True
    for it in range(6):
        cost = np.where(closed, np.inf, rng.uniform(1.0, 60.0, net.n_links))
        dist = routing.shortest_times(cost, net.upstream, net.in_ptr, net.in_links, dest,
                                      net.n_nodes)
        routing.reroute_slots(slots, cost, net.upstream, net.downstream, net.in_ptr,
                              net.in_links, net.out_ptr, net.out_links, dest,
                              1.0 if it == 0 else 0.3)
        frac = np.zeros_like(slots)
        frac[:, net.out_links] = slots                        # by link
        assert (frac[:, closed] == 0).all()
        for d in range(dest.size):
            sums = np.bincount(net.upstream, weights=frac[d], minlength=net.n_nodes)
            can = np.isfinite(dist[d]) & (np.arange(net.n_nodes) != dest[d])
            assert np.allclose(sums[can], 1.0, atol=1e-6)
            assert np.allclose(sums[~can], 0.0)
            # links in use go strictly downhill in the current times: no cycle possible
            used = frac[d] > 0
            assert (dist[d][net.downstream[used]] < dist[d][net.upstream[used]]).all()


def test_link_times_follow_the_diagram():
    length = np.array([100.0, 100.0, 100.0])
    tau = length / 10.0
    cap = np.full(3, 0.5)
    jam = np.full(3, 0.2)
    w = np.full(3, 5.0)
    veh = np.array([1.0, 10.0, 20.0])             # free, congested, jammed
    closed = np.array([False, False, False])
    t = routing.link_times(length, tau, cap, jam, w, veh, closed, 0.5)
    assert t[0] == pytest.approx(10.0)
    k = 0.1
    assert t[1] == pytest.approx(100.0 / min(0.5 / k, 5.0 * (0.2 - k) / k))
    assert t[2] == pytest.approx(100.0 / 0.5)     # floor speed at jam
    closed[0] = True
    assert np.isinf(routing.link_times(length, tau, cap, jam, w, veh, closed, 0.5)[0])


def test_choose_turn_meets_the_shares_with_whole_packets():
    # node 0 with three outgoing links, shares 0.5 / 0.3 / 0.2 toward destination node 4
    net = RoadNetwork([0, 0, 0, 1, 2, 3], [1, 2, 3, 4, 4, 4], 100.0, 10.0, 1)
    frac = np.zeros((1, net.n_links), np.float32)
    frac[0, :3] = [0.5, 0.3, 0.2]
    frac[0, 3:] = 1.0
    sent = np.zeros((1, net.n_links))
    route = (frac, sent, np.array([4]), net.out_ptr, net.out_links, net.downstream, net.n_links)
    slots = [routing.choose_turn(0, 0, 1.0, route) for _ in range(100)]
    links = net.out_links[net.out_ptr[0]:net.out_ptr[1]][slots]
    assert np.bincount(links, minlength=3)[:3].tolist() == [50, 30, 20]
    assert routing.choose_turn(4, 0, 1.0, route) == 0          # at the destination: arrive
    frac[0, :3] = 0.0
    assert routing.choose_turn(0, 0, 1.0, route) == 4          # no route: stranded slot


def test_a_reroute_moves_its_share_onto_the_best_link_and_keeps_the_rest():
    """Inertia: node 0 has two routes to node 3, via 1 (20 s) and via 2 (40 s), split 50/50;
    an update with share 0.3 gives 0.5 * 0.7 + 0.3 = 0.65 to the quicker one, 0.35 to the other."""
    net = RoadNetwork([0, 0, 1, 2], [1, 2, 3, 3], [100.0, 300.0, 100.0, 100.0], 10.0, 1)
    by_link = np.array([[0.5, 0.5, 1.0, 1.0]], np.float32)
    slots = by_link[:, net.out_links].copy()
    routing.reroute_slots(slots, net.free_time_s, net.upstream, net.downstream, net.in_ptr,
                          net.in_links, net.out_ptr, net.out_links, np.array([3]), 0.3)
    got = np.zeros_like(slots)
    got[:, net.out_links] = slots
    np.testing.assert_allclose(got[0], [0.65, 0.35, 1.0, 1.0], rtol=1e-6)
