"""The replay store: a scenario run saved as Zarr, read back lazily.

A run folder is one Zarr store (written through xarray) with groups

- one per engine (``flood``, ``traffic``, ``crowd``, ...): its frames on
  ``time`` (seconds since the start) and its accumulated fields; flood, for
  example, holds ``depth, speed, hazard`` ``(time, y, x)``, ``max_depth,
  max_speed, max_hazard, arrival_time, elevation, blocked`` ``(y, x)`` with
  ``x, y`` cell centres in the city CRS;
- ``clock``: the frame times of the run;
- extra groups of the engines (flood's ``impacts``: depth per building and
  per road over time and their summaries);
- ``kpis``: key figures per frame, all engines;
- ``events``: the alerts raised, all engines (column ``engine``);

and root attributes: ``status`` (``running``, ``partial``, ``complete``),
``engines``, ``name``, ``start``, ``crs``, ``scenario_text``,
``scenario_source`` and ``provenance`` (versions, input hashes, wall time,
each engine's balance and statistics).

Runs written before the engine contract (no ``engines`` attribute) open as
flood runs.
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from pyproj import CRS

from geodata.errors import DataError
from twin.alerts import EVENT_COLUMNS
from twin.scenario import Scenario, parse_scenario

__all__ = ["Run", "open_run", "run_status", "chunk_counts", "FORMAT", "CLOCK"]

FORMAT = "citytwin-run"
CLOCK = "clock"
_KNOWN = ("flood", "traffic", "crowd")


class Run:
    """A scenario run in a Zarr store; everything is read lazily on first use.

    Parameters
    ----------
    path : path-like
        The run folder (``*.zarr``). Use :func:`open_run`.

    Attributes
    ----------
    path : pathlib.Path

    Notes
    -----
    ``run[name]`` (or ``run.<name>``) is an engine's group as an
    ``xarray.Dataset``; ``run.flood``, ``run.traffic`` and ``run.crowd`` are
    None when the run has no such engine.

    Examples
    --------
    >>> run = open_run("runs/storm.zarr")              # doctest: +SKIP
    >>> run.status, len(run.times)                     # doctest: +SKIP
    ('complete', 37)
    >>> run.flood.depth.isel(time=-1).max().item()     # doctest: +SKIP
    1.42
    >>> run.events.query("severity == 'alarm'")        # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            self._attrs = dict(zarr.open_group(self.path, mode="r").attrs)
        except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError, OSError) as exc:
            raise DataError(f"is not a readable run ({type(exc).__name__}: {exc})",
                            file=self.path,
                            fix="give a folder written by `twin run` / twin.run_scenario") from None
        if self._attrs.get("format") != FORMAT:
            raise DataError("is a Zarr store but not a twin run (no 'format' attribute)",
                            file=self.path,
                            fix="give a folder written by `twin run` / twin.run_scenario")
        _check_chunks(self.path, self._attrs.get("chunks", {}))

    def __repr__(self) -> str:
        return (f"<Run {self.name!r} {self.status} ({', '.join(self.engines)}): "
                f"{len(self.times)} frames at {self.path}>")

    @property
    def engines(self) -> tuple[str, ...]:
        """Names of the engines in the run, in exchange order."""
        if "engines" in self._attrs:
            return tuple(self._attrs["engines"])
        return tuple(n for n in _KNOWN if (self.path / n).is_dir())

    @property
    def groups(self) -> tuple[str, ...]:
        """Extra groups the engines wrote (e.g. flood ``impacts``, ``crowd_exits``)."""
        return tuple(self._attrs.get("groups", ("impacts",) if "engines" not in self._attrs
                                     else ()))

    def __getitem__(self, name: str) -> xr.Dataset:
        """An engine's group, or an extra group of the run."""
        if name in self.engines:
            return self._engine(name)
        if name in self.groups:
            return self._group(name)
        raise KeyError(f"run has no engine or group {name!r} (engines: "
                       f"{', '.join(self.engines)}; groups: {', '.join(self.groups) or 'none'})")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _KNOWN or name in self.__dict__.get("_attrs", {}).get("engines", ()):
            return self._engine(name) if name in self.engines else None
        raise AttributeError(f"'Run' object has no attribute {name!r}")

    # -- metadata --------------------------------------------------------------
    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self._attrs.get("name", ""))

    @property
    def status(self) -> str:
        """``"complete"``, ``"partial"`` (interrupted) or ``"running"``."""
        return str(self._attrs.get("status", "unknown"))

    @property
    def start(self) -> pd.Timestamp:
        """Scenario start, time-zone aware."""
        return pd.Timestamp(self._attrs["start"])

    @property
    def crs(self) -> CRS:
        """The city CRS of ``x, y``."""
        return CRS.from_wkt(self._attrs["crs"])

    @property
    def provenance(self) -> dict:
        """Package versions, input hashes, wall time, engine statistics."""
        return dict(self._attrs.get("provenance", {}))

    @property
    def scenario_text(self) -> str:
        """The scenario TOML the run was made from."""
        return str(self._attrs.get("scenario_text", ""))

    @cached_property
    def scenario(self) -> Scenario:
        """The scenario, parsed again from :attr:`scenario_text` (needs its city
        to exist where it was)."""
        source = self._attrs.get("scenario_source")
        return parse_scenario(self.scenario_text, source=source)

    # -- results -----------------------------------------------------------------
    def _group(self, name: str) -> xr.Dataset:
        try:
            return xr.open_zarr(self.path, group=name, consolidated=False)
        except Exception as exc:       # a missing, truncated or corrupt group
            raise DataError(f"run has no readable '{name}' group (status {self.status}; "
                            f"{type(exc).__name__}: {exc})", file=self.path,
                            fix="run the scenario again with `twin run`") from None

    def _engine(self, name: str) -> xr.Dataset:
        cache = self.__dict__.setdefault("_engines", {})
        if name not in cache:
            ds = self._group(name)
            ds.attrs.update(crs=self._attrs["crs"])
            if self._attrs.get("cell_size") is not None and name == self.engines[0]:
                ds.attrs.setdefault("cell_size", self._attrs["cell_size"])
            cache[name] = ds
        return cache[name]

    @cached_property
    def times_s(self) -> np.ndarray:
        """Frame times (s since the start), from the run's clock."""
        if (self.path / CLOCK).is_dir():
            return self._group(CLOCK)["time"].values.astype(float)
        return self._engine(self.engines[0])["time"].values.astype(float)

    @property
    def times(self) -> pd.DatetimeIndex:
        """Clock time of each frame, in the scenario's zone."""
        return pd.DatetimeIndex(self.start + pd.to_timedelta(self.times_s, unit="s"))

    def frame(self, i: int) -> np.ndarray:
        """Flood depth (m) of frame ``i``, ``(rows, cols)``."""
        return self["flood"]["depth"].isel(time=i).values

    @cached_property
    def kpis(self) -> pd.DataFrame:
        """Per frame: ``time, time_s, flooded_area_m2, max_depth_m, buildings_flooded,
        roads_closed, people_affected, rain_mm_h, sensors_in_alarm, ...``."""
        df = self._group("kpis").to_dataframe().reset_index().rename(columns={"time": "time_s"})
        df.insert(0, "time", self.start + pd.to_timedelta(df["time_s"], unit="s"))
        return df

    @cached_property
    def impacts(self):
        """Flood impacts (:class:`twin.engines.flood.Impacts`), None without flood:
        ``.buildings`` (id, max_depth, first_flooded, flooded, people, ...) and
        ``.roads`` (id, max_depth, closed_from, closed, ...)."""
        if not (self.path / "impacts").is_dir():
            return None
        from twin.engines.flood.impacts import Impacts
        return Impacts.from_dataset(self._group("impacts"), self.kpis, self.start)

    @property
    def building_depth(self) -> xr.DataArray | None:
        """Flood depth against each building (m), ``(time, building)``."""
        return None if self.impacts is None else self.impacts.building_depth

    @property
    def road_depth(self) -> xr.DataArray | None:
        """Maximum flood depth along each road (m), ``(time, road)``."""
        return None if self.impacts is None else self.impacts.road_depth

    @cached_property
    def events(self) -> pd.DataFrame:
        """Alerts: ``time (UTC), kind, severity, where, x, y, message``."""
        df = self._group("events").to_dataframe().reset_index(drop=True)
        df["time"] = pd.to_datetime(df["time"]).dt.tz_localize("UTC")
        if "engine" not in df:
            df["engine"] = "flood"
        for col in ("kind", "severity", "where", "message", "engine"):
            df[col] = df[col].fillna("").astype(str) if len(df) else df[col].astype(str)
        return df[EVENT_COLUMNS]

    def summary(self) -> str:
        """A few lines for people: period, frames, worst moment, impacts, alerts.

        Examples
        --------
        >>> print(run.summary())  # doctest: +SKIP
        """
        k = self.kpis
        lines = [f"Run: {self.name} [{self.status}]", f"  Store:     {self.path}",
                 f"  Period:    {self.start.isoformat()} + {k['time_s'].max() / 3600:.2f} h, "
                 f"{len(k)} frames",
                 f"  Engines:   {', '.join(self.engines)}"]
        from twin.engines import adapters
        known = adapters()
        for name in self.engines:
            if name in known:
                lines.extend(known[name].summary(self))
        ev = self.events["severity"].value_counts()
        lines.append("  Alerts:    " + (", ".join(f"{ev.get(s, 0)} {s}"
                                                  for s in ("critical", "alarm", "warning", "info"))
                                        if len(ev) else "none"))
        p = self.provenance
        if "wall_time_s" in p:
            lines.append(f"  Compute:   {p['wall_time_s']:.1f} s wall, "
                         f"{p.get('real_time_factor') or float('nan'):.0f}x real time")
        return "\n".join(lines)


