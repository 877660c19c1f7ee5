"""Destination-based routing: shortest travel times to each destination and turn shares.

For every destination ``d`` the router keeps ``frac[d, s]``: the share of the
vehicles for ``d`` standing at the start node of link ``out_links[s]`` that take
it (by slot, in the order of ``out_links``; :func:`choose_turn` reads it so).
An update (:func:`reroute_slots`) computes the current shortest times to each
destination (a reverse Dijkstra per destination, in parallel) and moves the
share ``share`` of each node's vehicles onto its best link, the rest keeping
their old split (inertia). Links that do not lead strictly closer to ``d``
under the current times lose their share, so the routes never hold a cycle;
closed links (cost ``inf``) are never used.

Examples
--------
>>> import numpy as np
>>> from simulations.traffic import RoadNetwork
>>> net = RoadNetwork([0, 0, 1, 2], [1, 2, 3, 3], [100.0, 300.0, 100.0, 100.0], 10.0, 1)
>>> dest = np.array([3])
>>> cost = net.free_time_s.copy()
>>> dist = shortest_times(cost, net.upstream, net.in_ptr, net.in_links, dest, net.n_nodes)
>>> dist[0].tolist()
[20.0, 10.0, 10.0, 0.0]
>>> frac = np.zeros((1, 4), np.float32)
>>> reroute_slots(frac, cost, net.upstream, net.downstream, net.in_ptr, net.in_links,
...               net.out_ptr, net.out_links, dest, 1.0)
>>> frac[0, np.argsort(net.out_links)].tolist()      # by link
[1.0, 0.0, 1.0, 1.0]
"""
from __future__ import annotations

import numba
import numpy as np

from simulations import heap

__all__ = ["shortest_times", "reroute_slots", "link_times", "choose_turn"]


PARALLEL_FROM = 64
"""Destinations from which the shortest-time search runs in parallel (threads cost
more than they save on a few small searches)."""


def shortest_times(cost, upstream, in_ptr, in_links, dest_nodes, n_nodes):
    """Shortest travel time (s) from every node to each destination, ``(n_dest, n_nodes)``.

    ``cost`` holds each link's travel time; ``inf`` marks a closed link. One
    reverse Dijkstra search per destination, in parallel for many destinations.
    """
    kernel = _times_parallel if dest_nodes.size >= PARALLEL_FROM else _times_serial
    return kernel(cost, upstream, in_ptr, in_links, dest_nodes, n_nodes)


@numba.njit(cache=True, inline="always")
def _search(dest, cost, upstream, in_ptr, in_links, row):
    """Reverse Dijkstra: ``row`` (all ``inf`` on entry) gets each node's shortest time to ``dest``."""
    keys = np.empty(cost.size + 1)
    vals = np.empty(cost.size + 1, np.int64)
    row[dest] = 0.0
    size = heap.push(keys, vals, 0, 0.0, dest)
    while size > 0:
        key, v, size = heap.pop(keys, vals, size)
        if key > row[v]:
            continue
        for e in range(in_ptr[v], in_ptr[v + 1]):
            l = in_links[e]
            c = cost[l]
            if not np.isfinite(c):
                continue
            u = upstream[l]
            nd = key + c
            if nd < row[u]:
                row[u] = nd
                size = heap.push(keys, vals, size, nd, u)


def _times(cost, upstream, in_ptr, in_links, dest_nodes, n_nodes):
    dist = np.full((dest_nodes.size, n_nodes), np.inf)
    for d in numba.prange(dest_nodes.size):
        _search(dest_nodes[d], cost, upstream, in_ptr, in_links, dist[d])
    return dist


_times_serial = numba.njit(cache=True)(_times)
_times_parallel = numba.njit(cache=True, parallel=True)(_times)


