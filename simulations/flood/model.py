"""The flood model: a 2-D local-inertial shallow-water solver on a raster grid.

:class:`FloodModel` holds the state (depth, fluxes), the forcing (rain, losses,
inflows, pumps, held levels) and the volume books, and runs the numba kernels
of :mod:`simulations.flood.kernels` between output times.

Examples
--------
>>> import numpy as np
>>> from simulations.flood import FloodModel
>>> m = FloodModel(np.zeros((20, 30)), 5.0, manning=0.03, dtype="float64")
>>> m.add_inflow(10, 0, [0, 600], [2.0, 2.0])
>>> ds = m.run(600, output_every_s=300)
>>> ds.depth.shape, round(float(ds.depth.isel(time=-1).sum()) * 25, 1)   # 1200 m3 in
((2, 20, 30), 1200.0)
>>> m.volume_error() < 1e-9
True
"""
from __future__ import annotations

import time as _clock
import warnings
from collections.abc import Mapping

import numba
import numpy as np
import xarray as xr

from ..engine import Engine, frame_times
from . import kernels
from .forcing import rate_grid
from .hazard import SPEED_DEPTH, cell_speed, hazard
from .sources import Sources, grid_cell
from .stall import stall_error
from .threads import threads_for

__all__ = ["FloodModel", "EDGES"]

EDGES = ("west", "east", "north", "south")
"""Grid edges, in the order the kernels take them."""



def _edges(boundaries) -> np.ndarray:
    """Open flags (west, east, north, south) from "closed", "open" or a dict per edge."""
    kinds = ("open", "closed")
    if isinstance(boundaries, str):
        if boundaries not in kinds:
            raise ValueError(f"FloodModel: boundaries={boundaries!r} is unknown; use 'closed', "
                             f"'open' or a dict such as {{'north': 'open', 'south': 'closed'}}")
        return np.full(4, boundaries == "open")
    if not isinstance(boundaries, Mapping):
        raise ValueError(f"FloodModel: boundaries must be 'closed', 'open' or a dict of edges, "
                         f"not {type(boundaries).__name__}")
    unknown = sorted(set(boundaries) - set(EDGES))
    if unknown:
        raise ValueError(f"FloodModel: unknown boundary edge(s) {unknown}; the edges are "
                         f"{list(EDGES)}")
    bad = {k: v for k, v in boundaries.items() if v not in kinds}
    if bad:
        raise ValueError(f"FloodModel: boundary kind(s) {bad} unknown; use 'open' or 'closed'")
    return np.array([boundaries.get(e, "closed") == "open" for e in EDGES])


