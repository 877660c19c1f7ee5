"""The engine contract every simulation in :mod:`simulations` follows.

An engine is built from plain arrays and numbers (no City, no files), in SI
units, and

- advances itself: :meth:`Engine.advance` steps with its own stable time step
  to exactly ``until_s``; :attr:`Engine.time_s` is where it stands;
- shows its state: :meth:`Engine.state` is the current frame (the
  time-varying outputs, no ``time`` dimension), :meth:`Engine.result` the
  accumulated fields (maxima, arrival or exit times, ...);
- proves itself: :meth:`Engine.balance` is its conservation account and
  :meth:`Engine.stats` its steps, time-step range and throughput;
- accepts exchanges from other engines through named setters (documented by
  each engine).

:meth:`Engine.run` is built on these: it advances frame by frame and stacks
the states along ``time``, then merges the result. The twin's runner drives
engines only through this interface.

Examples
--------
>>> import numpy as np, xarray as xr
>>> class Clock(Engine):
...     def __init__(self):
...         self._t = 0.0
...     @property
...     def time_s(self):
...         return self._t
...     def advance(self, until_s):
...         self._t = self._check_until(until_s)
...     def state(self):
...         return xr.Dataset({"elapsed": ((), self._t)})
...     def result(self):
...         return xr.Dataset()
...     def balance(self):
...         return {"error": 0.0}
...     def stats(self):
...         return {"steps": 0}
>>> Clock().run(10.0, 4.0)["time"].values.tolist()
[4.0, 8.0, 10.0]
"""
from __future__ import annotations

import abc

import numpy as np
import xarray as xr

__all__ = ["Engine", "frame_times"]


def frame_times(now_s: float, until_s: float, every_s: float) -> np.ndarray:
    """Output times after ``now_s``: each multiple of ``every_s``, then ``until_s``.

    Examples
    --------
    >>> frame_times(0.0, 10.0, 4.0).tolist()
    [4.0, 8.0, 10.0]
    >>> frame_times(5.0, 10.0, 5.0).tolist()
    [10.0]
    """
    until, every = float(until_s), float(every_s)
    if not (np.isfinite(every) and every > 0):
        raise ValueError(f"output_every_s must be a positive number of seconds (got {every_s})")
    k0 = np.floor(now_s / every) + 1
    times = np.arange(k0, np.ceil(until / every)) * every
    return np.append(times[(times > now_s) & (times < until)], until)


class Engine(abc.ABC):
    """Base class of the simulation engines (see the module docstring)."""

    @property
    @abc.abstractmethod
    def time_s(self) -> float:
        """Model time (s since the scenario start)."""

    @abc.abstractmethod
    def advance(self, until_s: float) -> None:
        """Step with the engine's own stable time step to exactly ``until_s``."""

    @abc.abstractmethod
    def state(self) -> xr.Dataset:
        """The current frame: time-varying outputs, without a ``time`` dimension."""

    @abc.abstractmethod
    def result(self) -> xr.Dataset:
        """Fields accumulated over the whole history (maxima, arrival times, ...)."""

    @abc.abstractmethod
    def balance(self) -> dict:
        """Conservation account (volume, vehicles, people); includes ``"error"``."""

    @abc.abstractmethod
    def stats(self) -> dict:
        """Steps, time-step range, wall time and throughput."""

    def _check_until(self, until_s: float) -> float:
        """``until_s`` as a float, checked to be finite and not before :attr:`time_s`."""
        until = float(until_s)
        if not np.isfinite(until) or until < self.time_s:
            raise ValueError(f"until_s={until_s} must be a finite time not before the "
                             f"model time {self.time_s} s")
        return until

    def run(self, until_s: float, output_every_s: float) -> xr.Dataset:
        """Advance to ``until_s``, one frame each ``output_every_s`` and one at ``until_s``.

        Returns
        -------
        xarray.Dataset
            The frames stacked on ``time`` (s), merged with :meth:`result`.
        """
        until = float(until_s)
        if not np.isfinite(until) or until <= self.time_s:
            raise ValueError(f"run: until_s={until_s} must be later than the model time "
                             f"{self.time_s} s")
        frames = []
        for t in frame_times(self.time_s, until, output_every_s):
            self.advance(t)
            frames.append(self.state().expand_dims(time=[float(t)]))
        ds = xr.concat(frames, dim="time", data_vars="all", coords="minimal",
                       compat="override")
        ds["time"].attrs.update(units="s", long_name="seconds since the scenario start")
        return ds.merge(self.result(), compat="override")
