"""The traffic model: a link transmission model on a road network with dynamic routing.

:class:`TrafficModel` holds the link curves, the vehicle packets, the demand
and the routes, and runs the numba kernels of :mod:`.kernels` (links and nodes)
and :mod:`.routing` (shortest times, turn shares) between output times.

Examples
--------
>>> from simulations.traffic import RoadNetwork, TrafficModel
>>> net = RoadNetwork([0], [1], 500.0, 12.5, 1)
>>> m = TrafficModel(net, dt_s=1.0)
>>> m.add_demand(0, 1, 0.0, 600.0, 0.2)              # 720 veh/h for 10 min
>>> ds = m.run(1200.0, 300.0)
>>> b = m.balance()
>>> round(b["arrived"], 6), abs(b["error"]) < 1e-9
(120.0, True)
>>> round(float((m.trips.arrive_s - m.trips.depart_s).mean()))   # 500 m at 12.5 m/s
40
"""
from __future__ import annotations

import time as _clock
import warnings

import numba
import numpy as np
import pandas as pd
import xarray as xr

from ..engine import Engine
from . import kernels, routing
from .demand import Demand
from .network import RoadNetwork

__all__ = ["TrafficModel"]

ROUTINGS = ("dynamic", "fixed")
FIFOS = ("lanes", "strict")
BAY_VEH_PER_LANE = 10.0
"""Vehicles per lane that the lane groups of a multi-lane approach see past a blocked turn
(about 50 m of turn bay per lane at jam density)."""
BAY_VEH_ORIGIN = 20.0
"""Vehicles of an origin queue that may leave by a free link past those for a blocked one."""


def _link_index(links, n: int, what: str) -> np.ndarray:
    idx = np.atleast_1d(np.asarray(links))
    if idx.size and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= n):
        bad = idx[~np.isin(idx, np.arange(n))] if np.issubdtype(idx.dtype, np.number) else idx
        raise ValueError(f"{what}: links {bad[:5].tolist()} are not link indices (0..{n - 1})")
    return idx.astype(np.int64)


def _factor(factor, size: int, what: str) -> np.ndarray:
    f = np.asarray(factor, dtype=np.float64)
    f = np.full(size, float(f)) if f.ndim == 0 else f
    if f.shape != (size,):
        raise ValueError(f"{what}: factor must be a scalar or one value per link given "
                         f"({size}), got shape {f.shape}")
    if not np.isfinite(f).all() or (f < 0).any():
        i = int(np.flatnonzero(~(np.isfinite(f) & (f >= 0)))[0])
        raise ValueError(f"{what}: factor[{i}]={f[i]} must be a finite number >= 0")
    return f


