"""The crowd model: people walking to exits on a grid with the collision-free speed model.

:class:`CrowdModel` holds the people (positions, desired speeds, start times,
assigned exits), the walkable grid, the exits and the floor fields, and steps
the numba kernel of :mod:`simulations.crowd.kernels`.

Time step: the model is first order and a person's speed is at most
``(s - l) / T`` (``s`` the gap ahead, ``l`` the body diameter, ``T`` the time gap,
1 s). In one step of ``dt`` two people walking head-on close the gap by at most
``2 dt (s - l) / T``, which stays below ``s - l`` for ``dt < T / 2``; the default
``dt = 0.05 s`` is ten times inside that bound, and a person moves at most
``dt v0 <= 0.11 m`` per step, less than a third of a body and of a 0.5 m cell.

Examples
--------
>>> import numpy as np
>>> from simulations.crowd import CrowdModel
>>> walk = np.ones((4, 40), bool); ex = np.zeros((4, 40), bool); ex[:, -1] = True
>>> m = CrowdModel(walk, 0.5, ex)
>>> ids = m.add_agents([1.0], [1.0], desired_speed_ms=1.0)
>>> ds = m.run(30.0, 10.0)
>>> int(ds.exited.isel(time=-1).sum()), 17 < float(m.exit_times[0]) < 20
(1, True)
>>> m.balance()["error"]
0
"""
from __future__ import annotations

import time as _clock
import warnings

import numba
import numpy as np
import xarray as xr
from scipy import ndimage

from ..engine import Engine
from . import kernels
from .density import DensityGrid
from .exits import exit_labels
from .floorfield import descent, travel_time
from .population import desired_speeds

__all__ = ["CrowdModel"]


def _positive(name: str, value) -> float:
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"CrowdModel: {name}={value} must be a positive finite number")
    return v


