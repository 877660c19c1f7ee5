"""Coupling between the City and the flood engine, both ways.

City -> engine: :func:`flood_grid` turns the terrain, buildings, land use and
water into the arrays :class:`simulations.flood.FloodModel` takes (elevation,
Manning's n, blocked cells) plus index tables that tie cells back to buildings
and roads; :func:`rain_field` interpolates the rain gauges onto the grid;
:func:`design_rain`, :func:`river_level` and :func:`locate` turn the other
scenario forcing into engine inputs.

Engine -> city: :func:`impacts` turns flood frames into depths at buildings
and along roads, flooded buildings, closed roads, people affected and
per-frame key figures.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio.features
import shapely
import xarray as xr
from affine import Affine
from pyproj import CRS

from geodata.errors import DataError, DataWarning, describe_ids

__all__ = ["FloodGrid", "Impacts", "flood_grid", "rain_field", "design_rain", "river_level",
           "locate", "impacts", "lower_ground", "gauge_weights", "initial_depth"]

_RING = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
_FRAMES_PER_BLOCK = 32
_RAIN_KINDS = ("rain_gauge", "weather_station")
_COLUMNS = {"building": ["max_depth", "first_flooded_s", "flooded", "people", "x", "y"],
            "road": ["max_depth", "closed_from_s", "closed", "x", "y"]}


@dataclass(eq=False)
class FloodGrid:
    """The city on the flood engine's grid.

    Attributes
    ----------
    elevation : numpy.ndarray
        Ground elevation (m), ``(rows, cols)``, row 0 north; buildings raised
        to their roofs when ``buildings == "raised"``.
    manning : numpy.ndarray
        Manning's n per cell from the land use.
    blocked : numpy.ndarray of bool
        Cells outside the domain: no terrain, or a building when ``"blocked"``.
    drained : numpy.ndarray of bool
        Land cells with sewers (urban land-use classes).
    water : dict
        Water ``kind`` (``"river"``, ``"lake"``, ...) -> bool mask of the
        cells its polygons touch.
    transform : affine.Affine
        ``(col, row)`` -> ``(x, y)`` of cell corners.
    crs : pyproj.CRS
    buildings : {"blocked", "raised"}
    building_ids : numpy.ndarray
        Building ids, position ``i`` is building number ``i``.
    building_index : numpy.ndarray of int32
        Building number of each cell, -1 where none.
    building_cells : tuple of numpy.ndarray
        ``(building, row, col)``: the open land cells (not water) in a
        one-cell ring around each footprint, sorted by building; where a
        building's flood depth is read.
    road_ids : numpy.ndarray
    road_cells : tuple of numpy.ndarray
        ``(road, row, col)``: land cells each road crosses, sorted by road.

    Examples
    --------
    >>> grid = flood_grid(city, 8.0)              # doctest: +SKIP
    >>> grid.shape, grid.cell_size                # doctest: +SKIP
    ((250, 300), 8.0)
    """

    elevation: np.ndarray
    manning: np.ndarray
    blocked: np.ndarray
    drained: np.ndarray
    water: dict
    transform: Affine
    crs: CRS
    buildings: str
    building_ids: np.ndarray
    building_index: np.ndarray
    building_cells: tuple[np.ndarray, np.ndarray, np.ndarray]
    road_ids: np.ndarray
    road_cells: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.elevation.shape

    @property
    def cell_size(self) -> float:
        """Cell width (m)."""
        return float(self.transform.a)

    @property
    def origin(self) -> tuple[float, float]:
        """``(x_west, y_north)`` of the grid's upper-left corner."""
        return (float(self.transform.c), float(self.transform.f))

    @property
    def x(self) -> np.ndarray:
        """x of cell centres, shape ``(cols,)``."""
        return self.transform.c + self.cell_size * (np.arange(self.shape[1]) + 0.5)

    @property
    def y(self) -> np.ndarray:
        """y of cell centres, shape ``(rows,)``, north first."""
        return self.transform.f - self.cell_size * (np.arange(self.shape[0]) + 0.5)

    @property
    def any_water(self) -> np.ndarray:
        """Cells of any permanent water body."""
        out = np.zeros(self.shape, bool)
        for mask in self.water.values():
            out |= mask
        return out

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Integer ``(row, col)`` of the cells holding points ``(x, y)``."""
        return _cell_of(self.transform, x, y)

    def contains(self, row, col) -> np.ndarray:
        """Whether ``(row, col)`` lies on the grid."""
        row, col = np.asarray(row), np.asarray(col)
        return (row >= 0) & (row < self.shape[0]) & (col >= 0) & (col < self.shape[1])


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


def flood_grid(city, cell_size: float, *, buildings: str = "blocked",
               manning_default: float = 0.03,
               drained_classes=("residential", "commercial", "industrial", "public", "mixed",
                                "urban", "road", "transport")) -> FloodGrid:
    """Put a City on a flood grid of ``cell_size`` metres.

    Parameters
    ----------
    city : twin.City
        Needs ``terrain``; buildings, roads, water and land use are optional.
    cell_size : float
        Grid resolution (m); the terrain is averaged (or interpolated) to it.
    buildings : {"blocked", "raised"}
        Building cells taken out of the domain, or raised to ``base + height``.
    manning_default : float
        Manning's n where no land-use polygon lies.
    drained_classes : sequence of str
        Land-use classes with sewers; without land use every land cell is drained.

    Returns
    -------
    FloodGrid

    Examples
    --------
    >>> grid = flood_grid(city, 8.0, buildings="blocked")  # doctest: +SKIP
    """
    if city.terrain is None:
        raise DataError("the city has no terrain", file=city.source,
                        fix="add a [terrain] layer to the city manifest")
    if buildings not in ("blocked", "raised"):
        raise ValueError(f"buildings must be 'blocked' or 'raised', got {buildings!r}")
    terrain = city.terrain
    if not np.isclose(terrain.cell_size, cell_size):
        method = "average" if cell_size > terrain.cell_size else "bilinear"
        terrain = terrain.resample(cell_size, resampling=method)
    elevation = terrain.data.astype("float64")
    shape, transform = elevation.shape, terrain.transform
    blocked = ~np.isfinite(elevation)
    elevation[blocked] = np.nanmax(elevation) if (~blocked).any() else 0.0

    bidx = _building_index(city.buildings, shape, transform)
    if buildings == "blocked":
        blocked |= bidx >= 0
    elif len(city.buildings):
        roof = (city.buildings["base"].to_numpy(float) + city.buildings["height"].to_numpy(float))
        inside = bidx >= 0
        elevation[inside] = np.maximum(elevation[inside], roof[bidx[inside]])

    water = _water_masks(city.water, shape, transform)
    any_water = np.zeros(shape, bool)
    for mask in water.values():
        any_water |= mask
    manning, drained = _landuse(city.landuse, shape, transform, manning_default, drained_classes)
    return FloodGrid(
        elevation=elevation, manning=manning, blocked=blocked,
        drained=drained & ~any_water & ~blocked, water=water, transform=transform,
        crs=city.crs, buildings=buildings,
        building_ids=city.buildings["id"].astype(str).to_numpy(), building_index=bidx,
        building_cells=_ring_cells(bidx, (blocked & (bidx < 0)) | any_water),
        road_ids=city.roads["id"].astype(str).to_numpy(),
        road_cells=_road_cells(city.roads, shape, transform, cell_size, (bidx >= 0) | any_water))


def _cell_of(transform: Affine, x, y) -> tuple[np.ndarray, np.ndarray]:
    """``(row, col)`` of the north-up grid cells holding points ``(x, y)``."""
    col = (np.asarray(x, float) - transform.c) / transform.a
    row = (np.asarray(y, float) - transform.f) / transform.e
    return np.floor(row).astype(int), np.floor(col).astype(int)


def _building_index(b, shape, transform) -> np.ndarray:
    """Building number per cell (cell centre inside); buildings smaller than a
    cell get the cell under a point on their surface."""
    if len(b) == 0:
        return np.full(shape, -1, "int32")
    geoms = b.geometry.values
    idx = rasterio.features.rasterize(zip(geoms, range(len(b))), out_shape=shape,
                                      transform=transform, fill=-1, dtype="int32")
    present = np.zeros(len(b), bool)
    present[idx[idx >= 0]] = True
    small = np.flatnonzero(~present)
    pts = shapely.point_on_surface(geoms[small])
    row, col = _cell_of(transform, shapely.get_x(pts), shapely.get_y(pts))
    ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    ok[ok] &= idx[row[ok], col[ok]] < 0
    idx[row[ok], col[ok]] = small[ok]
    return idx


def _ring_cells(bidx: np.ndarray, outside: np.ndarray):
    """``(building, row, col)`` of open cells touching each footprint (8-neighbours)."""
    r, c = np.nonzero(bidx >= 0)
    b = bidx[r, c]
    rows, cols = bidx.shape
    parts = []
    for dr, dc in _RING:
        rr, cc = r + dr, c + dc
        ok = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        rr, cc, bb = rr[ok], cc[ok], b[ok]
        keep = (bidx[rr, cc] < 0) & ~outside[rr, cc]
        parts.append(np.stack([bb[keep], rr[keep], cc[keep]]))
    return _unique_triples(np.concatenate(parts, axis=1) if parts else np.zeros((3, 0), int))


def _road_cells(roads, shape, transform, cell_size: float, excluded: np.ndarray):
    """``(road, row, col)`` of the land cells each road passes through."""
    if len(roads) == 0:
        return _unique_triples(np.zeros((3, 0), int))
    lines = shapely.segmentize(roads.geometry.values, cell_size / 4)
    xy, which = shapely.get_coordinates(lines, return_index=True)
    row, col = _cell_of(transform, xy[:, 0], xy[:, 1])
    ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
    ok[ok] &= ~excluded[row[ok], col[ok]]
    return _unique_triples(np.stack([which[ok], row[ok], col[ok]]))


def _unique_triples(t: np.ndarray):
    t = np.unique(t.astype(np.int64), axis=1) if t.size else t.astype(np.int64)
    return t[0], t[1], t[2]


def _water_masks(water, shape, transform) -> dict:
    if len(water) == 0:
        return {}
    kind = water["kind"].astype(str).to_numpy() if "kind" in water else np.full(len(water), "water")
    # all cells touched: a canal narrower than a cell, or the cut edge of a lake
    # bed, would otherwise count as land
    return {k: rasterio.features.rasterize(water.geometry.values[kind == k], out_shape=shape,
                                           transform=transform, fill=0, dtype="uint8",
                                           all_touched=True).astype(bool)
            for k in np.unique(kind)}


def _landuse(landuse, shape, transform, default: float, drained_classes):
    if len(landuse) == 0:
        return np.full(shape, default), np.ones(shape, bool)
    n = (landuse["manning"].to_numpy(float) if "manning" in landuse
         else np.full(len(landuse), default))
    bad = ~(n > 0)
    if bad.any():
        ids = landuse["id"][bad] if "id" in landuse else np.flatnonzero(bad)
        warnings.warn(f"land-use parcels without a positive Manning's n use {default}: "
                      f"{describe_ids(ids)}", DataWarning, stacklevel=3)
        n = np.where(bad, default, n)
    geoms = landuse.geometry.values
    manning = rasterio.features.rasterize(zip(geoms, n), out_shape=shape, transform=transform,
                                          fill=default, dtype="float64")
    urban = landuse["class"].astype(str).isin(list(drained_classes)).to_numpy() \
        if "class" in landuse else np.ones(len(landuse), bool)
    drained = rasterio.features.rasterize(zip(geoms, urban.astype("uint8")), out_shape=shape,
                                          transform=transform, fill=0, dtype="uint8")
    return manning, drained.astype(bool)


def lower_ground(grid: FloodGrid, xy: tuple[float, float], width_m: float,
                 level_m: float) -> np.ndarray:
    """Elevation with the ground within ``width_m / 2`` of ``xy`` lowered to
    ``level_m`` (a levee breach); never raises ground. Returns a new array.

    Examples
    --------
    >>> z = lower_ground(grid, (585000.0, 3363000.0), 40.0, 21.0)  # doctest: +SKIP
    """
    dx = grid.x[None, :] - xy[0]
    dy = grid.y[:, None] - xy[1]
    near = np.hypot(dx, dy) <= max(width_m / 2, grid.cell_size / 2)
    return np.where(near, np.minimum(grid.elevation, level_m), grid.elevation)


def locate(city, at, *, file=None, key: str = "at") -> tuple[float, float]:
    """``(x, y)`` of a scenario location: a place name of the city or ``(x, y)``.

    Raises
    ------
    DataError
        Unknown place name, naming the known ones.
    """
    if not isinstance(at, str):
        return (float(at[0]), float(at[1]))
    if at not in city.places:
        known = ", ".join(sorted(city.places)) or "none"
        raise DataError(f"key '{key}' names place {at!r}, which the city does not have",
                        file=file,
                        fix=f"use one of the city's places ({known}) or {{ x = .., y = .. }}")
    return city.places[at]


# -- rain --------------------------------------------------------------------

def rain_field(sensors, grid: FloodGrid, start: pd.Timestamp, duration_s: float, *,
               method: str = "idw", power: float = 2.0, gauges=None,
               file=None) -> tuple[np.ndarray, np.ndarray]:
    """Rainfall on the grid interpolated from the recorded rain gauges.

    The interpolation weights (inverse distance to the power ``power``, or
    nearest gauge for ``"thiessen"``) are computed once, and every time step
    is one matrix product of the gauge intensities with them.

    Parameters
    ----------
    sensors : geodata.sensors.SensorTable
        ``.stations`` (id, kind, geometry) and ``.readings`` (sensor_id,
        time UTC, value); rain gauges and weather stations read mm/h.
    grid : FloodGrid
    start : pandas.Timestamp
        Scenario start (time-zone aware).
    duration_s : float
    method : {"idw", "thiessen"}
    power : float
        IDW exponent.
    gauges : sequence of str, optional
        Rain gauge ids to use (default: every rain gauge).
    file : path-like, optional
        The scenario, named in errors.

    Returns
    -------
    times_s : numpy.ndarray
        Seconds since ``start`` at which each step begins, shape ``(time,)``;
        step ``k`` lasts until ``times_s[k + 1]`` (piecewise constant).
    intensity : numpy.ndarray
        mm/h, float32, shape ``(time, rows, cols)``. A reading is the mean
        intensity over the interval ending at its time.

    Examples
    --------
    >>> t, i = rain_field(city.sensors, grid, scenario.start, 6 * 3600)  # doctest: +SKIP
    """
    stations = _rain_gauges(sensors, gauges, file)
    times_s, values, used = _gauge_series(sensors.readings, stations, start, duration_s, file)
    stations = stations[stations["id"].astype(str).isin(used)]
    gx = shapely.get_x(stations.geometry.values)
    gy = shapely.get_y(stations.geometry.values)
    weights = gauge_weights(grid.x, grid.y, gx, gy, method=method, power=power)
    field = (values @ weights.T).astype("float32")
    return times_s, field.reshape(len(times_s), *grid.shape)


def gauge_weights(x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray, *,
                  method: str = "idw", power: float = 2.0) -> np.ndarray:
    """Interpolation weights of gauges at ``(gx, gy)`` for the cells of the
    grid with centres ``x`` (cols) by ``y`` (rows).

    Returns
    -------
    numpy.ndarray
        ``(rows * cols, gauges)``; each row sums to one. A cell holding a
        gauge takes that gauge's value.

    Examples
    --------
    >>> w = gauge_weights(np.array([0.5, 1.5]), np.array([0.5]), np.array([0.5, 10.0]),
    ...                   np.array([0.5, 0.5]))
    >>> w.round(3).tolist()
    [[1.0, 0.0], [0.986, 0.014]]
    """
    cx, cy = np.meshgrid(x, y)
    d = np.hypot(cx.reshape(-1, 1) - gx[None, :], cy.reshape(-1, 1) - gy[None, :])
    if method == "thiessen":
        w = np.zeros_like(d)
        w[np.arange(len(d)), np.argmin(d, axis=1)] = 1.0
        return w
    if method != "idw":
        raise ValueError(f"method must be 'idw' or 'thiessen', got {method!r}")
    with np.errstate(divide="ignore"):
        w = d ** -power
    exact = ~np.isfinite(w)
    hit = exact.any(axis=1)
    w[hit] = exact[hit].astype(float)
    return w / w.sum(axis=1, keepdims=True)


def _rain_gauges(sensors, gauges, file):
    if sensors is None or len(sensors.stations) == 0:
        raise DataError("the scenario takes rain from gauges but the city has no sensors",
                        file=file, fix='add sensors to the city or use source = "design"')
    st = sensors.stations
    if gauges is not None:
        ids = st["id"].astype(str)
        missing = [g for g in gauges if g not in set(ids)]
        if missing:
            raise DataError(f"key 'forcing.rain.gauges' names unknown stations "
                            f"{describe_ids(missing)}", file=file,
                            fix="use ids from the city's sensors/stations table")
        chosen = st[ids.isin(list(gauges))]
        wrong = chosen.loc[~chosen["kind"].isin(_RAIN_KINDS), "id"]
        if len(wrong):
            raise DataError(f"key 'forcing.rain.gauges' names stations that are not rain "
                            f"gauges: {describe_ids(wrong)}", file=file,
                            fix="pick stations of kind rain_gauge or weather_station")
        return chosen
    chosen = st[st["kind"].isin(_RAIN_KINDS)]
    if len(chosen) == 0:
        raise DataError("the city has no rain gauges", file=file,
                        fix='add rain_gauge stations or use source = "design"')
    return chosen


def _gauge_series(readings, stations, start, duration_s, file):
    """Piecewise-constant intensity (mm/h) of each gauge: a reading is the mean
    over the interval ending at its time, so step ``k`` (from ``times[k]`` to
    ``times[k + 1]``, the union of the reading times in the window) takes each
    gauge's reading at ``times[k + 1]``, interpolated in time for gauges read
    at other times. Gauges without readings in the window are dropped with a
    warning. Returns ``(times_s, values (time, gauge), used ids)``."""
    t0 = pd.Timestamp(start).tz_convert("UTC")
    ids = stations["id"].astype(str).to_numpy()
    r = readings.assign(sensor_id=readings["sensor_id"].astype(str))
    r = r[r["sensor_id"].isin(ids)].dropna(subset=["value"])
    r = r.assign(t=(pd.to_datetime(r["time"], utc=True) - t0).dt.total_seconds())
    r = r.sort_values(["sensor_id", "t"])
    r = r.assign(intensity=r["value"].to_numpy(float))
    inside = r[(r["t"] >= 0) & (r["t"] <= duration_s)]
    have = set(inside["sensor_id"])
    used = [i for i in ids if i in have]
    if not used:
        raise DataError(f"no rain gauge has readings between {t0} and "
                        f"{t0 + pd.Timedelta(seconds=duration_s)}", file=file,
                        fix="move the scenario start into the recorded period "
                            "or use a design storm")
    if len(used) < len(ids):
        warnings.warn("rain gauges without readings in the scenario window are not used: "
                      f"{describe_ids([i for i in ids if i not in have])}", DataWarning,
                      stacklevel=3)
    times = np.union1d(inside["t"].to_numpy(), [0.0, float(duration_s)])
    ends = np.append(times[1:], times[-1])
    series = dict(tuple(r.groupby("sensor_id")))
    values = np.column_stack([np.interp(ends, series[g]["t"].to_numpy(),
                                        series[g]["intensity"].to_numpy()) for g in used])
    return times, np.clip(values, 0.0, None), used


def design_rain(return_period: float, duration_s: float, *, peak_ratio: float = 0.4,
                step_s: float = 300.0, delay_s: float = 0.0,
                scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A Chicago design storm as a uniform, piecewise-constant series starting
    ``delay_s`` after the start.

    Returns ``(times_s, intensity_mm_h)``: the steps of
    :func:`geodata.storm.chicago_hyetograph`, shifted and scaled,
    with zero intensity before the storm and from its end on.

    Examples
    --------
    >>> t, i = design_rain(100, 3 * 3600)  # doctest: +SKIP
    """
    from geodata.storm import chicago_hyetograph
    times, intensity = chicago_hyetograph(return_period, duration_s, step_s,
                                          peak_ratio=peak_ratio)
    times = np.append(np.asarray(times, float), duration_s) + delay_s
    intensity = np.append(np.asarray(intensity, float), 0.0) * scale
    if delay_s > 0:
        times, intensity = np.append(0.0, times), np.append(0.0, intensity)
    return times, intensity


