"""Numba kernels of the traffic engine: the link transmission model and the node model.

Links follow the link transmission model (Yperman 2007): each link keeps two
cumulative vehicle curves, ``N_up`` at its entry and ``N_dn`` at its exit, and
per step of length ``h`` offers

- sending flow ``S = min(q h, N_up(t + h - L/u) - N_dn(t))`` and
- receiving flow ``R = min(q h, N_dn(t + h - L/w) + kj L - N_up(t))``,

which is the exact solution of the kinematic wave model for a triangular (or
trapezoidal) diagram. Nodes split and merge these flows with the general
first-order node model of Tampere et al. (2011): supply-demand, conservation,
FIFO per incoming link (a blocked turn holds the whole approach) and merging in
proportion to the incoming capacities.

Vehicles are kept as *packets* in a FIFO linked list per link (and one point
queue per origin node): a packet is a fractional number of vehicles of one trip
group (origin, destination, departure interval) bound for one outgoing link of
the node ahead. The curves time the flows; the packets say where the vehicles
at the head of a link are heading, which gives the node model its turning
flows. Routing is destination-based: ``frac[d, s]`` is the share of vehicles
for destination ``d`` that should take the link in slot ``s`` (position in
``out_links``); each new packet takes one
link whole, the one furthest behind its share (so packets are not shattered
over the alternatives).

Examples
--------
>>> import numpy as np
>>> hist = np.array([0.0, 1.0, 2.0, 3.0])           # curve at steps 0..3, dt = 1 s
>>> float(curve_at(hist, 0, 4, 3, 0, 0.0, np.zeros(4), 4, 3.0, 1.0, 1.5))
1.5
"""
from __future__ import annotations

import numba
import numpy as np

from .routing import choose_turn

__all__ = ["curve_at", "advance_steps", "packet_total"]

COHORT_LOOK = 16
"""Packets of an open cohort searched for one of the same trip group to join."""



@numba.njit(cache=True, error_model="numpy")
def curve_at(hist, off, size, k, k_reg, t_reg, hist_t, n_hist, t_now, dt, x):
    """Value of one link's cumulative curve at time ``x`` (linear between steps).

    ``hist[off:off+size]`` is the link's ring of curve values by step index
    (``j % size``), ``k`` the latest step index (time ``t_now``); steps from
    ``k_reg`` on are ``dt`` apart starting at ``t_reg``; ``hist_t`` (ring of
    ``n_hist``) holds every step's time for the irregular part.
    """
    if x <= 0.0:
        return 0.0                          # every curve starts at zero
    oldest = max(0, k - size + 1)
    if x >= t_reg:
        y = k_reg + (x - t_reg) / dt
        j = int(np.floor(y))
        f = y - j
    else:                                   # before the last irregular step: search
        lo = oldest
        hi = min(k_reg, k)
        if x <= hist_t[lo % n_hist]:
            return hist[off + lo % size]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if hist_t[mid % n_hist] <= x:
                lo = mid
            else:
                hi = mid
        j = lo
        t0 = hist_t[lo % n_hist]
        t1 = hist_t[(lo + 1) % n_hist]
        f = (x - t0) / (t1 - t0) if t1 > t0 else 0.0
    if j >= k:
        return hist[off + k % size]
    if j < oldest:
        return hist[off + oldest % size]
    v0 = hist[off + j % size]
    v1 = hist[off + (j + 1) % size]
    return v0 + f * (v1 - v0)


@numba.njit(cache=True, inline="always", error_model="numpy")
def _queue_node(q, route):
    """The node a queue empties into: a link's end node, or an origin queue's node."""
    n_links = route[6]
    return route[5][q] if q < n_links else q - n_links