class CrowdModel(Engine):
    """People walking to exits (collision-free speed model, Tordeux et al. 2016).

    Parameters
    ----------
    walkable : array_like of bool, (rows, cols)
        Cells people may stand on; row 0 is the north edge.
    cell_size : float
        Cell side (m).
    exits : bool, int or dict
        Where people leave: see :func:`simulations.crowd.exits.exit_labels`
        (each bool patch one exit; int labels; or ``name -> mask``). Exit cells
        are walkable even where ``walkable`` says not (doors in walls). A
        person leaves when their centre enters an exit cell, so an exit drawn
        on the line of a wall is a door of no depth and passes about 3
        persons/(m s); draw doors as passages with the exit at their far end
        (a 1 m passage passes about 2.4, a 4 m corridor 1.3 persons/(m s)).
    seed : int
        Seed of the random desired speeds.
    dt_s : float
        Time step (s); stable for ``dt_s < time_gap_s / 2`` (see module docstring).
    diameter_m, time_gap_s : float
        Body diameter ``l`` and time gap ``T`` of the speed function.
    repulsion, repulsion_range_m, wall_repulsion, wall_range_m : float
        Strength and range of the neighbour and wall terms of the direction.
    wall_margin_m : float
        The floor field is up to twice as slow within this distance of a wall,
        so routes keep off walls and round corners.
    density_weight : float
        Extra slowness (s/m per person/m2) of crowded cells in the floor field,
        recomputed every ``reroute_every_s``: people spread over exits.
    reroute_every_s : float
        Interval of the density-weighted recomputation (used when ``density_weight > 0``).
    density_sigma_m : float
        Gaussian kernel (m) of the density estimate.
    density_every_s : float
        Interval at which the peak density map is updated while advancing.
    origin : (float, float), optional
        ``(x_west, y_north)`` of the grid's outer corner for the ``x``/``y``
        coordinates of the outputs (e.g. in the City CRS); positions given to and
        read from the model stay in metres from the west and south edges.
    threads : int, optional
        Numba threads for the step (all by default); with 1, or fewer than
        :data:`~simulations.crowd.kernels.PARALLEL_MIN` people moving, it runs serially.
    """

    def __init__(self, walkable, cell_size: float, exits, seed: int = 0, *, dt_s: float = 0.05,
                 diameter_m: float = 0.3, time_gap_s: float = 1.0, repulsion: float = 5.0,
                 repulsion_range_m: float = 0.1, wall_repulsion: float = 5.0,
                 wall_range_m: float = 0.02, wall_margin_m: float = 0.6,
                 density_weight: float = 0.0, reroute_every_s: float = 10.0,
                 density_sigma_m: float = 0.7, density_every_s: float = 1.0,
                 origin: tuple[float, float] | None = None, threads: int | None = None):
        w = np.asarray(walkable)
        if w.ndim != 2 or w.dtype != bool or min(w.shape) < 1:
            raise ValueError(f"CrowdModel: walkable must be a 2-D bool grid (got shape {w.shape}, "
                             f"dtype {w.dtype})")
        self._h = _positive("cell_size", cell_size)
        self._labels, self._names = exit_labels(exits, w.shape)
        self._walk = w | (self._labels > 0)
        self.shape = w.shape
        self._height = self.shape[0] * self._h
        self._dt = _positive("dt_s", dt_s)
        tgap = _positive("time_gap_s", time_gap_s)
        if self._dt >= tgap / 2:
            raise ValueError(f"CrowdModel: dt_s={dt_s} must be below time_gap_s / 2 = {tgap / 2} s "
                             f"for collision-free steps")
        self._ell = _positive("diameter_m", diameter_m)
        self._tgap = tgap
        self._rep = (_positive("repulsion", repulsion), _positive("repulsion_range_m", repulsion_range_m),
                     _positive("wall_repulsion", wall_repulsion), _positive("wall_range_m", wall_range_m))
        self._margin = _positive("wall_margin_m", wall_margin_m)
        if not (np.isfinite(density_weight) and density_weight >= 0):
            raise ValueError(f"CrowdModel: density_weight={density_weight} must be >= 0")
        self._dweight = float(density_weight)
        self._reroute = _positive("reroute_every_s", reroute_every_s)
        self._sigma = _positive("density_sigma_m", density_sigma_m)
        self._dens_every = _positive("density_every_s", density_every_s)
        self._origin = (0.0, self._height) if origin is None else (float(origin[0]), float(origin[1]))
        if not np.isfinite(self._origin).all():
            raise ValueError(f"CrowdModel: origin={origin} must be two finite numbers (x_west, y_north)")
        if threads is not None and not (int(threads) == threads and threads >= 1):
            raise ValueError(f"CrowdModel: threads={threads} must be a whole number >= 1")
        self._threads = None if threads is None else int(threads)
        self._rng = np.random.default_rng(seed)
        self._open = np.ones(len(self._names) + 1, bool)
        self._open[0] = False
        self._blocked = np.zeros(self.shape, bool)
        self._slow = np.ones(self.shape, np.float32)
        self._stale = False                 # an exchange changed the ground without a refresh
        self._time = 0.0
        n = 0
        self._pos = np.zeros((n, 2))
        self._v0 = np.zeros(n)
        self._start = np.zeros(n)
        self._assigned = np.zeros(n, np.int32)
        self._exit_time = np.zeros(n)
        self._exit_label = np.zeros(n, np.int32)
        self._out_counts = np.zeros(len(self._names) + 1, np.int64)
        self._slots: dict[int, int] = {0: 0}
        self._peak = np.zeros(self.shape)
        self._dens = DensityGrid(self._walk, self._h, self._sigma)
        self._next_peak = 0.0
        self._next_reroute = self._reroute
        self._st = {"steps": 0, "agent_seconds": 0.0, "wall_s": 0.0, "field_solves": 0,
                    "field_wall_s": 0.0}
        self._refresh()

    # ------------------------------------------------------------ geometry
    @property
    def exits(self) -> list:
        """Exit names, in label order (label ``k`` is ``exits[k - 1]``)."""
        return list(self._names)

    @property
    def cell_size(self) -> float:
        return self._h

    @property
    def dt_s(self) -> float:
        return self._dt

    def _code(self) -> np.ndarray:
        code = self._walk.astype(np.int8)
        code[self._walk & self._blocked] = 2
        return code

    def _label_of(self, name) -> int:
        try:
            return self._names.index(name) + 1
        except ValueError:
            raise ValueError(f"CrowdModel: exit {name!r} unknown; the exits are {self._names}") from None

    def _cost(self, code: np.ndarray) -> np.ndarray:
        passable = code > 0
        ring = np.pad(code == 1, 1, constant_values=False)    # keep off walls and water
        dist = ndimage.distance_transform_edt(ring)[1:-1, 1:-1] * self._h
        cost = 1.0 + np.clip(1.0 - dist / self._margin, 0.0, 1.0)
        if self._dweight > 0 and len(self._v0):
            cost = cost + self._dweight * self._density()
        return np.where(passable, cost / self._slow, np.inf)

    def _refresh(self) -> None:
        """Recompute the floor fields (nearest open exit, and each assigned exit)."""
        t0 = _clock.perf_counter()
        code = self._code()
        self._code_grid = code
        cost = self._cost(code)
        dry = np.where(code == 1, cost, np.inf)
        nf = len(self._slots)
        self._tt = np.full((nf,) + self.shape, np.inf)
        self._gx = np.zeros((nf,) + self.shape, np.float32)
        self._gy = np.zeros((nf,) + self.shape, np.float32)
        for label, slot in self._slots.items():
            target = (self._labels > 0) & self._open[self._labels] if label == 0 else \
                (self._labels == label) & bool(self._open[label])
            seed = np.where(target & (code == 1), 0.0, np.inf)
            t = travel_time(dry, seed, self._h)
            if (code == 2).any():                 # wade out of blocked cells to the dry field
                t = travel_time(np.where(code == 2, cost, np.inf), t, self._h)
            self._tt[slot] = t
            self._gx[slot], self._gy[slot] = descent(t, self._h, keep_in=code == 1)
            self._st["field_solves"] += 1
        self._field = self._effective_field()
        self._stale = False
        self._st["field_wall_s"] += _clock.perf_counter() - t0

    def _effective_field(self) -> np.ndarray:
        a = self._assigned
        own = np.array([self._slots.get(int(k), 0) for k in range(len(self._names) + 1)], np.int32)
        return np.where(self._open[a], own[a], 0).astype(np.int32)

    # ------------------------------------------------------------ exchanges
    def set_blocked(self, mask, *, refresh: bool = True) -> None:
        """Exchange: cells that are impassable from now on (e.g. flooded); replaces the last mask.

        People standing in a newly blocked cell wade out to the nearest dry cell;
        everyone reroutes on the recomputed floor field (``refresh=False`` leaves
        that to the next exchange of the same moment, which must refresh).
        """
        m = np.asarray(mask)
        if m.shape != self.shape or m.dtype != bool:
            raise ValueError(f"CrowdModel.set_blocked: mask must be a bool grid of shape {self.shape} "
                             f"(got {m.shape}, {m.dtype})")
        changed = not np.array_equal(m, self._blocked)
        self._blocked = m.copy()
        if refresh and (changed or self._stale):
            self._refresh()
        self._stale = self._stale or (changed and not refresh)

    def set_speed_factor(self, factor, *, refresh: bool = True) -> None:
        """Exchange: walking speed in each cell over the dry speed (e.g. wading); replaces the last.

        A person's desired speed is multiplied by the factor of the cell they stand
        in, and the floor fields are recomputed with it, so people prefer a dry
        detour when it is quicker (see :func:`simulations.crowd.wading.wading_speed_factor`).

        Parameters
        ----------
        factor : array_like of float, (rows, cols)
            In ``(0, 1]``; 1 everywhere is dry ground.
        refresh : bool
            Recompute the floor fields now (when anything changed); ``False`` leaves
            it to the next exchange of the same moment.
        """
        f = np.asarray(factor, dtype=np.float32)
        if f.shape != self.shape:
            raise ValueError(f"CrowdModel.set_speed_factor: factor must be a grid of shape {self.shape} "
                             f"(got {f.shape})")
        if not (np.isfinite(f).all() and (f > 0).all() and (f <= 1).all()):
            raise ValueError("CrowdModel.set_speed_factor: every factor must be in (0, 1] "
                             "(block impassable cells with set_blocked instead)")
        changed = not np.array_equal(f, self._slow)
        self._slow = f.copy()
        if refresh and (changed or self._stale):
            self._refresh()
        self._stale = self._stale or (changed and not refresh)

    def close_exit(self, name) -> None:
        """Exchange: exit ``name`` takes nobody from now on; its people reroute."""
        self._open[self._label_of(name)] = False
        self._refresh()

    def open_exit(self, name) -> None:
        """Exchange: exit ``name`` is open again."""
        self._open[self._label_of(name)] = True
        self._refresh()

    # ------------------------------------------------------------ people
    def add_agents(self, x, y, desired_speed_ms=None, start_s=0.0, exit=None, *,
                   on_invalid: str = "raise") -> np.ndarray:
        """Add people at ``(x, y)`` (m east of the west edge, north of the south edge).

        Parameters
        ----------
        x, y : array_like
            Positions (m).
        desired_speed_ms : float or array_like, optional
            Free walking speeds (m/s); by default drawn from 1.34 +/- 0.26 m/s (Weidmann).
        start_s : float or array_like
            Pre-movement: when each person starts walking (s); they stand until then.
        exit : name or array_like of names, optional
            The exit each person walks to (``None``: the nearest open one). While
            an assigned exit is closed its people walk to the nearest open one.
        on_invalid : {"raise", "drop"}
            People outside the grid or in a wall cell raise a ValueError listing
            them, or are dropped with a warning.

        Returns
        -------
        ndarray of int
            The ids (indices into :attr:`positions`) of the people added.
        """
        if on_invalid not in ("raise", "drop"):
            raise ValueError(f"CrowdModel.add_agents: on_invalid={on_invalid!r}; use 'raise' or 'drop'")
        x = np.atleast_1d(np.asarray(x, np.float64))
        y = np.atleast_1d(np.asarray(y, np.float64))
        if x.ndim != 1 or x.shape != y.shape:
            raise ValueError(f"CrowdModel.add_agents: x and y must be 1-D of equal length "
                             f"(got {x.shape} and {y.shape})")
        n = x.size
        for name, a in (("x", x), ("y", y)):
            if not np.isfinite(a).all():
                raise ValueError(f"CrowdModel.add_agents: {name} has NaN or infinite values "
                                 f"(first at index {int(np.flatnonzero(~np.isfinite(a))[0])})")
        if desired_speed_ms is None:
            v0 = desired_speeds(n, rng=self._rng)
        else:
            v0 = np.broadcast_to(np.asarray(desired_speed_ms, np.float64), (n,)).copy()
            bad = ~(np.isfinite(v0) & (v0 > 0))
            if bad.any():
                raise ValueError(f"CrowdModel.add_agents: desired_speed_ms must be positive and "
                                 f"finite; {int(bad.sum())} are not (first at index "
                                 f"{int(np.flatnonzero(bad)[0])}: {v0[bad][0]})")
        start = np.broadcast_to(np.asarray(start_s, np.float64), (n,)).copy()
        bad = ~(np.isfinite(start) & (start >= 0))
        if bad.any():
            raise ValueError(f"CrowdModel.add_agents: start_s must be finite and >= 0; "
                             f"{int(bad.sum())} are not (first at index {int(np.flatnonzero(bad)[0])})")
        assigned = self._assign(exit, n)
        cols = np.floor(x / self._h).astype(np.int64)
        rows = np.floor((self._height - y) / self._h).astype(np.int64)
        inside = (x >= 0) & (y >= 0) & (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & \
            (cols < self.shape[1])
        ok = inside.copy()
        ok[inside] = self._walk[rows[inside], cols[inside]]
        if not ok.all():
            bad = np.flatnonzero(~ok)
            msg = (f"CrowdModel.add_agents: {bad.size} of {n} positions are outside the grid or in "
                   f"a wall cell (indices {bad[:10].tolist()}{' ...' if bad.size > 10 else ''})")
            if on_invalid == "raise":
                raise ValueError(msg + "; move them onto walkable cells or pass on_invalid='drop'")
            warnings.warn(msg + "; dropped", stacklevel=2)
        keep = np.flatnonzero(ok)
        first = self._v0.size
        self._pos = np.concatenate([self._pos, np.column_stack([x, y])[keep]])
        self._v0 = np.concatenate([self._v0, v0[keep]])
        self._start = np.concatenate([self._start, np.maximum(start[keep], 0.0)])
        self._assigned = np.concatenate([self._assigned, assigned[keep]])
        self._exit_time = np.concatenate([self._exit_time, np.full(keep.size, np.nan)])
        self._exit_label = np.concatenate([self._exit_label, np.zeros(keep.size, np.int32)])
        new_slots = set(np.unique(assigned[keep]).tolist()) - set(self._slots) - {0}
        for label in sorted(new_slots):
            self._slots[label] = len(self._slots)
        if new_slots:
            self._refresh()
        else:
            self._field = self._effective_field()
        ids = np.arange(first, self._v0.size)
        stuck = int(self._unreachable(ids).sum())
        if stuck:
            warnings.warn(f"CrowdModel.add_agents: {stuck} of {ids.size} people cannot reach any "
                          f"open exit from where they stand; they stay and are counted as "
                          f"'unreachable' in balance()", stacklevel=2)
        return ids

    def _assign(self, exit, n: int) -> np.ndarray:
        if exit is None:
            return np.zeros(n, np.int32)
        names = np.broadcast_to(np.asarray(exit, dtype=object), (n,))
        lookup = {name: k for k, name in enumerate(self._names, start=1)}
        unknown = {e for e in names.tolist() if e is not None and e not in lookup}
        if unknown:
            raise ValueError(f"CrowdModel.add_agents: exit {sorted(map(str, unknown))} unknown; "
                             f"the exits are {self._names}")
        return np.array([0 if e is None else lookup[e] for e in names.tolist()], np.int32)

    def _unreachable(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` (inside) stand where their floor field is infinite."""
        ids = ids[np.isnan(self._exit_time[ids])]
        p = self._pos[ids]
        cols = np.clip((p[:, 0] / self._h).astype(np.int64), 0, self.shape[1] - 1)
        rows = np.clip(((self._height - p[:, 1]) / self._h).astype(np.int64), 0, self.shape[0] - 1)
        return ~np.isfinite(self._tt[self._field[ids], rows, cols])

    # ------------------------------------------------------------ stepping
    @property
    def time_s(self) -> float:
        return self._time

    def advance(self, until_s: float) -> None:
        """Step (``dt_s``, the last step shortened) to exactly ``until_s``."""
        until = self._check_until(until_s)
        t0 = _clock.perf_counter()
        alive = np.flatnonzero(np.isnan(self._exit_time))
        threads = numba.get_num_threads()
        if self._threads is not None:
            numba.set_num_threads(min(self._threads, numba.config.NUMBA_NUM_THREADS))
        try:
            self._steps(until, alive)
        finally:
            numba.set_num_threads(threads)
        self._time = max(self._time, until)
        self._st["wall_s"] += _clock.perf_counter() - t0

    def _steps(self, until: float, alive: np.ndarray) -> None:
        h = self._h
        hn = max(self._ell + 6.0 * self._rep[1], 0.5)
        nbx = int(np.ceil(self.shape[1] * h / hn)) + 1
        nby = int(np.ceil(self.shape[0] * h / hn)) + 1
        a, d, b, dw = self._rep
        parallel_ok = numba.get_num_threads() > 1
        new_pos = self._pos.copy()
        speed = np.zeros(self._v0.size)
        out = np.zeros(self._v0.size, np.int32)
        while until - self._time > 1e-9 and alive.size:
            dt = min(self._dt, until - self._time)
            p = np.array([dt, self._ell, self._tgap, a, d, b, dw, h, self._height, hn])
            cstart, corder = kernels.cell_lists(self._pos, alive, hn, nbx, nby)
            kernels.step(self._pos, self._v0, self._start, self._field, alive, cstart, corder,
                         nbx, nby, self._gx, self._gy, self._code_grid, self._slow, self._labels,
                         self._open,
                         self._time, p, new_pos, speed, out,
                         parallel=parallel_ok and alive.size >= kernels.PARALLEL_MIN)
            self._pos[alive] = new_pos[alive]
            self._time += dt
            self._st["steps"] += 1
            self._st["agent_seconds"] += dt * alive.size
            gone = alive[out[alive] > 0]
            if gone.size:
                self._exit_time[gone] = self._time
                self._exit_label[gone] = out[gone]
                self._out_counts += np.bincount(out[gone], minlength=self._out_counts.size)
                self._pos[gone] = np.nan
                alive = np.flatnonzero(np.isnan(self._exit_time))
            self._after_step()

    def _after_step(self) -> None:
        if self._time + 1e-9 >= self._next_peak:
            np.maximum(self._peak, self._density(), out=self._peak)
            self._next_peak = self._time + self._dens_every
        if self._dweight > 0 and self._time + 1e-9 >= self._next_reroute:
            self._refresh()
            self._next_reroute = self._time + self._reroute

    # ------------------------------------------------------------ outputs
    def _density(self) -> np.ndarray:
        """Gaussian-kernel density (persons/m2) of the people inside, 0 on walls."""
        return self._dens(self._pos[np.isnan(self._exit_time)])

    def _coords(self) -> dict:
        h = self._h
        x0, y0 = self._origin
        return {"x": ("x", x0 + (np.arange(self.shape[1]) + 0.5) * h, {"units": "m"}),
                "y": ("y", y0 - (np.arange(self.shape[0]) + 0.5) * h, {"units": "m"})}

    def state(self) -> xr.Dataset:
        """Frame: ``density`` (y, x) persons/m2, ``exited`` (exit) so far, ``inside`` (people
        in the area, waiting ones included), ``waiting``, ``unreachable``.

        Exit names are strings here (``str(name)``), as in :meth:`result`, so
        the frames store in Zarr as they are.
        """
        b = self.balance()
        counts = self._out_counts[1:]
        ds = xr.Dataset(
            {"density": (("y", "x"), self._density().astype(np.float32), {"units": "persons/m2"}),
             "exited": ("exit", counts.astype(np.int64), {"long_name": "people out, per exit"}),
             "inside": ((), b["inside"] + b["waiting"]),
             "waiting": ((), b["waiting"]),
             "unreachable": ((), b["unreachable"])},
            coords={**self._coords(), "exit": ("exit", np.array([str(n) for n in self._names]))})
        return ds

    def result(self) -> xr.Dataset:
        """``exit_time``, ``exit_used`` ("" while inside), ``start_s``, ``desired_speed``
        (agent); ``peak_density`` (y, x); ``evacuation_time`` (NaN until all are out)."""
        np.maximum(self._peak, self._density(), out=self._peak)
        names = np.array([""] + [str(n) for n in self._names])
        done = np.isfinite(self._exit_time)
        evac = float(self._exit_time.max()) if self._v0.size and done.all() else np.nan
        return xr.Dataset(
            {"exit_time": ("agent", self._exit_time.copy(), {"units": "s"}),
             "exit_used": ("agent", names[self._exit_label]),
             "start_s": ("agent", self._start.copy(), {"units": "s"}),
             "desired_speed": ("agent", self._v0.copy(), {"units": "m/s"}),
             "peak_density": (("y", "x"), self._peak.astype(np.float32), {"units": "persons/m2"}),
             "evacuation_time": ((), evac, {"units": "s"})},
            coords={**self._coords(), "agent": np.arange(self._v0.size)})

    @property
    def positions(self) -> np.ndarray:
        """(N, 2) positions (m), NaN once out."""
        return self._pos.copy()

    @property
    def exit_times(self) -> np.ndarray:
        """(N,) exit times (s), NaN while inside."""
        return self._exit_time.copy()

    @property
    def exit_used(self) -> np.ndarray:
        """(N,) name of the exit each person left by (None while inside)."""
        names = np.array([None] + list(self._names), dtype=object)
        return names[self._exit_label]

    def balance(self) -> dict:
        """People account: ``added = waiting + inside + exited``; ``error`` is the difference."""
        here = np.isfinite(self._pos).all(axis=1)
        waiting = here & (self._start > self._time)
        added = int(self._v0.size)
        exited, wait = int(self._out_counts.sum()), int(waiting.sum())
        inside = int(here.sum()) - wait
        unreach = int(self._unreachable(np.arange(added)).sum()) if added else 0
        return {"added": added, "waiting": wait, "inside": inside, "exited": exited,
                "unreachable": unreach, "error": added - wait - inside - exited}

    def stats(self) -> dict:
        """Steps, time step, agent-seconds simulated per wall second, floor-field solves."""
        s = dict(self._st)
        s["dt_s"] = self._dt
        s["agent_seconds_per_wall_s"] = s["agent_seconds"] / s["wall_s"] if s["wall_s"] else np.nan
        s["unreachable"] = self.balance()["unreachable"]
        return s