def river_level(sensors, gauge: str, start: pd.Timestamp, duration_s: float, *,
                offset_m: float = 0.0, file=None,
                key: str = "forcing.river.gauge") -> tuple[np.ndarray, np.ndarray]:
    """Recorded water level of ``gauge`` over the scenario window, plus ``offset_m``.

    Returns
    -------
    times_s, level_m : numpy.ndarray
        Seconds since ``start``; levels (m) including one reading either side
        of the window when there is one.
    """
    st = None if sensors is None else sensors.stations
    hit = None if st is None else st[st["id"].astype(str) == gauge]
    if hit is None or len(hit) == 0:
        raise DataError(f"key '{key}' names {gauge!r}, which is not a station "
                        "of the city", file=file,
                        fix="use the id of a water_level station from sensors/stations")
    if hit["kind"].iloc[0] != "water_level":
        raise DataError(f"key '{key}' names {gauge!r}, a {hit['kind'].iloc[0]}, "
                        "not a water_level station", file=file,
                        fix="pick a station of kind water_level")
    r = sensors.readings
    r = r[r["sensor_id"].astype(str) == gauge].dropna(subset=["value"])
    t = (pd.to_datetime(r["time"], utc=True) - pd.Timestamp(start).tz_convert("UTC"))
    t = t.dt.total_seconds().to_numpy()
    order = np.argsort(t)
    t, v = t[order], r["value"].to_numpy(float)[order]
    lo = max(np.searchsorted(t, 0.0, "right") - 1, 0)
    hi = np.searchsorted(t, duration_s, "left") + 1
    t, v = t[lo:hi], v[lo:hi]
    if len(t) == 0 or t[0] > duration_s or t[-1] < 0:
        raise DataError(f"river gauge {gauge!r} has no readings in the scenario window",
                        file=file, fix="move the start into the recorded period or use level_m")
    return t, v + offset_m