@numba.njit(cache=True, inline="always", error_model="numpy")
def _append(q, g, d, amount, t, queues, pool, cohort_s, g_last, route):
    """Put ``amount`` vehicles of group ``g`` (destination index ``d``) at the tail of queue ``q``.

    Vehicles entering a queue within ``cohort_s`` of each other form one
    *cohort*: in it, vehicles of the same group share one packet (their order
    inside the cohort is not kept; the curves, not the packets, time the flows).
    The packet a group last entered (``g_last``) is found at once: when it is
    still in this queue's open cohort the vehicles join it; otherwise the
    cohort's first :data:`COHORT_LOOK` packets are searched (not the whole
    cohort, whose length grows with the flow).
    """
    head, tail, qcount, coh_head, coh_t = queues
    pg, pc, pnext, free, nfree, pturn, pq, pstamp, pdest = pool
    tl = tail[q]
    is_open = coh_head[q] >= 0 and t - coh_t[q] < cohort_s
    if is_open:
        p = g_last[g]
        if not (p >= 0 and pg[p] == g and pq[p] == q and pc[p] > 0.0
                and pstamp[p] == coh_t[q]):
            p = coh_head[q]                      # else look at the cohort's first packets
            for _ in range(COHORT_LOOK):
                if p < 0 or pg[p] == g:
                    break
                p = pnext[p]
            if p >= 0 and pg[p] != g:
                p = -1
        if p >= 0:
            pc[p] += amount
            qcount[q] += amount
            g_last[g] = p
            deg = route[3][_queue_node(q, route) + 1] - route[3][_queue_node(q, route)]
            if pturn[p] < deg:
                route[1][d, route[3][_queue_node(q, route)] + pturn[p]] += amount
            return
    if nfree[0] == 0:
        raise RuntimeError("traffic kernels: vehicle packet pool exhausted")
    nfree[0] -= 1
    p = free[nfree[0]]
    pg[p] = g
    pc[p] = amount
    pnext[p] = -1
    pq[p] = q
    pdest[p] = d
    pturn[p] = choose_turn(_queue_node(q, route), d, amount, route)
    if tl >= 0:
        pnext[tl] = p
    else:
        head[q] = p
    tail[q] = p
    qcount[q] += amount
    if not is_open:
        coh_head[q] = p
        coh_t[q] = t
    pstamp[p] = coh_t[q]
    g_last[g] = p


@numba.njit(cache=True, inline="always", error_model="numpy")
def _unlink(q, p, prev, queues, pool):
    """Remove packet ``p`` (after ``prev``, -1 at the head) from queue ``q``; return next."""
    head, tail, qcount, coh_head, coh_t = queues
    pg, pc, pnext, free, nfree, pturn, pq, pstamp, pdest = pool
    nxt = pnext[p]
    if prev < 0:
        head[q] = nxt
    else:
        pnext[prev] = nxt
    if tail[q] == p:
        tail[q] = prev
    if coh_head[q] == p:
        coh_head[q] = nxt
    pc[p] = 0.0
    pnext[p] = -1
    free[nfree[0]] = p
    nfree[0] += 1
    return nxt


@numba.njit(cache=True, error_model="numpy")
def packet_total(pc):
    """Vehicles held in all packets (freed packets hold zero)."""
    return pc.sum()


@numba.njit(cache=True, error_model="numpy")
def _departed(t, t0, t1, n_q, phase):
    """Quanta of a row (``n_q`` evenly spaced over ``[t0, t1)``) that departed before ``t``."""
    if t <= t0:
        return 0
    k = int(np.ceil((t - t0) * n_q / (t1 - t0) - phase))
    return min(max(k, 0), n_q)


