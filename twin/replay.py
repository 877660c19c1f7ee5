"""The replay store: a scenario run saved as Zarr, read back lazily.

A run folder is one Zarr store (written through xarray) with groups

- ``flood``: ``depth, speed, hazard`` ``(time, y, x)``, the fields
  ``max_depth, max_speed, max_hazard, arrival_time`` ``(y, x)`` and the engine's ground
  ``elevation`` (as at the end of the run, after any levee breach) and ``blocked``
  cells; ``time`` in seconds since the start,
  ``x, y`` cell centres in the city CRS;
- ``impacts``: depth per building and per road over time and their summaries;
- ``kpis``: key figures per frame;
- ``events``: the alerts raised;

and root attributes: ``status`` (``running``, ``partial``, ``complete``),
``name``, ``start``, ``crs``, ``cell_size``, ``scenario_text``,
``scenario_source`` and ``provenance`` (versions, input hashes, wall time,
engine statistics).
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
from twin.coupling import Impacts
from twin.scenario import Scenario, parse_scenario

__all__ = ["Run", "open_run", "FORMAT"]

FORMAT = "citytwin-run"


class Run:
    """A scenario run in a Zarr store; everything is read lazily on first use.

    Parameters
    ----------
    path : path-like
        The run folder (``*.zarr``). Use :func:`open_run`.

    Attributes
    ----------
    path : pathlib.Path
    traffic, crowd : None
        Not simulated by flood runs.

    Examples
    --------
    >>> run = open_run("runs/storm.zarr")              # doctest: +SKIP
    >>> run.status, len(run.times)                     # doctest: +SKIP
    ('complete', 37)
    >>> run.flood.depth.isel(time=-1).max().item()     # doctest: +SKIP
    1.42
    >>> run.events.query("severity == 'alarm'")        # doctest: +SKIP
    """

    traffic = None
    crowd = None

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

    def __repr__(self) -> str:
        return f"<Run {self.name!r} {self.status}: {len(self.times)} frames at {self.path}>"

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
        except (FileNotFoundError, KeyError, zarr.errors.GroupNotFoundError) as exc:
            raise DataError(f"run has no '{name}' group (status {self.status}; {exc})",
                            file=self.path, fix="run the scenario again with `twin run`") from None

    @cached_property
    def flood(self) -> xr.Dataset:
        """``depth, speed, hazard (time, y, x)``; ``max_depth, max_speed, max_hazard,
        arrival_time, elevation, blocked (y, x)``; attrs ``crs`` (WKT) and ``cell_size``."""
        ds = self._group("flood")
        ds.attrs.update(crs=self._attrs["crs"], cell_size=self._attrs["cell_size"])
        return ds

    @property
    def times(self) -> pd.DatetimeIndex:
        """Clock time of each frame, in the scenario's zone."""
        return pd.DatetimeIndex(self.start + pd.to_timedelta(self.flood["time"].values, unit="s"))

    def frame(self, i: int) -> np.ndarray:
        """Depth (m) of frame ``i``, ``(rows, cols)``."""
        return self.flood["depth"].isel(time=i).values

    @cached_property
    def kpis(self) -> pd.DataFrame:
        """Per frame: ``time, time_s, flooded_area_m2, max_depth_m, buildings_flooded,
        roads_closed, people_affected, rain_mm_h, sensors_in_alarm, ...``."""
        df = self._group("kpis").to_dataframe().reset_index().rename(columns={"time": "time_s"})
        df.insert(0, "time", self.start + pd.to_timedelta(df["time_s"], unit="s"))
        return df

    @cached_property
    def impacts(self) -> Impacts:
        """``.buildings`` (id, max_depth, first_flooded, flooded, people, ...) and
        ``.roads`` (id, max_depth, closed_from, closed, ...)."""
        return Impacts.from_dataset(self._group("impacts"), self.kpis, self.start)

    @property
    def building_depth(self) -> xr.DataArray:
        """Depth against each building (m), ``(time, building)``."""
        return self.impacts.building_depth

    @property
    def road_depth(self) -> xr.DataArray:
        """Maximum depth along each road (m), ``(time, road)``."""
        return self.impacts.road_depth

    @cached_property
    def events(self) -> pd.DataFrame:
        """Alerts: ``time (UTC), kind, severity, where, x, y, message``."""
        df = self._group("events").to_dataframe().reset_index(drop=True)
        df["time"] = pd.to_datetime(df["time"]).dt.tz_localize("UTC")
        for col in ("kind", "severity", "where", "message"):
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
                 f"{len(k)} frames"]
        if len(k):
            peak = k.loc[k["flooded_area_m2"].idxmax()]
            lines.append(f"  Flooding:  max depth {k['max_depth_m'].max():.2f} m on land; "
                         f"{peak['flooded_area_m2'] / 1e4:.2f} ha flooded at "
                         f"{peak['time'].strftime('%H:%M')}")
        b, r = self.impacts.buildings, self.impacts.roads
        lines.append(f"  Buildings: {int(b['flooded'].sum())} of {len(b)} flooded, "
                     f"{b.loc[b['flooded'], 'people'].sum():,.0f} people affected")
        lines.append(f"  Roads:     {int(r['closed'].sum())} of {len(r)} closed at some time")
        ev = self.events["severity"].value_counts()
        lines.append("  Alerts:    " + (", ".join(f"{ev.get(s, 0)} {s}"
                                                  for s in ("critical", "alarm", "warning", "info"))
                                        if len(ev) else "none"))
        p = self.provenance
        if "wall_time_s" in p:
            lines.append(f"  Compute:   {p['wall_time_s']:.1f} s wall, "
                         f"{p.get('real_time_factor', float('nan')):.0f}x real time, "
                         f"volume error {p.get('volume_error', float('nan')):.2e}")
        return "\n".join(lines)


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