def chunk_counts(path: str | os.PathLike) -> dict:
    """Number of chunk files of every array in a Zarr v3 store, by array path.

    The runner records them when a run is saved; :func:`open_run` compares, so
    a chunk file lost later (which Zarr would read as fill values) is noticed.

    Examples
    --------
    >>> chunk_counts("no/such/store")
    {}
    """
    root = Path(path)
    out = {}
    for meta in root.rglob("zarr.json"):
        chunks = meta.parent / "c"
        if chunks.is_dir():
            out[meta.parent.relative_to(root).as_posix()] = sum(
                1 for p in chunks.rglob("*") if p.is_file())
    return out


def _check_chunks(path: Path, recorded: dict) -> None:
    """Raise DataError when chunk files recorded at saving time are missing."""
    if not recorded:
        return
    now = chunk_counts(path)
    lost = {k: (n, now.get(k, 0)) for k, n in recorded.items() if now.get(k, 0) < n}
    if lost:
        name, (was, left) = next(iter(lost.items()))
        more = f" and {len(lost) - 1} more arrays" if len(lost) > 1 else ""
        raise DataError(f"is damaged: array '{name}' has {left} of its {was} chunk files{more}",
                        file=path, fix="restore the run from a copy or run the scenario again "
                                       "with `twin run`")


def run_status(path: str | os.PathLike) -> str | None:
    """The status of the run at ``path`` (``complete``, ``partial``, ...), None when
    it is not a run.

    Examples
    --------
    >>> run_status("no/such/run.zarr") is None
    True
    """
    try:
        return Run(path).status
    except DataError:
        return None


def open_run(path: str | os.PathLike) -> Run:
    """Open a run written by :func:`twin.run_scenario` (lazily).

    Raises
    ------
    DataError
        The path is missing or not a run.

    Examples
    --------
    >>> run = open_run("runs/demo.zarr")  # doctest: +SKIP
    """
    return Run(path)