@numba.njit(cache=True, error_model="numpy")
def _generate(t, h, dem, groups, route, queues, pool, cohort_s):
    """Departures in ``[t, t+h)`` join the origin queues (or are unserved if unroutable).

    Row ``r`` departs ``flow * (t1 - t0)`` vehicles as ``n_q`` equal quanta at
    ``t0 + (k + phase) (t1 - t0) / n_q``, ``phase`` in [0, 1) drawn per row. A
    quantum enters the network during its step, so its departure is recorded
    at the step's midpoint, like every arrival. Rows that ended in front of the
    start-time order are skipped for good (``cursor``), and a row whose next
    quantum (``nxt``) is due after the step costs one comparison.
    """
    orig, dsti, t0, t1, flow, goff, nbins, bin_s, n_q, phase, order, nxt, cursor = dem
    g_dest, g_dem, g_dep, g_arr, g_arr_t, g_uns, g_last = groups
    frac, out_ptr, out_links, n_links = route[0], route[3], route[4], route[6]
    lo = cursor[0]
    while lo < order.size and t1[order[lo]] <= t:
        lo += 1                                  # rows that ended, in front of the rest
    cursor[0] = lo
    slack = 1e-9 * (1.0 + t + h)
    for i in range(lo, order.size):
        r = order[i]
        if t0[r] >= t + h:
            break                                # rows are in order of start time
        if nxt[r] >= t + h + slack:
            continue                             # its next quantum is due later
        if t1[r] <= t or flow[r] <= 0.0:
            continue
        k0 = _departed(t, t0[r], t1[r], n_q[r], phase[r])
        k1 = _departed(t + h, t0[r], t1[r], n_q[r], phase[r])
        nxt[r] = t0[r] + (k1 + phase[r]) * (t1[r] - t0[r]) / n_q[r] if k1 < n_q[r] else np.inf
        if k1 == k0:
            continue
        size = flow[r] * (t1[r] - t0[r]) / n_q[r]
        o = orig[r]
        d = dsti[r]
        routable = False
        for e in range(out_ptr[o], out_ptr[o + 1]):
            if frac[d, e] > 0.0:
                routable = True
                break
        for k in range(k0, k1):
            dep = t0[r] + (k + phase[r]) * (t1[r] - t0[r]) / n_q[r]
            g = goff[r] + min(nbins[r] - 1, int((dep - t0[r]) / bin_s[r]))
            g_dem[g] += size
            g_dep[g] += size * (t + 0.5 * h)
            if routable:
                _append(n_links + o, g, d, size, t, queues, pool, cohort_s, g_last, route)
            else:
                g_uns[g] += size


@numba.njit(cache=True, error_model="numpy")
def _link_flows(t, h, k, k_reg, t_reg, dt, links, nup, ndn, hoff, hlen, hist_up, hist_dn,
                hist_t, send, recv, ready):
    """LTM sending and receiving flows of every link for the step ``[t, t+h]``.

    The curves are read only where needed: an empty link sends nothing, and a
    link holding fewer than ``kj L - q_max (L/w - h) - q h`` vehicles can
    receive its capacity whatever left it in the last ``L/w`` seconds.
    ``ready`` is the sending flow before the capacity cap (vehicles at the
    link's end: the queue a lane group per turn may look into).
    """
    tau_u, tau_w, cap, cap_in, store, cap_max = links
    n_hist = hist_t.size
    for l in range(nup.size):
        on = nup[l] - ndn[l]
        if on <= 0.0:
            send[l] = 0.0
            ready[l] = 0.0
        else:
            up_then = curve_at(hist_up, hoff[l], hlen[l], k, k_reg, t_reg, hist_t, n_hist, t,
                               dt, t + h - tau_u[l])
            ready[l] = max(0.0, up_then - ndn[l])
            send[l] = min(cap[l] * h, ready[l])
        if on <= store[l] - cap_max[l] * (tau_w[l] - h) - cap_in[l] * h:
            recv[l] = cap_in[l] * h
        else:
            dn_then = curve_at(hist_dn, hoff[l], hlen[l], k, k_reg, t_reg, hist_t, n_hist, t,
                               dt, t + h - tau_w[l])
            recv[l] = max(0.0, min(cap_in[l] * h, dn_then + store[l] - nup[l]))


@numba.njit(cache=True, inline="always", error_model="numpy")
def _turn(n, p, pool, g_dest, route):
    """Packet ``p``'s outgoing slot at node ``n``, chosen again if its link left the routes."""
    pg, pc, pnext, free, nfree, pturn, pq, pstamp, pdest = pool
    frac, out_ptr, out_links = route[0], route[3], route[4]
    deg = out_ptr[n + 1] - out_ptr[n]
    e = pturn[p]
    d = pdest[p]
    if e < deg and frac[d, out_ptr[n] + e] <= 0.0:
        e = choose_turn(n, d, pc[p], route)
        pturn[p] = e
    elif e == deg + 1:
        e = choose_turn(n, d, pc[p], route)          # stranded: a route may have opened
        pturn[p] = e
    return e


