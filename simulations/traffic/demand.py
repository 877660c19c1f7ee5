"""Trip demand: checked origin-destination flows and the trip groups they fill.

:class:`Demand` stores each ``add_demand`` row (origin, destination, start,
end, flow) and splits it into *trip groups* of ``bin_s`` seconds of departures.
A group carries its vehicles as a fractional count with count-weighted
departure and arrival times, so ``arrive_s - depart_s`` of a group is the mean
travel time of its vehicles (from when they were demanded, origin queue
included).

Examples
--------
>>> import numpy as np
>>> d = Demand(n_nodes=3, bin_s=60.0)
>>> new = d.add(0, 2, 0.0, 120.0, 0.5)
>>> d.n_groups, d.dest_nodes.tolist()
(2, [2])
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["Demand"]


def _column(value, n: int, name: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"add_demand: {name} must be a scalar or an array of the same "
                         f"length as the others ({n}), got shape {a.shape}")
    return a


class Demand:
    """Demand rows and their trip groups (arrays the kernels update in place).

    Parameters
    ----------
    n_nodes : int
        Nodes of the network (valid origins and destinations are ``0..n_nodes-1``).
    bin_s : float
        Shortest departure interval of one trip group (s).
    min_group_veh : float
        A row's departure interval is lengthened so that a group holds at least
        this many vehicles (fewer, larger groups keep the packets few).
    quantum_veh : float
        Vehicles depart in quanta of (at most) this size, evenly spaced over the
        row's interval (a row of 10.5 vehicles departs as 11 quanta of 0.955),
        at a phase drawn per row (so thin rows do not all depart together).
    seed : int
        Seed of the phases.
    """

    def __init__(self, n_nodes: int, bin_s: float, min_group_veh: float = 5.0,
                 quantum_veh: float = 1.0, seed: int = 0):
        self._rng = np.random.default_rng(seed)
        if not (np.isfinite(quantum_veh) and quantum_veh > 0):
            raise ValueError(f"quantum_veh={quantum_veh} must be a positive number of vehicles")
        self.quantum_veh = float(quantum_veh)
        self.order = np.zeros(0, np.int64)
        self.cursor = np.zeros(1, np.int64)      # rows before it in ``order`` have ended
        if not (np.isfinite(bin_s) and bin_s > 0):
            raise ValueError(f"trip_bin_s={bin_s} must be a positive number of seconds")
        if not (np.isfinite(min_group_veh) and min_group_veh >= 0):
            raise ValueError(f"min_group_veh={min_group_veh} must be a number >= 0")
        self.n_nodes = int(n_nodes)
        self.bin_s = float(bin_s)
        self.min_group_veh = float(min_group_veh)
        self.dest_nodes = np.zeros(0, np.int64)
        self.rows = {k: np.zeros(0, t) for k, t in (("origin", np.int64), ("dest", np.int64),
                                                    ("start", float), ("end", float),
                                                    ("flow", float), ("goff", np.int64),
                                                    ("nbins", np.int64), ("bin", float),
                                                    ("quanta", np.int64), ("phase", float),
                                                    ("next", float))}
        self.groups = {k: np.zeros(0, float) for k in ("demanded", "depart", "arrived",
                                                       "arrive", "unserved")}
        self.group_row = np.zeros(0, np.int64)
        self.group_dest = np.zeros(0, np.int64)
        self.group_last = np.zeros(0, np.int64)       # packet each group last entered (-1)

    @property
    def n_groups(self) -> int:
        """Number of trip groups."""
        return int(self.group_row.size)

    def add(self, origin, destination, start_s, end_s, flow_vps) -> np.ndarray:
        """Check and add demand rows; return the destination nodes that are new.

        Raises
        ------
        ValueError
            Naming the argument and the row for a node out of range, an origin
            equal to its destination, a NaN or negative flow, or ``end <= start``.
        """
        o_raw = np.atleast_1d(np.asarray(origin))
        n = o_raw.size
        cols = {"origin": _column(origin, n, "origin"),
                "destination": _column(destination, n, "destination")}
        for name, a in cols.items():
            bad = ~np.isfinite(a) | (a != np.round(a)) | (a < 0) | (a >= self.n_nodes)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"add_demand: {name}[{i}]={a[i]} is not a node of the network "
                                 f"(0..{self.n_nodes - 1})")
        o = cols["origin"].astype(np.int64)
        d = cols["destination"].astype(np.int64)
        same = np.flatnonzero(o == d)
        if same.size:
            raise ValueError(f"add_demand: row {int(same[0])} has origin == destination "
                             f"(node {int(o[same[0]])}); a trip must go somewhere")
        t0 = _column(start_s, n, "start_s")
        t1 = _column(end_s, n, "end_s")
        q = _column(flow_vps, n, "flow_vps")
        for name, a in (("start_s", t0), ("end_s", t1)):
            if not np.isfinite(a).all() or (a < 0).any():
                i = int(np.flatnonzero(~(np.isfinite(a) & (a >= 0)))[0])
                raise ValueError(f"add_demand: {name}[{i}]={a[i]} must be a finite time >= 0 s")
        if (t1 <= t0).any():
            i = int(np.flatnonzero(t1 <= t0)[0])
            raise ValueError(f"add_demand: end_s[{i}]={t1[i]} must be after start_s[{i}]={t0[i]}")
        if not np.isfinite(q).all() or (q < 0).any():
            i = int(np.flatnonzero(~(np.isfinite(q) & (q >= 0)))[0])
            raise ValueError(f"add_demand: flow_vps[{i}]={q[i]} must be a finite flow >= 0 veh/s")
        new = np.setdiff1d(np.unique(d), self.dest_nodes)
        self.dest_nodes = np.concatenate([self.dest_nodes, new])
        index = np.full(self.n_nodes, -1, np.int64)
        index[self.dest_nodes] = np.arange(self.dest_nodes.size)
        di = index[d]
        with np.errstate(divide="ignore"):
            width = np.maximum(self.bin_s, np.where(q > 0, self.min_group_veh / q, np.inf))
        width = np.minimum(width, t1 - t0)
        nbins = np.maximum(1, np.ceil((t1 - t0) / width - 1e-9)).astype(np.int64)
        quanta = np.maximum(1, np.ceil(q * (t1 - t0) / self.quantum_veh - 1e-9)).astype(np.int64)
        phase = self._rng.uniform(0.0, 1.0, n)
        first = np.where(q > 0, t0 + phase * (t1 - t0) / quanta, np.inf)   # first quantum
        goff = self.n_groups + np.concatenate([[0], np.cumsum(nbins)[:-1]]).astype(np.int64)
        for k, v in (("origin", o), ("dest", di), ("start", t0), ("end", t1), ("flow", q),
                     ("goff", goff), ("nbins", nbins), ("bin", width), ("quanta", quanta),
                     ("phase", phase), ("next", first)):
            self.rows[k] = np.concatenate([self.rows[k], v])
        self.order = np.argsort(self.rows["start"], kind="stable").astype(np.int64)
        self.cursor[0] = 0
        total = int(nbins.sum())
        for k in self.groups:
            self.groups[k] = np.concatenate([self.groups[k], np.zeros(total)])
        self.group_row = np.concatenate([self.group_row, np.repeat(
            np.arange(self.rows["origin"].size - n, self.rows["origin"].size), nbins)])
        self.group_dest = np.concatenate([self.group_dest, np.repeat(di, nbins)])
        self.group_last = np.concatenate([self.group_last, np.full(total, -1, np.int64)])
        return new

    def kernel_rows(self) -> tuple:
        """The demand rows as the tuple :func:`kernels.advance_steps` takes."""
        r = self.rows
        return (r["origin"], r["dest"], r["start"], r["end"], r["flow"], r["goff"], r["nbins"],
                r["bin"], r["quanta"], r["phase"], self.order, r["next"], self.cursor)

    def kernel_groups(self) -> tuple:
        """The group arrays as the tuple :func:`kernels.advance_steps` takes."""
        g = self.groups
        return (self.group_dest, g["demanded"], g["depart"], g["arrived"], g["arrive"],
                g["unserved"], self.group_last)

    def trips(self) -> pd.DataFrame:
        """One row per trip group that has departed: mean depart/arrive times and counts.

        ``arrive_s`` is NaN until every vehicle of the group has arrived
        (``unserved`` vehicles, which found no route, never arrive).
        """
        g = self.groups
        keep = g["demanded"] > 0
        dem = g["demanded"][keep]
        arr = g["arrived"][keep]
        uns = g["unserved"][keep]
        done = (arr > 0) & (arr + uns >= dem * (1 - 1e-9))
        rows = self.group_row[keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            arrive = np.where(done, g["arrive"][keep] / np.where(arr > 0, arr, 1.0), np.nan)
        return pd.DataFrame({
            "origin": self.rows["origin"][rows],
            "destination": self.dest_nodes[self.rows["dest"][rows]],
            "depart_s": g["depart"][keep] / dem,
            "arrive_s": arrive,
            "count": dem,
            "unserved": uns,
        })
