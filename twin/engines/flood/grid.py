"""The city on the flood engine's grid.

:func:`flood_grid` turns the terrain, buildings, land use and water of a City
into the arrays :class:`simulations.flood.FloodModel` takes (elevation,
Manning's n, blocked cells) plus index tables that tie cells back to buildings
and roads; :func:`lower_ground` cuts a levee breach and :func:`locate` finds
scenario places.

Examples
--------
>>> import twin                                               # doctest: +SKIP
>>> grid = flood_grid(twin.load_city("data_samples/ezhou/city.toml"), 16.0)  # doctest: +SKIP
>>> grid.shape                                                # doctest: +SKIP
(188, 250)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from pyproj import CRS

from geodata.errors import DataError, DataWarning, describe_ids
from geodata.grid import GridSpec, check_grid_memory
from twin.engines.flood.levees import keep_crests
from twin.engines.flood.settings import DRAINED_CLASSES

__all__ = ["FloodGrid", "flood_grid", "lower_ground", "locate"]

_RING = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
_BYTES_PER_CELL = 200      # the grid's arrays, the engine's state and maxima, a frame or two


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
    roof_outlets : numpy.ndarray or None
        Flat index of the open cell that takes the rain falling on each
        building cell (its footprint's lowest ring cell: the downpipes), -1
        elsewhere; None when buildings are raised (rain falls on the roofs).

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
    roof_outlets: np.ndarray | None = None

    @property
    def spec(self) -> GridSpec:
        """The grid's geometry (:class:`geodata.grid.GridSpec`)."""
        return GridSpec(self.transform, self.elevation.shape)

    shape = property(lambda self: self.elevation.shape, doc="``(rows, cols)``.")
    cell_size = property(lambda self: self.spec.cell_size, doc="Cell width (m).")
    origin = property(lambda self: self.spec.origin,
                      doc="``(x_west, y_north)`` of the grid's upper-left corner.")
    x = property(lambda self: self.spec.x, doc="x of cell centres, shape ``(cols,)``.")
    y = property(lambda self: self.spec.y, doc="y of cell centres, ``(rows,)``, north first.")

    @property
    def any_water(self) -> np.ndarray:
        """Cells of any permanent water body."""
        out = np.zeros(self.shape, bool)
        for mask in self.water.values():
            out |= mask
        return out

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Integer ``(row, col)`` of the cells holding points ``(x, y)``."""
        return self.spec.index(x, y)

    def contains(self, row, col) -> np.ndarray:
        """Whether ``(row, col)`` lies on the grid."""
        return self.spec.contains(row, col)

def flood_grid(city, cell_size: float, *, buildings: str = "blocked",
               manning_default: float = 0.03,
               drained_classes=DRAINED_CLASSES, levees: bool = True) -> FloodGrid:
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
    levees : bool
        On a grid coarser than the terrain, keep the crests of levees and
        embankments (:func:`twin.engines.flood.levees.keep_crests`).

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
    xmin, ymin, xmax, ymax = terrain.grid.bounds
    shape = (int(np.ceil((ymax - ymin) / cell_size)), int(np.ceil((xmax - xmin) / cell_size)))
    check_grid_memory(shape, _BYTES_PER_CELL, f"flood grid of {cell_size:g} m cells")
    if not np.isclose(terrain.cell_size, cell_size):
        method = "average" if cell_size > terrain.cell_size else "bilinear"
        terrain = terrain.resample(cell_size, resampling=method)
    elevation = terrain.data.astype("float64")
    shape, transform = elevation.shape, terrain.transform
    if levees and cell_size > city.terrain.cell_size * 1.01:
        elevation = keep_crests(city.terrain.data.astype("float64"), city.terrain.transform,
                                elevation, transform)
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
    ring = _ring_cells(bidx, (blocked & (bidx < 0)) | any_water)
    return FloodGrid(
        elevation=elevation, manning=manning, blocked=blocked,
        drained=drained & ~any_water & ~blocked, water=water, transform=transform,
        crs=city.crs, buildings=buildings,
        building_ids=city.buildings["id"].astype(str).to_numpy(), building_index=bidx,
        building_cells=ring,
        roof_outlets=_roof_outlets(bidx, ring, elevation) if buildings == "blocked" else None,
        road_ids=city.roads["id"].astype(str).to_numpy(),
        road_cells=_road_cells(city.roads, shape, transform, cell_size, (bidx >= 0) | any_water))


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
    row, col = GridSpec(transform, shape).index(shapely.get_x(pts), shapely.get_y(pts))
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


def _roof_outlets(bidx: np.ndarray, ring, elevation: np.ndarray) -> np.ndarray:
    """Flat index of the lowest ring cell of each building cell's footprint, -1 elsewhere."""
    b, r, c = ring
    out = np.full(bidx.shape, -1, np.int64)
    if len(b) == 0:
        return out
    order = np.lexsort((elevation[r, c], b))          # by building, then lowest first
    first = np.unique(b[order], return_index=True)
    lowest = np.full(int(bidx.max()) + 1, -1, np.int64)
    pick = order[first[1]]
    lowest[first[0]] = r[pick] * bidx.shape[1] + c[pick]
    inside = bidx >= 0
    out[inside] = lowest[bidx[inside]]
    return out


def _road_cells(roads, shape, transform, cell_size: float, excluded: np.ndarray):
    """``(road, row, col)`` of the land cells each road passes through."""
    if len(roads) == 0:
        return _unique_triples(np.zeros((3, 0), int))
    lines = shapely.segmentize(roads.geometry.values, cell_size / 4)
    xy, which = shapely.get_coordinates(lines, return_index=True)
    row, col = GridSpec(transform, shape).index(xy[:, 0], xy[:, 1])
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