@numba.njit(cache=True, inline="always", error_model="numpy")
def _turns(n, i_q, s_i, sij, head, pool, g_dest, route):
    """Add the head segment ``s_i`` of queue ``i_q`` to ``sij`` by outgoing slot."""
    pg, pc, pnext, free, nfree, pturn, pq, pstamp, pdest = pool
    rem = s_i
    p = head[i_q]
    while p >= 0 and rem > 0.0:
        a = min(pc[p], rem)
        rem -= a
        sij[_turn(n, p, pool, g_dest, route)] += a
        p = pnext[p]


@numba.njit(cache=True, inline="always", error_model="numpy")
def _node_split(n_in, n_out, sij, cap_i, rt, alpha, active, done, s_tot):
    """Tampere et al. (2011) node model: the share ``alpha[i]`` of each incoming demand that moves.

    ``sij`` (n_in, n_out + 2) turn demands (the last two columns have unlimited
    supply), ``cap_i`` incoming capacities (veh per step), ``rt`` receiving
    flows of the outgoing links (changed in place), ``s_tot`` work space.
    """
    for i in range(n_in):
        s = 0.0
        for j in range(n_out + 2):
            s += sij[i, j]
        s_tot[i] = s
        active[i] = s > 0.0
        alpha[i] = 1.0 if s > 0.0 else 0.0
    for j in range(n_out):
        done[j] = False
    while True:
        best = np.inf
        jstar = -1
        for j in range(n_out):
            if done[j]:
                continue
            csum = 0.0
            for i in range(n_in):
                if active[i] and sij[i, j] > 0.0:
                    csum += cap_i[i] * sij[i, j] / s_tot[i]
            if csum > 0.0:
                a = max(rt[j], 0.0) / csum
                if a < best:
                    best = a
                    jstar = j
        if jstar < 0:
            break                                  # the rest is demand-constrained
        found = False
        for i in range(n_in):
            if active[i] and sij[i, jstar] > 0.0 and s_tot[i] <= best * cap_i[i]:
                found = True
                active[i] = False
                for jj in range(n_out):
                    rt[jj] -= sij[i, jj]
        if found:
            continue
        for i in range(n_in):
            if active[i] and sij[i, jstar] > 0.0:
                alpha[i] = min(1.0, best * cap_i[i] / s_tot[i])
                active[i] = False
                for jj in range(n_out):
                    rt[jj] -= alpha[i] * sij[i, jj]
        done[jstar] = True


@numba.njit(cache=True, inline="always", error_model="numpy")
def _move(n, i_q, s_i, budget, d_out, t, queues, pool, groups, route, inflow,
          cohort_s, t_mid, min_packet):
    """Move the node model's turning flows out of the head segment of queue ``i_q``.

    Turn ``e`` moves ``budget[e]`` vehicles (used up in place); its vehicles
    move in FIFO order within the head segment, whole packets first, so at
    most one packet per turn is split (moving a share of every packet would
    split them all, and a congested approach would multiply the packets at
    every step). A packet that would keep fewer than ``min_packet`` vehicles
    moves whole. Returns the vehicles moved.
    """
    head, tail, qcount, coh_head, coh_t = queues
    pg, pc, pnext, free, nfree, pturn, pq, pstamp, pdest = pool
    g_dest, g_dem, g_dep, g_arr, g_arr_t, g_uns, g_last = groups
    o0 = route[3][n]
    out_links = route[4]
    rem = s_i
    moved = 0.0
    prev = -1
    p = head[i_q]
    while p >= 0 and rem > 0.0:
        a = min(pc[p], rem)
        rem -= a
        e = pturn[p]
        m = min(a, budget[e])
        if m <= 1e-12 * a:
            prev = p
            p = pnext[p]
            continue
        if pc[p] - m <= min_packet:
            m = pc[p]
        budget[e] -= m
        g = pg[p]
        if e == d_out:
            g_arr[g] += m
            g_arr_t[g] += m * t_mid
        elif e == d_out + 1:
            g_uns[g] += m
        else:
            j = out_links[o0 + e]
            _append(j, g, pdest[p], m, t, queues, pool, cohort_s, g_last, route)
            inflow[j] += m
        moved += m
        qcount[i_q] -= m
        if m == pc[p]:
            p = _unlink(i_q, p, prev, queues, pool)
        else:
            pc[p] -= m
            prev = p
            p = pnext[p]
    return moved