def initial_depth(grid: FloodGrid, levels: dict, sensors=None, start=None, *,
                  file=None) -> np.ndarray:
    """Water depth filling each water body to its initial level.

    Parameters
    ----------
    grid : FloodGrid
    levels : dict
        Water ``kind`` -> level in metres, or the id of a water-level gauge
        whose reading at ``start`` gives it.
    sensors, start
        Needed when a level names a gauge.

    Returns
    -------
    numpy.ndarray
        ``max(level - elevation, 0)`` on the water cells of each kind, 0 elsewhere.

    Examples
    --------
    >>> levels = {"lake": 18.5, "river": "WL01"}
    >>> h0 = initial_depth(grid, levels, city.sensors, start)  # doctest: +SKIP
    """
    depth = np.zeros(grid.shape)
    for kind, level in levels.items():
        if kind not in grid.water:
            raise DataError(f"key 'flood.initial_levels.{kind}' names a kind of water the "
                            "city does not have on the grid", file=file,
                            fix=f"use one of: {', '.join(sorted(grid.water)) or 'none'}")
        if isinstance(level, str):
            t, v = river_level(sensors, level, start, 0.0, file=file,
                               key=f"flood.initial_levels.{kind}")
            level = float(np.interp(0.0, t, v))
        mask = grid.water[kind] & ~grid.blocked
        depth[mask] = np.maximum(level - grid.elevation[mask], 0.0)
    return depth


# -- impacts -------------------------------------------------------------------

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
    hazard = np.where(landf, flat * (speed.reshape(len(depth), -1) + 0.5), 0.0)
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

