"""What a flood does to the city: depths at buildings and along roads, flooded
buildings, closed roads, people affected and key figures per frame.

Examples
--------
>>> imp = impacts(run.flood, grid, city, scenario.flood.impacts)   # doctest: +SKIP
>>> imp.buildings.query("flooded")                                 # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
import xarray as xr

from simulations.flood import hazard as flood_hazard
from twin.engines.flood.grid import FloodGrid

__all__ = ["Impacts", "impacts"]

_FRAMES_PER_BLOCK = 32
_COLUMNS = {"building": ["max_depth", "first_flooded_s", "flooded", "people", "x", "y"],
            "road": ["max_depth", "closed_from_s", "closed", "x", "y"]}


@dataclass(eq=False)
class Impacts:
    """What a flood does to the city, per building, per road and per frame.

    Times are seconds since the scenario start (``*_s`` columns); when
    ``start`` is known the tables also carry time-zone aware ``first_flooded``
    / ``closed_from`` / ``time`` columns.

    Attributes
    ----------
    building_depth : xarray.DataArray
        Flood depth against each building (m), ``(time, building)``.
    road_depth : xarray.DataArray
        Maximum depth along each road (m), ``(time, road)``.
    buildings : pandas.DataFrame
        ``id, max_depth, first_flooded_s, flooded, people, x, y``.
    roads : pandas.DataFrame
        ``id, max_depth, closed_from_s, closed, x, y``.
    kpis : pandas.DataFrame
        Per frame: ``time_s, flooded_area_m2, max_depth_m, buildings_flooded,
        roads_closed, people_affected, max_hazard_m2s, hazard_x, hazard_y``.
    start : pandas.Timestamp or None
    """

    building_depth: xr.DataArray
    road_depth: xr.DataArray
    buildings: pd.DataFrame
    roads: pd.DataFrame
    kpis: pd.DataFrame
    start: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        if self.start is not None:
            self.buildings["first_flooded"] = _clock(self.start, self.buildings["first_flooded_s"])
            self.roads["closed_from"] = _clock(self.start, self.roads["closed_from_s"])
            self.kpis.insert(0, "time", _clock(self.start, self.kpis["time_s"]))

    def to_dataset(self) -> xr.Dataset:
        """Everything as one Dataset (dims ``time``, ``building``, ``road``) for Zarr."""
        b = self.buildings.set_index("id").drop(columns=["first_flooded"], errors="ignore")
        r = self.roads.set_index("id").drop(columns=["closed_from"], errors="ignore")
        ds = xr.Dataset({"building_depth": self.building_depth, "road_depth": self.road_depth})
        for col in b:
            ds[f"building_{col}"] = ("building", b[col].to_numpy())
        for col in r:
            ds[f"road_{col}"] = ("road", r[col].to_numpy())
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, kpis: pd.DataFrame,
                     start: pd.Timestamp | None = None) -> "Impacts":
        """Inverse of :meth:`to_dataset`."""
        def table(dim: str) -> pd.DataFrame:
            cols = {name[len(dim) + 1:]: ds[name].values for name in ds.data_vars
                    if ds[name].dims == (dim,)}
            order = [c for c in _COLUMNS[dim] if c in cols] + sorted(set(cols) - set(_COLUMNS[dim]))
            return pd.DataFrame({"id": ds[dim].values.astype(object).astype(str),
                                 **{c: cols[c] for c in order}})
        return cls(ds["building_depth"].load(), ds["road_depth"].load(), table("building"),
                   table("road"), kpis.drop(columns=["time"], errors="ignore"), start)


def impacts(ds: xr.Dataset, grid: FloodGrid, city, thresholds, *,
            start: pd.Timestamp | None = None) -> Impacts:
    """Flood frames -> depths at buildings and roads, flooded buildings, closed
    roads, people affected and key figures per frame.

    Parameters
    ----------
    ds : xarray.Dataset
        ``depth(time, y, x)`` and optionally ``speed(time, y, x)`` on ``grid``;
        ``time`` in seconds since the start. Read in blocks of frames, so a
        lazy Dataset works on long runs.
    grid : FloodGrid
    city : twin.City
        Gives building ``population`` (when present) and positions.
    thresholds : twin.scenario.Thresholds
        ``building_flooded_depth_m``, ``road_closed_depth_m``, ``flooded_cell_depth_m``.
    start : pandas.Timestamp, optional
        Adds clock-time columns.

    Returns
    -------
    Impacts

    Examples
    --------
    >>> imp = impacts(run_ds, grid, city, scenario.impacts)  # doctest: +SKIP
    >>> imp.buildings.query("flooded")                        # doctest: +SKIP
    """
    times = ds["time"].values.astype(float)
    bdepth, rdepth, kpi = [], [], []
    land = ~grid.blocked & ~grid.any_water
    for lo in range(0, len(times), _FRAMES_PER_BLOCK):
        block = ds.isel(time=slice(lo, lo + _FRAMES_PER_BLOCK))
        depth = np.nan_to_num(block["depth"].values.astype("float64"))
        speed = (np.nan_to_num(block["speed"].values.astype("float64"))
                 if "speed" in block else np.zeros_like(depth))
        bdepth.append(_max_by_group(depth, grid.building_cells, len(grid.building_ids)))
        rdepth.append(_max_by_group(depth, grid.road_cells, len(grid.road_ids)))
        kpi.append(_frame_figures(depth, speed, land, grid, thresholds))
    n_t = len(times)
    bd = np.concatenate(bdepth) if bdepth else np.zeros((n_t, len(grid.building_ids)))
    rd = np.concatenate(rdepth) if rdepth else np.zeros((n_t, len(grid.road_ids)))
    people = (city.buildings["population"].fillna(0).to_numpy(float)
              if "population" in city.buildings else np.zeros(len(grid.building_ids)))
    b_flooded = bd >= thresholds.building_flooded_depth_m
    r_closed = rd >= thresholds.road_closed_depth_m
    kpis = pd.concat(kpi, ignore_index=True) if kpi else pd.DataFrame(
        columns=["flooded_area_m2", "max_depth_m", "max_hazard_m2s", "hazard_x", "hazard_y"])
    kpis.insert(0, "time_s", times)
    kpis.insert(3, "buildings_flooded", b_flooded.sum(axis=1))
    kpis.insert(4, "roads_closed", r_closed.sum(axis=1))
    kpis.insert(5, "people_affected", b_flooded.astype(float) @ people)
    bx, by = _points(city.buildings.geometry.values, shapely.point_on_surface)
    rx, ry = _points(city.roads.geometry.values,
                     lambda g: shapely.line_interpolate_point(g, 0.5, normalized=True))
    buildings = pd.DataFrame({"id": grid.building_ids, "max_depth": bd.max(axis=0, initial=0.0),
                              "first_flooded_s": _first(b_flooded, times),
                              "flooded": b_flooded.any(axis=0), "people": people,
                              "x": bx, "y": by})
    roads = pd.DataFrame({"id": grid.road_ids, "max_depth": rd.max(axis=0, initial=0.0),
                          "closed_from_s": _first(r_closed, times), "closed": r_closed.any(axis=0),
                          "x": rx, "y": ry})
    return Impacts(
        building_depth=xr.DataArray(bd.astype("float32"), dims=("time", "building"),
                                    coords={"time": times, "building": grid.building_ids},
                                    name="building_depth", attrs={"units": "m"}),
        road_depth=xr.DataArray(rd.astype("float32"), dims=("time", "road"),
                                coords={"time": times, "road": grid.road_ids},
                                name="road_depth", attrs={"units": "m"}),
        buildings=buildings, roads=roads, kpis=kpis, start=start)


def _max_by_group(depth: np.ndarray, cells, n: int) -> np.ndarray:
    """``(time, n)`` maximum of ``depth`` over each group's cells (0 for none)."""
    group, row, col = cells
    out = np.zeros((depth.shape[0], n))
    if len(group) == 0:
        return out
    present, first = np.unique(group, return_index=True)
    out[:, present] = np.maximum.reduceat(depth[:, row, col], first, axis=1)
    return out