def reroute_slots(frac, cost, upstream, downstream, in_ptr, in_links, out_ptr, out_links,
                  dest_nodes, share):
    """Shortest times to each destination and the move of ``share`` of each node's
    vehicles onto its best link, in one pass per destination, with ``frac`` kept by
    slot (``frac[d, s]`` for link ``out_links[s]``), in place.

    Each destination's search and share update run together (its row of times
    stays in cache and is never stored), in parallel over the destinations when
    there are many (:data:`PARALLEL_FROM`).

    Examples
    --------
    >>> import numpy as np
    >>> from simulations.traffic import RoadNetwork
    >>> net = RoadNetwork([0, 0, 1, 2], [1, 2, 3, 3], [100.0, 300.0, 100.0, 100.0], 10.0, 1)
    >>> frac = np.zeros((1, 4), np.float32)
    >>> reroute_slots(frac, net.free_time_s, net.upstream, net.downstream, net.in_ptr,
    ...               net.in_links, net.out_ptr, net.out_links, np.array([3]), 1.0)
    >>> frac[0, np.argsort(net.out_links)].tolist()      # by link
    [1.0, 0.0, 1.0, 1.0]
    """
    kernel = _reroute_parallel if dest_nodes.size >= PARALLEL_FROM else _reroute_serial
    kernel(frac, cost, upstream, downstream, in_ptr, in_links, out_ptr, out_links, dest_nodes,
           share)


def _reroute(frac, cost, upstream, downstream, in_ptr, in_links, out_ptr, out_links,
             dest_nodes, share):
    n_nodes = out_ptr.size - 1
    for d in numba.prange(dest_nodes.size):
        row = np.full(n_nodes, np.inf)
        dn = dest_nodes[d]
        _search(dn, cost, upstream, in_ptr, in_links, row)
        for n in range(n_nodes):
            o0, o1 = out_ptr[n], out_ptr[n + 1]
            here = row[n]
            if n == dn or not np.isfinite(here):
                for s in range(o0, o1):
                    frac[d, s] = 0.0
                continue
            best = -1
            best_t = np.inf
            for s in range(o0, o1):
                l = out_links[s]
                t = cost[l] + row[downstream[l]]
                if t < best_t:
                    best_t = t
                    best = s
            total = 0.0
            for s in range(o0, o1):
                l = out_links[s]
                keep = 0.0
                if np.isfinite(cost[l]) and row[downstream[l]] < here:
                    keep = frac[d, s] * (1.0 - share)
                frac[d, s] = keep
                total += keep
            frac[d, best] += share
            total += share
            for s in range(o0, o1):
                frac[d, s] /= total


_reroute_serial = numba.njit(cache=True)(_reroute)
_reroute_parallel = numba.njit(cache=True, parallel=True)(_reroute)


@numba.njit(cache=True)
def link_times(length, tau_u, cap, jam, w, vehicles, closed, min_speed):
    """Current travel time of each link (s) from its mean density on the diagram.

    Free flow below the critical density, else the congested-branch speed
    ``min(q/k, w (kj - k)/k)`` (at least ``min_speed``); ``inf`` if closed.
    """
    out = np.empty(length.size)
    for l in range(length.size):
        if closed[l]:
            out[l] = np.inf
            continue
        u = length[l] / tau_u[l]
        k = vehicles[l] / length[l]
        v = u
        if k > 0.0:
            v = min(u, cap[l] / k, w[l] * (jam[l] - k) / k)
        out[l] = length[l] / max(v, min_speed)
    return out


@numba.njit(cache=True, inline="always", error_model="numpy")
def choose_turn(n, d, amount, route):
    """Outgoing slot at node ``n`` for ``amount`` vehicles to destination index ``d``.

    Slots ``0..deg-1`` are the node's outgoing links, ``deg`` arrival, ``deg+1``
    no route (stranded). A packet takes one link whole: the one furthest behind
    its share ``frac[d, s]`` of what this node sent toward ``d`` (``sent``), so the
    turn shares are met over time without splitting packets. ``frac`` and
    ``sent`` are indexed by *slot position* ``s = out_ptr[n] + e`` (the order of
    ``out_links``), so a node's outgoing links lie side by side in memory.
    """
    frac, sent, dest_nodes, out_ptr, out_links, downstream, n_links = route
    o0 = out_ptr[n]
    deg = out_ptr[n + 1] - o0
    if dest_nodes[d] == n:
        return deg
    total = 0.0
    share = 0.0
    for s in range(o0, o0 + deg):
        total += sent[d, s]
        share += frac[d, s]
    if share <= 0.0:
        return deg + 1
    best = -1
    gap = -np.inf
    for e in range(deg):
        f = frac[d, o0 + e]
        if f > 0.0:
            x = f / share * (total + amount) - sent[d, o0 + e]
            if x > gap:
                gap = x
                best = e
    sent[d, o0 + best] += amount
    return best