@numba.njit(cache=True, error_model="numpy")
def _nodes(t, h, n_links, net, cap, send, ready, recv, queues, pool, groups, route, inflow,
           outflow, cohort_s, min_packet, scratch):
    """Apply the node model at every node for one step (serial: the packet pool is shared).

    An approach with a turn bay (``bay[q] > 0`` vehicles: a multi-lane link, an
    origin) enters the node model as one lane group per turn: each turn's
    sending flow is its vehicles among the first ``max(S, bay)`` at the link's
    end (at most the capacity), its priority the capacity share of its demand,
    and the approach's total is held to its capacity. So a blocked turn holds
    back only its own vehicles while the bay lets the others pass (partial
    FIFO, as turn lanes do); once its queue fills the bay, it blocks the rest.
    Other approaches are strictly FIFO (a blocked turn holds the whole approach).
    """
    in_ptr, in_links, out_ptr, out_links, bay = net
    head, qcount = queues[0], queues[2]
    g_dest = groups[0]
    sij, cap_i, s_in, q_in, budget, rows, r_cap, r_q, r_e, alpha, rt, active, done, s_tot \
        = scratch
    n_nodes = out_ptr.size - 1
    t_mid = t + 0.5 * h
    for n in range(n_nodes):
        d_out = out_ptr[n + 1] - out_ptr[n]
        n_in = 0
        for e in range(in_ptr[n], in_ptr[n + 1] + 1):
            if e < in_ptr[n + 1]:
                q = in_links[e]
                s = send[q]
                c = cap[q] * h
                a = ready[q]
            else:
                q = n_links + n                  # the origin point queue of this node
                c = 0.0
                for f in range(out_ptr[n], out_ptr[n + 1]):
                    c += cap[out_links[f]] * h
                s = min(qcount[q], c)
                a = qcount[q]
            if s <= 0.0 or head[q] < 0:
                continue
            if bay[q] > 0.0:
                s = min(a, max(s, bay[q]))       # the lane groups see into the bay
            q_in[n_in] = q
            s_in[n_in] = s
            cap_i[n_in] = c
            sij[n_in, :d_out + 2] = 0.0
            _turns(n, q, s, sij[n_in], head, pool, g_dest, route)
            if bay[q] > 0.0:
                for f in range(d_out + 2):
                    sij[n_in, f] = min(sij[n_in, f], c)
            n_in += 1
        if n_in == 0:
            continue
        lanes = False
        for k in range(n_in):
            if bay[q_in[k]] > 0.0:
                lanes = True
        for e in range(d_out):
            rt[e] = recv[out_links[out_ptr[n] + e]]
        if not lanes:                            # all strictly FIFO: one row per approach
            _node_split(n_in, d_out, sij[:n_in, :d_out + 2], cap_i, rt, alpha, active, done,
                        s_tot)
            for k in range(n_in):
                if alpha[k] > 0.0:
                    for e in range(d_out + 2):
                        budget[k, e] = alpha[k] * sij[k, e]
                    moved = _move(n, q_in[k], s_in[k], budget[k], d_out, t, queues, pool,
                                  groups, route, inflow, cohort_s, t_mid, min_packet)
                    if q_in[k] < n_links:
                        outflow[q_in[k]] += moved
            continue
        n_rows = 0
        for k in range(n_in):
            if bay[q_in[k]] > 0.0:
                tot = 0.0
                for e in range(d_out + 2):
                    tot += sij[k, e]
                for e in range(d_out + 2):
                    if sij[k, e] > 0.0:
                        rows[n_rows, :d_out + 2] = 0.0
                        rows[n_rows, e] = sij[k, e]
                        r_cap[n_rows] = cap_i[k] * sij[k, e] / tot
                        r_q[n_rows] = k
                        r_e[n_rows] = e
                        n_rows += 1
            else:
                rows[n_rows, :d_out + 2] = sij[k, :d_out + 2]
                r_cap[n_rows] = cap_i[k]
                r_q[n_rows] = k
                r_e[n_rows] = -1
                n_rows += 1
        _node_split(n_rows, d_out, rows[:n_rows, :d_out + 2], r_cap, rt, alpha, active, done,
                    s_tot)
        budget[:n_in, :d_out + 2] = 0.0
        for r in range(n_rows):
            k = r_q[r]
            if r_e[r] < 0:
                for e in range(d_out + 2):
                    budget[k, e] = alpha[r] * sij[k, e]
            else:
                budget[k, r_e[r]] = alpha[r] * sij[k, r_e[r]]
        for k in range(n_in):
            tot = 0.0
            for e in range(d_out + 2):
                tot += budget[k, e]
            if tot > cap_i[k]:                   # lane groups share the approach's capacity
                for e in range(d_out + 2):
                    budget[k, e] *= cap_i[k] / tot
            if tot > 0.0:
                moved = _move(n, q_in[k], s_in[k], budget[k], d_out, t, queues, pool, groups,
                              route, inflow, cohort_s, t_mid, min_packet)
                if q_in[k] < n_links:
                    outflow[q_in[k]] += moved