def _frame_figures(depth, speed, land, grid, thresholds) -> pd.DataFrame:
    flat = depth.reshape(len(depth), -1)
    landf = land.ravel()
    wet = (flat >= thresholds.flooded_cell_depth_m) & landf
    hazard = np.where(landf, flood_hazard(flat, speed.reshape(len(depth), -1)), 0.0)
    at = np.argmax(hazard, axis=1)
    row, col = np.unravel_index(at, grid.shape)
    return pd.DataFrame({"flooded_area_m2": wet.sum(axis=1) * grid.cell_size ** 2,
                         "max_depth_m": np.where(landf, flat, 0.0).max(axis=1, initial=0.0),
                         "max_hazard_m2s": hazard[np.arange(len(at)), at],
                         "hazard_x": grid.x[col], "hazard_y": grid.y[row]})


def _first(flag: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Time of the first True along axis 0 per column; NaN when never."""
    if flag.shape[0] == 0:
        return np.full(flag.shape[1], np.nan)
    return np.where(flag.any(axis=0), times[np.argmax(flag, axis=0)], np.nan)


def _points(geoms, fn) -> tuple[np.ndarray, np.ndarray]:
    if len(geoms) == 0:
        return np.zeros(0), np.zeros(0)
    pts = fn(geoms)
    return shapely.get_x(pts), shapely.get_y(pts)


def _clock(start: pd.Timestamp, seconds) -> pd.Series:
    return start + pd.to_timedelta(pd.Series(seconds, dtype=float), unit="s")