class FloodModel(Sources, Engine):
    """2-D local-inertial flood model (Bates et al. 2010; de Almeida et al. 2012) on a grid.

    Parameters
    ----------
    elevation : array_like
        Bed elevation (m), ``(rows, cols)``, row 0 the north edge; NaN is invalid.
    cell_size : float
        Cell side (m).
    manning : float or array_like
        Manning's n (s/m^(1/3)), uniform or per cell.
    blocked : array_like of bool, optional
        Cells water cannot enter (buildings).
    boundaries : str or dict
        ``"closed"``, ``"open"`` (free outflow) or per edge, e.g.
        ``{"north": "open", "east": "open"}`` (missing edges are closed).
    dtype : {"float32", "float64"}
        Precision of the state; volume books are float64 either way.
    origin : (float, float)
        ``(x_west, y_north)`` of the grid's outer corner, for the output coordinates.
    theta : float
        q-centred weighting (1 = Bates et al. 2010; de Almeida et al. suggest 0.7-0.9).
    alpha : float
        Courant factor of the step ``dt = alpha dx / (u_max + sqrt(g h_max))``, with
        ``u_max`` the largest face speed ``|q|/h_f``. In 2-D the
        q-centred scheme needs a smaller factor than in 1-D: a 1 cm disturbance
        on a still pool grows with alpha = 0.7 and theta < 1, and decays with
        alpha = 0.6 and theta = 0.8 (the defaults) or alpha = 0.7 and theta = 1.
    wet_depth : float
        Face depth (m) below which a face carries no flow.
    max_dt : float
        Longest step (s), used while the grid is dry or shallow.
    min_dt : float
        Shortest stable step (s) the run accepts; below it the run stops with a
        :class:`~simulations.flood.stall.FloodStallError` instead of crawling.
    arrival_depth : float
        Depth (m) that marks the arrival of the flood (``arrival_time``).
    threads : int, optional
        Numba threads for :meth:`run`; all by default.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.zeros((10, 10)); blocked = np.zeros((10, 10), bool); blocked[4:6, 4:6] = True
    >>> m = FloodModel(z, 2.0, blocked=blocked, boundaries={"east": "open"})
    >>> m.shape, m.depth.dtype
    ((10, 10), dtype('float32'))
    """

    def __init__(self, elevation, cell_size: float, *, manning=0.03, blocked=None,
                 boundaries="closed", dtype="float32", origin: tuple[float, float] = (0.0, 0.0),
                 theta: float = 0.8, alpha: float = 0.6, wet_depth: float = 1e-3,
                 max_dt: float = 10.0, min_dt: float = 1e-3, arrival_depth: float = 0.05,
                 threads: int | None = None):
        z = np.asarray(elevation, dtype=np.float64)
        if z.ndim != 2 or min(z.shape) < 2:
            raise ValueError(f"FloodModel: elevation must be a 2-D grid of at least 2 x 2 cells "
                             f"(got shape {z.shape})")
        bad = ~np.isfinite(z)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(f"FloodModel: elevation has {int(bad.sum())} NaN or infinite cells "
                             f"(first at row {r}, col {c}); fill the holes before building the model")
        if np.abs(z).max() >= kernels.BLOCKED_BED / 10:
            raise ValueError(f"FloodModel: elevation reaches {np.abs(z).max():g} m; give metres "
                             f"above a datum (|z| < {kernels.BLOCKED_BED / 10:g})")
        try:
            dx = float(cell_size)
        except (TypeError, ValueError):
            raise ValueError(f"FloodModel: cell_size must be a number of metres, not {cell_size!r}")
        if not (np.isfinite(dx) and dx > 0):
            raise ValueError(f"FloodModel: cell_size must be a positive number of metres (got {cell_size})")
        if dtype not in ("float32", "float64", np.float32, np.float64):
            raise ValueError(f"FloodModel: dtype={dtype!r} unknown; use 'float32' or 'float64'")
        for name, value, lo, hi in (("theta", theta, 0.0, 1.0), ("alpha", alpha, 0.0, 1.0),
                                    ("wet_depth", wet_depth, 0.0, 1.0), ("max_dt", max_dt, 0.0, 1e6),
                                    ("min_dt", min_dt, 0.0, max_dt),
                                    ("arrival_depth", arrival_depth, 0.0, 1e3)):
            if not (np.isfinite(value) and lo < value <= hi) and not (name == "theta" and value == 0):
                raise ValueError(f"FloodModel: {name}={value} is out of range ({lo}, {hi}]")
        self._dtype = np.dtype(dtype)
        self._dx = dx
        self._z0 = z
        self.shape = z.shape
        self._blocked = self._mask(blocked, "blocked") if blocked is not None else np.zeros(z.shape, bool)
        zb = np.where(self._blocked, kernels.BLOCKED_BED, z)
        self._z = np.ascontiguousarray(zb, dtype=self._dtype)
        self._man = rate_grid(manning, z.shape, "FloodModel", "manning", "s/m^(1/3)", 1.0, self._dtype)
        self._open = _edges(boundaries)
        self._origin = (float(origin[0]), float(origin[1]))
        self._params = kernels.Params(
            dx=dx, g=kernels.GRAVITY, alpha=float(alpha), theta=float(theta), wet_depth=float(wet_depth),
            max_dt=float(max_dt), min_dt=float(min_dt), arrival_depth=float(arrival_depth),
            speed_depth=SPEED_DEPTH, keep=kernels.KEEP[self._dtype], open_w=bool(self._open[0]),
            open_e=bool(self._open[1]), open_n=bool(self._open[2]), open_s=bool(self._open[3]),
            track=True)
        self._threads = threads
        self._threads_used = 0
        R, C = z.shape
        wet = np.zeros((4, R, C), self._dtype)
        wet[1] = np.nan
        self._s = kernels.State(
            h=np.zeros(z.shape, self._dtype), z=self._z, man=self._man,
            qxb=np.zeros((2, R, C + 1), self._dtype), qyb=np.zeros((2, R + 1, C), self._dtype),
            xrb=np.zeros((2, R, 2), np.int64), yrb=np.zeros((2, R + 1, 2), np.int64),
            wext=np.zeros((R, 2), np.int64), wet=wet, acc=np.zeros(len(kernels.ACC_NAMES)),
            stats=np.array([0.0, 0.0, np.inf, 0.0, 0.0]), scale=np.ones(z.shape, self._dtype))
        self._h, self._wet, self._acc, self._stats = self._s.h, wet, self._s.acc, self._s.stats
        self._parity = 0
        self._umax = 0.0
        self._time = 0.0
        self._set_volume = 0.0
        self._storage_seen = 0.0
        self._wall = 0.0
        self._roof = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self._rain = (np.zeros(1), np.zeros((1, 1, 1), self._dtype), np.zeros(1), np.inf)
        self._loss = np.zeros((1, 1), self._dtype)
        self._inflows: list[tuple[int, np.ndarray, np.ndarray]] = []
        self._pumps: list[tuple[int, float, float]] = []
        self._levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    # ------------------------------------------------------------------ state
    @property
    def depth(self) -> np.ndarray:
        """Water depth (m), the model's own array: ``m.depth[:] = ...`` edits the state."""
        return self._h

    @depth.setter
    def depth(self, value) -> None:
        d = np.asarray(value, dtype=np.float64)
        if d.ndim == 0:
            d = np.full(self.shape, float(d))
        if d.shape != self.shape:
            raise ValueError(f"FloodModel.depth: shape {d.shape} does not match the grid {self.shape}")
        self._h[...] = d

    @property
    def time_s(self) -> float:
        """Model time (s since the scenario start)."""
        return self._time

    @property
    def time(self) -> float:
        """Model time (s since the scenario start); the same as :attr:`time_s`."""
        return self._time

    @property
    def cell_size(self) -> float:
        """Cell side (m)."""
        return self._dx

    @property
    def elevation(self) -> np.ndarray:
        """Bed elevation (m) as given (a copy)."""
        return self._z0.copy()

    def set_elevation(self, elevation) -> None:
        """Change the bed elevation (m) during a run, e.g. when a levee breach opens.

        Depths are kept as they are, so the stored volume does not change and
        the volume balance stays closed; blocked cells stay blocked.

        Examples
        --------
        >>> import numpy as np
        >>> m = FloodModel(np.zeros((5, 5)), 1.0)
        >>> ground = m.elevation; ground[2, 2] = -1.0
        >>> m.set_elevation(ground)
        """
        z = np.asarray(elevation, dtype=np.float64)
        if z.shape != self.shape:
            raise ValueError(f"set_elevation: shape {z.shape} does not match the grid {self.shape}")
        if not np.isfinite(z).all():
            raise ValueError(f"set_elevation: {int((~np.isfinite(z)).sum())} cells are NaN or "
                             f"infinite; fill them before changing the ground")
        if np.abs(z).max() >= kernels.BLOCKED_BED / 10:
            raise ValueError(f"set_elevation: elevation reaches {np.abs(z).max():g} m; give metres "
                             f"above a datum (|z| < {kernels.BLOCKED_BED / 10:g})")
        self._z0 = z
        self._z[...] = np.where(self._blocked, kernels.BLOCKED_BED, z)

    @property
    def blocked(self) -> np.ndarray:
        """Cells water cannot enter (a copy)."""
        return self._blocked.copy()

    # ---------------------------------------------------------------- running
    def _check_state(self) -> float:
        """Validate the depth edited in place, book edits as 'set_depth'; returns the largest depth."""
        h = self._h
        ok, total, hmax = kernels.scan_depth(h, self._s.wext)
        if not ok:
            raise ValueError("FloodModel.depth holds NaN or negative values; depths must be >= 0 m")
        wet_blocked = self._blocked & (h > 0) if self._blocked.any() else None
        if wet_blocked is not None and wet_blocked.any():
            ids = np.argwhere(wet_blocked)[:5].tolist()
            warnings.warn(f"FloodModel: water on {int(wet_blocked.sum())} blocked cells removed "
                          f"(first (row, col): {ids})", UserWarning, stacklevel=3)
            h[wet_blocked] = 0
            ok, total, hmax = kernels.scan_depth(h, self._s.wext)
        storage = total * self._dx ** 2
        self._set_volume += storage - self._storage_seen
        self._storage_seen = storage
        return hmax

    def _storage(self) -> float:
        return float(np.sum(self._h, dtype=np.float64)) * self._dx ** 2

    def _step(self, until: float, track: bool = True) -> None:
        """Run the kernels from the model time to ``until``; raise FloodStallError if they stop."""
        hmax = self._check_state()
        params = self._params._replace(max_dt=self._max_dt(), track=bool(track))
        previous = numba.get_num_threads()
        threads = self._threads or threads_for(previous)
        self._threads_used = threads
        numba.set_num_threads(threads)
        tic = _clock.perf_counter()
        try:
            t, self._parity, _, self._umax, status = kernels.advance(
                self._time, until, self._parity, hmax, self._umax, self._s, self._forcing(), params)
        finally:
            self._wall += _clock.perf_counter() - tic
            numba.set_num_threads(previous)
        self._time = float(t) if status else until
        self._storage_seen = self._storage()
        if status:
            p = self._parity
            raise stall_error(status, self._time, self._h, self._z0, self._s.qxb[p],
                              self._s.qyb[p], self._dx, self._params.wet_depth)

    def advance(self, until_s: float) -> None:
        """Step with the stable time step to exactly ``until_s`` (s); maxima tracked every step.

        Raises :class:`~simulations.flood.stall.FloodStallError` (a ``RuntimeError``)
        naming the time and cell when the run cannot go on.

        Examples
        --------
        >>> import numpy as np
        >>> m = FloodModel(np.zeros((4, 4)), 1.0)
        >>> m.advance(30.0); m.time_s
        30.0
        """
        until = self._check_until(until_s)
        if until > self._time:
            self._step(until)

    def run(self, until_s: float, output_every_s: float, gauges: Mapping[str, tuple[int, int]] | None = None,
            *, track_every_step: bool = True) -> xr.Dataset:
        """Advance to the absolute time ``until_s`` (s) and return the outputs.

        Frames are written at each multiple of ``output_every_s`` after the
        current time, and at ``until_s``. Maxima and arrival times cover the
        model's whole history.

        Parameters
        ----------
        until_s : float
            End time (s since the scenario start), later than :attr:`time_s`.
        output_every_s : float
            Interval of the output frames (s).
        gauges : dict, optional
            ``{"name": (row, col)}``: depth and level series at these cells.
        track_every_step : bool
            Update maxima and arrival times every step (else only at outputs).

        Returns
        -------
        xarray.Dataset
            :meth:`state` variables (``depth``, ``speed``, ``hazard``) on
            ``(time, y, x)``, :meth:`result` variables on ``(y, x)``,
            ``gauge_depth`` and ``gauge_level`` on ``(gauge, time)``.

        Examples
        --------
        >>> import numpy as np
        >>> m = FloodModel(np.zeros((8, 8)), 1.0)
        >>> m.set_rainfall([0], [3600.0])              # 1 mm/s
        >>> round(float(m.run(10, 5).depth.isel(time=-1).mean()), 6)
        0.01
        """
        until = float(until_s)
        every = float(output_every_s)
        if not np.isfinite(until) or until <= self._time:
            raise ValueError(f"run: until_s={until_s} must be later than the model time {self._time} s")
        if not (np.isfinite(every) and every > 0):
            raise ValueError(f"run: output_every_s must be a positive number of seconds (got {output_every_s})")
        gauges = dict(gauges or {})
        cells = {name: grid_cell(rc[0], rc[1], self.shape, f"run gauge {name!r}") for name, rc in gauges.items()}
        times = frame_times(self._time, until, every)
        depth, speed = [], []
        for t_out in times:
            self._step(float(t_out), track_every_step)
            depth.append(self._h.copy())
            speed.append(self._speed())
            self._track_output(depth[-1], speed[-1])
        return self._dataset(times, np.stack(depth), np.stack(speed), cells)

    # ---------------------------------------------------------------- outputs
    def _speed(self) -> np.ndarray:
        """Cell-centred speed (m/s) of the current state; zero where shallower than SPEED_DEPTH."""
        return cell_speed(self._s.qxb[self._parity], self._s.qyb[self._parity], self._h)

    def _track_output(self, depth: np.ndarray, speed: np.ndarray) -> None:
        """Fold an output frame into the maxima and arrival times."""
        w = self._wet
        np.maximum(w[0], depth, out=w[0])
        arrived = np.isnan(w[1]) & (depth >= self._params.arrival_depth)
        w[1][arrived] = self._time
        np.maximum(w[2], speed, out=w[2])
        np.maximum(w[3], hazard(depth, speed), out=w[3])

    def _coords(self) -> dict:
        R, C = self.shape
        dx = self._dx
        x = self._origin[0] + (np.arange(C) + 0.5) * dx
        y = self._origin[1] - (np.arange(R) + 0.5) * dx
        return {"y": ("y", y, {"units": "m"}), "x": ("x", x, {"units": "m"})}

    def state(self) -> xr.Dataset:
        """The current frame: ``depth`` (m), ``speed`` (m/s) and ``hazard`` (m2/s) on ``(y, x)``.

        Examples
        --------
        >>> import numpy as np
        >>> FloodModel(np.zeros((3, 4)), 2.0).state().depth.shape
        (3, 4)
        """
        depth = self._h.copy()
        speed = self._speed()
        return xr.Dataset(
            {"depth": (("y", "x"), depth, {"units": "m"}),
             "speed": (("y", "x"), speed, {"units": "m/s"}),
             "hazard": (("y", "x"), hazard(depth, speed),
                        {"units": "m2/s", "long_name": "depth * (speed + 0.5)"})},
            coords=self._coords(), attrs={"time_s": self._time})

    def result(self) -> xr.Dataset:
        """Maxima over the whole history, arrival times (NaN: never reached), ground and blocks.

        Examples
        --------
        >>> import numpy as np
        >>> sorted(FloodModel(np.zeros((3, 4)), 2.0).result().data_vars)[:3]
        ['arrival_time', 'blocked', 'elevation']
        """
        w = self._wet
        return xr.Dataset(
            {"max_depth": (("y", "x"), w[0].copy(), {"units": "m"}),
             "max_speed": (("y", "x"), w[2].copy(), {"units": "m/s"}),
             "max_hazard": (("y", "x"), w[3].copy(), {"units": "m2/s"}),
             "arrival_time": (("y", "x"), w[1].astype(np.float64),
                              {"units": "s", "threshold_m": float(self._params.arrival_depth)}),
             "elevation": (("y", "x"), self._z0.copy(), {"units": "m"}),
             "blocked": (("y", "x"), self._blocked.copy())},
            coords=self._coords())

    def _dataset(self, times, depth, speed, cells) -> xr.Dataset:
        names = list(cells)
        rows = np.array([cells[n][0] for n in names], np.int64)
        cols = np.array([cells[n][1] for n in names], np.int64)
        gd = depth[:, rows, cols].T.astype(np.float64)
        ds = xr.Dataset(
            {
                "depth": (("time", "y", "x"), depth, {"units": "m"}),
                "speed": (("time", "y", "x"), speed, {"units": "m/s"}),
                "hazard": (("time", "y", "x"), hazard(depth, speed),
                           {"units": "m2/s", "long_name": "depth * (speed + 0.5)"}),
                "gauge_depth": (("gauge", "time"), gd, {"units": "m"}),
                "gauge_level": (("gauge", "time"), gd + self._z0[rows, cols][:, None], {"units": "m"}),
            },
            coords={"time": ("time", np.asarray(times, np.float64), {"units": "s"}), **self._coords(),
                    "gauge": ("gauge", np.array(names, dtype=object)),
                    "gauge_row": ("gauge", rows), "gauge_col": ("gauge", cols)},
            attrs={"cell_size": self._dx, "scheme": "local-inertial (Bates 2010, q-centred de Almeida "
                   "2012, implicit friction)", "dtype": str(self._dtype),
                   "volume_error": self.volume_error()},
        )
        return ds.merge(self.result())

    # ------------------------------------------------------------ diagnostics
    def stats(self) -> dict:
        """Steps, step lengths, cell updates (active and whole-grid) and their rates.

        Examples
        --------
        >>> import numpy as np
        >>> FloodModel(np.zeros((4, 4)), 1.0).stats()["steps"]
        0
        """
        steps, dt_sum, dt_min, active, dt_max = self._stats
        total = steps * self.shape[0] * self.shape[1]
        wall = self._wall
        return {"steps": int(steps), "min_dt": float(dt_min) if steps else float("nan"),
                "mean_dt": dt_sum / steps if steps else float("nan"),
                "max_dt": float(dt_max) if steps else float("nan"),
                "cell_updates": int(active), "cell_updates_total_grid": int(total), "wall_s": wall,
                "cell_updates_per_s": active / wall if wall else float("nan"),
                "total_grid_updates_per_s": total / wall if wall else float("nan"),
                "threads": self._threads_used or self._threads or numba.get_num_threads()}

    def volume_balance(self) -> dict:
        """Volume terms (m3) since the model was built, and the balance error.

        ``error = storage - (set_depth + inflow + rain + boundary - losses - pumped - outflow)``,
        where ``set_depth`` is the water put in by setting :attr:`depth` and
        ``boundary`` the net volume added by held levels.

        Examples
        --------
        >>> import numpy as np
        >>> FloodModel(np.zeros((4, 4)), 1.0).volume_balance()["error"]
        0.0
        """
        terms = dict(zip(kernels.ACC_NAMES, map(float, self._acc)))
        terms["set_depth"] = self._set_volume + (self._storage() - self._storage_seen)
        terms["storage"] = self._storage()
        terms["error"] = terms["storage"] - (terms["set_depth"] + terms["inflow"] + terms["rain"]
                                             + terms["boundary"] - terms["losses"] - terms["pumped"]
                                             - terms["outflow"])
        return terms

    def balance(self) -> dict:
        """The engine contract's conservation account: :meth:`volume_balance` (m3, with ``error``).

        Examples
        --------
        >>> import numpy as np
        >>> FloodModel(np.zeros((4, 4)), 1.0).balance()["storage"]
        0.0
        """
        return self.volume_balance()

    def volume_error(self) -> float:
        """Relative volume-balance error: ``|error|`` over all the water put in (set, inflow, rain, boundary).

        Examples
        --------
        >>> import numpy as np
        >>> FloodModel(np.zeros((4, 4)), 1.0).volume_error()
        0.0
        """
        b = self.volume_balance()
        scale = abs(b["set_depth"]) + b["inflow"] + b["rain"] + abs(b["boundary"])
        return abs(b["error"]) / scale if scale > 0 else 0.0