@numba.njit(cache=True, error_model="numpy")
def _scratch(net):
    """Work arrays of the node model, sized by the largest node."""
    in_ptr, in_links, out_ptr, out_links, bay = net
    max_in = 1
    max_out = 0
    for n in range(out_ptr.size - 1):
        max_in = max(max_in, in_ptr[n + 1] - in_ptr[n] + 1)
        max_out = max(max_out, out_ptr[n + 1] - out_ptr[n])
    w = max_out + 2
    n_rows = max_in * w
    return (np.zeros((max_in, w)), np.zeros(max_in), np.zeros(max_in),
            np.zeros(max_in, np.int64), np.zeros((max_in, w)), np.zeros((n_rows, w)),
            np.zeros(n_rows), np.zeros(n_rows, np.int64), np.zeros(n_rows, np.int64),
            np.zeros(n_rows), np.zeros(w), np.zeros(n_rows, np.bool_), np.zeros(w, np.bool_),
            np.zeros(n_rows))


@numba.njit(cache=True, error_model="numpy")
def advance_steps(clock, until, dt, margin, cohort_s, min_packet, links, ring, curves, pool,
                  queues, groups, dem, net, route, acc):
    """Step the network from ``clock[0]`` to ``until`` (or until the packet pool runs low).

    ``clock`` = [t, k, k_reg, t_reg, steps, min_h] is updated in place.
    Returns 0 when ``until`` is reached, 1 when fewer than ``margin`` packets are free.
    """
    cap = links[2]
    hoff, hlen, hist_up, hist_dn, hist_t = ring
    nup, ndn = curves
    nfree = pool[4]
    acc_in, acc_out, acc_n, max_n = acc
    n_links = nup.size
    send = np.zeros(n_links)
    ready = np.zeros(n_links)
    recv = np.zeros(n_links)
    inflow = np.zeros(n_links)
    outflow = np.zeros(n_links)
    scratch = _scratch(net)
    n_hist = hist_t.size
    while clock[0] < until - 1e-9 * max(1.0, until):
        if nfree[0] < margin:
            return 1
        t = clock[0]
        k = int(clock[1])
        h = min(dt, until - t)
        _generate(t, h, dem, groups, route, queues, pool, cohort_s)
        _link_flows(t, h, k, int(clock[2]), clock[3], dt, links, nup, ndn, hoff, hlen, hist_up,
                    hist_dn, hist_t, send, recv, ready)
        inflow[:] = 0.0
        outflow[:] = 0.0
        _nodes(t, h, n_links, net, cap, send, ready, recv, queues, pool, groups, route, inflow,
               outflow, cohort_s, min_packet, scratch)
        k += 1
        for l in range(n_links):
            nup[l] += inflow[l]
            ndn[l] += outflow[l]
            hist_up[hoff[l] + k % hlen[l]] = nup[l]
            hist_dn[hoff[l] + k % hlen[l]] = ndn[l]
            acc_in[l] += inflow[l]
            acc_out[l] += outflow[l]
            on = nup[l] - ndn[l]
            acc_n[l] += on * h
            if on > max_n[l]:
                max_n[l] = on
        hist_t[k % n_hist] = t + h
        if h < dt * (1.0 - 1e-12):
            clock[2] = k                        # a short step: regular spacing restarts here
            clock[3] = t + h
        clock[0] = t + h
        clock[1] = k
        clock[4] += 1
        clock[5] = min(clock[5], h)
    return 0