def _aligned(shape: tuple, dtype) -> np.ndarray:
    """Zeroed C array whose data starts on a 64-byte boundary (rows of 64 bytes then
    fill one cache line each)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    buf = np.zeros(nbytes + 64, np.uint8)
    start = -buf.ctypes.data % 64
    return buf[start:start + nbytes].view(dtype).reshape(shape)


class TrafficModel(Engine):
    """First-order (kinematic wave) network traffic model with destination-based routing.

    Parameters
    ----------
    net : RoadNetwork
        The links and their diagrams.
    seed : int
        Seed of the departure phases of the demand rows (the model is
        otherwise deterministic: same seed, same run).
    routing : {"dynamic", "fixed"}
        ``"dynamic"``: every ``reroute_every_s`` the share ``reroute_share`` of each
        node's vehicles per destination moves to the currently fastest route
        (instantaneous link times from the diagram). ``"fixed"``: free-flow
        shortest paths (recomputed only when links close or reopen).
    reroute_every_s, reroute_share : float
        Re-routing period (s) and the share re-routed each time (inertia).
    dt_s : float, optional
        Time step (s). Default: the shortest free-flow link time, between 0.5 and
        2 s. Links shorter than one step of free flow are modelled one step long
        (``stats()["lengthened_links"]``).
    trip_bin_s, min_group_veh : float
        Departures of one demand row within ``trip_bin_s`` form one trip group
        (a row of :attr:`trips`); the interval is lengthened for a thin flow so
        that a group holds at least ``min_group_veh`` vehicles.
    min_speed_factor : float
        Lowest speed factor honoured (a smaller one, including 0, slows the
        link to this share of its free speed; close a link with
        :meth:`set_capacity_factor`).
    quantum_veh : float
        Demand departs in quanta of (at most) this many vehicles, evenly
        spaced over each demand row's interval (1: whole vehicles; smaller
        values approach a continuous flow at the cost of more packets).
    fifo : {"lanes", "strict"}
        ``"lanes"``: a link of two or more lanes meets the node as one lane group
        per turn with a turn bay of :data:`BAY_VEH_PER_LANE` vehicles per lane
        (an origin queue: :data:`BAY_VEH_ORIGIN`), so a blocked turn holds back
        only its own vehicles until its queue fills the bay (partial FIFO, as
        turn lanes do); a single-lane link stays strictly FIFO. ``"strict"``:
        every approach is strictly FIFO (a blocked turn holds the whole approach).
    cohort_s : float
        Vehicles of one trip group entering a link (or origin queue) within
        this many seconds of each other share one packet (so their order
        relative to other groups may shift by up to ``cohort_s``; flows are
        still timed by the cumulative curves). 0 keeps strict order (more
        packets, slower).
    """

    def __init__(self, net: RoadNetwork, seed: int = 0, routing: str = "dynamic",
                 reroute_every_s: float = 300.0, reroute_share: float = 0.5,
                 dt_s: float | None = None, trip_bin_s: float = 60.0,
                 min_speed_factor: float = 0.1, cohort_s: float = 30.0,
                 min_group_veh: float = 5.0, quantum_veh: float = 1.0, fifo: str = "lanes"):
        if not isinstance(net, RoadNetwork):
            raise ValueError(f"TrafficModel: net must be a RoadNetwork, not {type(net).__name__}")
        if routing not in ROUTINGS:
            raise ValueError(f"TrafficModel: routing={routing!r} is unknown; use one of {ROUTINGS}")
        if fifo not in FIFOS:
            raise ValueError(f"TrafficModel: fifo={fifo!r} is unknown; use one of {FIFOS}")
        for name, v in (("reroute_every_s", reroute_every_s), ("min_speed_factor",
                                                                min_speed_factor)):
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"TrafficModel: {name}={v} must be a positive number")
        if not (0 < reroute_share <= 1):
            raise ValueError(f"TrafficModel: reroute_share={reroute_share} must be in (0, 1]")
        free = net.free_time_s
        if dt_s is None:
            dt_s = float(np.clip(free.min(), 0.5, 2.0))
        if not (np.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"TrafficModel: dt_s={dt_s} must be a positive number of seconds")
        self.net, self.seed, self.routing = net, int(seed), routing
        self.reroute_every_s, self.reroute_share = float(reroute_every_s), float(reroute_share)
        self.dt_s, self.min_speed_factor = float(dt_s), float(min_speed_factor)
        if not (np.isfinite(cohort_s) and cohort_s >= 0):
            raise ValueError(f"TrafficModel: cohort_s={cohort_s} must be a number >= 0")
        self.cohort_s = float(cohort_s)
        n, nn = net.n_links, net.n_nodes
        self.length_eff = np.maximum(net.length_m, net.free_speed_ms * self.dt_s)
        self._lengthened = int((net.length_m < self.length_eff).sum())
        self.capacity_factor = np.ones(n)
        self.speed_factor = np.ones(n)
        self.demand = Demand(nn, trip_bin_s, min_group_veh, quantum_veh, seed)
        self.frac = np.zeros((0, n), np.float32)      # turn shares per destination, by slot
        self.sent = np.zeros((0, n))                  # vehicles sent per destination, by slot
        # ring of curve values: long enough for the slowest allowed speed and the wave
        longest = np.maximum(self.length_eff / (net.free_speed_ms * self.min_speed_factor),
                             self.length_eff / net.backward_wave_ms)
        self._hlen = (np.ceil(longest / self.dt_s).astype(np.int64) + 4)
        self._hoff = np.concatenate([[0], np.cumsum(self._hlen)[:-1]]).astype(np.int64)
        size = int(self._hlen.sum())
        self._ring = (self._hoff, self._hlen, np.zeros(size), np.zeros(size),
                      np.zeros(int(self._hlen.max())))
        self._curves = (np.zeros(n), np.zeros(n))
        self._clock = np.array([0.0, 0.0, 0.0, 0.0, 0.0, np.inf])
        # queues (links, then origins): head, tail, cohort head packet in one row of
        # ints, vehicles and cohort start time in one row of floats
        q_int = _aligned((n + nn, 4), np.int64)
        q_int[:] = -1
        q_flt = _aligned((n + nn, 2), np.float64)
        self._queues = (q_int[:, 0], q_int[:, 1], q_flt[:, 0], q_int[:, 2], q_flt[:, 1])
        self._pool = self._new_pool(max(1024, 4 * (n + nn)))
        self._acc = tuple(np.zeros(n) for _ in range(4))     # in, out, veh*s, max veh
        self._frame = (0.0, np.zeros(n), np.zeros(n), np.zeros(n))
        self.fifo = fifo
        bay = np.concatenate([np.where(net.lanes >= 2.0, BAY_VEH_PER_LANE * net.lanes, 0.0),
                              np.full(nn, BAY_VEH_ORIGIN)]) if fifo == "lanes" \
            else np.zeros(n + nn)
        self._net = (net.in_ptr, net.in_links, net.out_ptr, net.out_links, bay)
        self._links = None
        self._wall = 0.0
        self._reroutes = 0
        self._next_reroute = self.reroute_every_s
        self._update_links()

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _new_pool(size: int) -> tuple:
        """The packet pool. A packet's group, next packet, turn, queue and destination
        share one 64-byte row of ints, its count and cohort stamp a row of floats (one
        cache line each per packet: the node model chases packets in no order); the
        kernels see the columns as views."""
        ints = _aligned((size, 8), np.int64)
        ints[:, 1] = ints[:, 3] = -1
        floats = _aligned((size, 2), np.float64)
        return (ints[:, 0], floats[:, 0], ints[:, 1],
                np.arange(size, dtype=np.int64)[::-1].copy(), np.array([size], np.int64),
                ints[:, 2], ints[:, 3], floats[:, 1], ints[:, 4])

    def _grow_pool(self) -> None:
        old_pool = self._pool
        free, nfree = old_pool[3], old_pool[4]
        old = old_pool[0].size
        size = 2 * old
        pool = self._new_pool(size)
        for k in (0, 1, 2, 5, 6, 7, 8):
            pool[k][:old] = old_pool[k]
        free2 = np.concatenate([free[:nfree[0]], np.arange(size - 1, old - 1, -1)])
        free2 = np.concatenate([free2, np.zeros(size - free2.size, np.int64)])
        self._pool = pool[:3] + (free2, np.array([nfree[0] + size - old], np.int64)) + pool[5:]

    def _update_links(self) -> None:
        """Effective link times and capacities from the speed and capacity factors."""
        net = self.net
        sf = np.maximum(self.speed_factor, self.min_speed_factor)
        u = net.free_speed_ms * sf
        tau_u = np.maximum(self.length_eff / u, self.dt_s)
        tau_w = np.maximum(self.length_eff / net.backward_wave_ms, self.dt_s)
        kj = net.jam_vpm
        tri = u * net.backward_wave_ms * kj / (u + net.backward_wave_ms)
        cap = np.minimum(net.capacity_vps, tri)
        closed = self.capacity_factor == 0
        cap_out = np.where(closed, cap, cap * self.capacity_factor)
        cap_in = cap * self.capacity_factor
        self._links = (tau_u, tau_w, cap_out, cap_in, kj * self.length_eff,
                       np.maximum(net.capacity_vps, cap_out))

    def _reroute(self, share: float) -> None:
        """Shortest times to every destination on current link times; shift ``share``."""
        if self.frac.shape[0] == 0:
            return
        net = self.net
        closed = self.capacity_factor == 0
        tau_u, _, cap_out = self._links[:3]
        if self.routing == "fixed":
            cost = np.where(closed, np.inf, self.length_eff / net.free_speed_ms)
            share = 1.0
        else:
            nup, ndn = self._curves
            cost = routing.link_times(self.length_eff, tau_u, cap_out, net.jam_vpm,
                                      net.backward_wave_ms, nup - ndn, closed,
                                      0.05 * float(net.free_speed_ms.min()))
        routing.reroute_slots(self.frac, cost, net.upstream, net.downstream, net.in_ptr,
                              net.in_links, net.out_ptr, net.out_links, self.demand.dest_nodes,
                              share)
        self._reroutes += 1

    # ------------------------------------------------------------------ inputs
    def add_demand(self, origin, destination, start_s, end_s, flow_vps) -> None:
        """Add trips: ``flow_vps`` (veh/s) from ``origin`` to ``destination`` in ``[start_s, end_s)``.

        Arguments are scalars or equal-length arrays (one row each). Demand
        whose destination cannot be reached is counted ``unserved`` (a warning
        names the pairs).

        Examples
        --------
        >>> from simulations.traffic import RoadNetwork
        >>> m = TrafficModel(RoadNetwork([0], [1], 100.0, 10.0, 1))
        >>> m.add_demand([0, 0], [1, 1], 0.0, [60.0, 120.0], 0.5)
        >>> m.balance()["demanded"]
        0.0
        """
        new = self.demand.add(origin, destination, start_s, end_s, flow_vps)
        o = self.demand.rows["origin"][-np.atleast_1d(np.asarray(origin)).size:]
        d = self.demand.dest_nodes[self.demand.rows["dest"][-o.size:]]
        ok = self.net.can_reach(o, d)
        if not ok.all():
            pairs = sorted({(int(a), int(b)) for a, b in zip(o[~ok], d[~ok])})
            warnings.warn(f"add_demand: {len(pairs)} origin-destination pair(s) have no path "
                          f"and will be counted unserved: {pairs[:10]}", stacklevel=2)
        if new.size:
            self.frac = np.concatenate([self.frac, np.zeros((new.size, self.net.n_links),
                                                            np.float32)])
            self.sent = np.concatenate([self.sent, np.zeros((new.size, self.net.n_links))])
            saved = self.frac[:-new.size].copy()
            self._reroute(1.0)                  # new destinations start on shortest paths
            self.frac[:-new.size] = saved
            self._reroutes -= 1

    def set_capacity_factor(self, links, factor) -> None:
        """Scale link capacities (exchange): 0 closes a link to entering traffic, 1 restores it.

        Vehicles already on a closed link drive off it; routes avoid it at once.
        """
        idx = _link_index(links, self.net.n_links, "set_capacity_factor")
        f = _factor(factor, idx.size, "set_capacity_factor")
        was = self.capacity_factor == 0
        self.capacity_factor[idx] = f
        self._update_links()
        if not np.array_equal(was, self.capacity_factor == 0):
            self._reroute(1.0 if self.routing == "fixed" else self.reroute_share)

    def set_speed_factor(self, links, factor) -> None:
        """Scale free speeds (exchange, e.g. from water depth); capacity follows the diagram."""
        idx = _link_index(links, self.net.n_links, "set_speed_factor")
        self.speed_factor[idx] = _factor(factor, idx.size, "set_speed_factor")
        self._update_links()

    # ------------------------------------------------------------------ stepping
    @property
    def time_s(self) -> float:
        return float(self._clock[0])

    def advance(self, until_s: float) -> None:
        """Step (LTM links, node model, demand, re-routing) to exactly ``until_s``."""
        until = self._check_until(until_s)
        start = _clock.perf_counter()
        while self.time_s < until - 1e-9 * max(1.0, until):
            stop = until
            if self.routing == "dynamic":
                stop = min(until, self._next_reroute)
            margin = 8 * self.net.n_links + self.demand.n_groups // 4 + 1024
            route = (self.frac, self.sent, self.demand.dest_nodes, self.net.out_ptr,
                     self.net.out_links, self.net.downstream, self.net.n_links)
            status = kernels.advance_steps(
                self._clock, stop, self.dt_s, margin, self.cohort_s,
                0.01 * self.demand.quantum_veh, self._links, self._ring,
                self._curves, self._pool, self._queues, self.demand.kernel_groups(),
                self.demand.kernel_rows(), self._net, route, self._acc)
            if status == 1:
                self._grow_pool()
                continue
            if self.routing == "dynamic" and self.time_s >= self._next_reroute - 1e-9:
                self._reroute(self.reroute_share)
                self._next_reroute += self.reroute_every_s
        self._wall += _clock.perf_counter() - start

    # ------------------------------------------------------------------ outputs
    def state(self) -> xr.Dataset:
        """Current frame: means since the previous frame of flow (veh/s), density (veh/m),
        speed (m/s), and vehicles now on each link; ``queue`` (veh) waiting at each origin.
        """
        n = self.net.n_links
        t0, in0, out0, occ0 = self._frame
        acc_in, acc_out, acc_n, _ = self._acc
        span = self.time_s - t0
        nup, ndn = self._curves
        veh = nup - ndn
        if span > 0:
            flow = 0.5 * ((acc_in - in0) + (acc_out - out0)) / span
            density = (acc_n - occ0) / span / self.length_eff
        else:
            flow, density = np.zeros(n), veh / self.length_eff
        u = self.length_eff / self._links[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.where(density > 1e-12, np.minimum(flow / density, u), u)
        self._frame = (self.time_s, acc_in.copy(), acc_out.copy(), acc_n.copy())
        link = np.arange(n)
        return xr.Dataset(
            {"flow": ("link", flow, {"units": "veh/s"}),
             "density": ("link", density, {"units": "veh/m"}),
             "speed": ("link", speed, {"units": "m/s"}),
             "vehicles": ("link", veh, {"units": "veh"}),
             "queue": ("node", self._queues[2][n:].copy(), {"units": "veh",
                                                            "long_name": "waiting at origin"})},
            coords={"link": link, "node": np.arange(self.net.n_nodes)})

    def result(self) -> xr.Dataset:
        """Accumulated: vehicles entered and left per link, peak vehicles and density."""
        acc_in, acc_out, _, max_n = self._acc
        tt = self.travel_time_stats()
        return xr.Dataset(
            {"entered": ("link", acc_in.copy(), {"units": "veh"}),
             "exited": ("link", acc_out.copy(), {"units": "veh"}),
             "max_vehicles": ("link", max_n.copy(), {"units": "veh"}),
             "max_density": ("link", max_n / self.length_eff, {"units": "veh/m"}),
             "mean_travel_time": ((), tt["mean_s"], {"units": "s"})},
            coords={"link": np.arange(self.net.n_links)})

    @property
    def trips(self) -> pd.DataFrame:
        """Trip groups: origin, destination, depart_s, arrive_s (NaN en route), count, unserved."""
        return self.demand.trips()

    def travel_time_stats(self) -> dict:
        """Count-weighted travel times (s) of the arrived trip groups: mean, p50, p95, max."""
        t = self.trips
        t = t[t.arrive_s.notna()]
        if t.empty:
            return {"trips": 0.0, "mean_s": float("nan"), "p50_s": float("nan"),
                    "p95_s": float("nan"), "max_s": float("nan")}
        tt = (t.arrive_s - t.depart_s).to_numpy()
        w = t["count"].to_numpy() - t["unserved"].to_numpy()
        order = np.argsort(tt)
        cum = np.cumsum(w[order]) / w.sum()
        pick = (lambda p: float(tt[order][min(np.searchsorted(cum, p), tt.size - 1)]))
        return {"trips": float(w.sum()), "mean_s": float(np.average(tt, weights=w)),
                "p50_s": pick(0.5), "p95_s": pick(0.95), "max_s": float(tt.max())}

    def balance(self) -> dict:
        """Vehicle account: demanded = waiting + on_network + arrived + unserved (+ error)."""
        g = self.demand.groups
        n = self.net.n_links
        held = float(kernels.packet_total(self._pool[1]))
        waiting = float(self._queues[2][n:].sum())
        nup, ndn = self._curves
        out = {"demanded": float(g["demanded"].sum()), "waiting": waiting,
               "on_network": held - waiting, "arrived": float(g["arrived"].sum()),
               "unserved": float(g["unserved"].sum())}
        out["error"] = out["demanded"] - (out["waiting"] + out["on_network"] + out["arrived"]
                                          + out["unserved"])
        out["curve_error"] = float((nup - ndn).sum()) - out["on_network"]
        return out

    def stats(self) -> dict:
        """Steps, step lengths, link updates and their rate, re-routings, packets in use."""
        _, k, _, _, steps, min_h = self._clock
        pool = self._pool
        updates = int(steps) * self.net.n_links
        return {"steps": int(steps), "dt_s": self.dt_s,
                "min_dt": float(min_h) if steps else float("nan"),
                "link_updates": updates, "wall_s": self._wall,
                "link_updates_per_s": updates / self._wall if self._wall else float("nan"),
                "reroutes": self._reroutes, "packets": int(pool[0].size - pool[4][0]),
                "lengthened_links": self._lengthened, "threads": numba.get_num_threads()}
