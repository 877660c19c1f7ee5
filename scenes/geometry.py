"""Pure geometry of the 3D city: footprint rings, prisms, triangulation, draping.

Everything here works on numpy arrays and shapely 2 geometries (vectorised,
no Python loop per feature) and knows nothing of pyvista: :mod:`scenes.meshes`
turns the arrays into meshes, :mod:`scenes.cityjson` and :mod:`scenes.tiles3d`
write them. Points are world coordinates (float64) in the City CRS; the local
origin of a scene comes from :func:`scene_origin`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import shapely
from numba import njit

from geodata.errors import DataError, DataWarning, describe_ids
from geodata.raster import Raster

__all__ = ["LANE_WIDTH", "ROAD_LIFT", "WATER_QUANTILE", "scene_origin", "grid_triangles",
           "PrismRings", "prism_rings", "building_heights", "feature_ids", "polygon_parts",
           "ring_vertices", "triangulate", "match_vertices", "road_surfaces", "water_levels",
           "ground_height"]

LANE_WIDTH = 3.5
"""Width of one traffic lane (m)."""
ROAD_LIFT = 0.2
"""Roads float this far above the terrain (m) so they are not hidden in it."""
WATER_QUANTILE = 0.1
"""Water level from the terrain inside a polygon: this lower quantile of its cells."""

def scene_origin(city) -> tuple[float, float, float]:
    """The local origin of a city's scene: centre of the terrain (else of all
    layers) rounded to the metre, and the lowest ground rounded down.

    Examples
    --------
    >>> scene_origin(city)  # doctest: +SKIP
    (585250.0, 3363250.0, 12.0)
    """
    if city.terrain is not None:
        xmin, ymin, xmax, ymax = city.terrain.bounds
    elif len(city.buildings):
        xmin, ymin, xmax, ymax = city.buildings.total_bounds
    else:
        xmin, ymin, xmax, ymax = city.bounds
    if not np.isfinite([xmin, ymin, xmax, ymax]).all():
        xmin = ymin = xmax = ymax = 0.0
    lows = []
    if city.terrain is not None and np.isfinite(city.terrain.data).any():
        lows.append(float(np.nanmin(city.terrain.data)))
    if len(city.buildings) and "base" in city.buildings:
        base = city.buildings["base"].to_numpy(float)
        if np.isfinite(base).any():
            lows.append(float(np.nanmin(base)))
    lows += [float(np.asarray(getattr(m, "mesh", m).bounds)[0, 2]) for m in city.bim.values()]
    z0 = float(np.floor(min(lows))) if lows else 0.0
    return (float(np.round((xmin + xmax) / 2)), float(np.round((ymin + ymax) / 2)), z0)


def grid_triangles(valid: np.ndarray, *, south_up: bool = False) -> np.ndarray:
    """Counter-clockwise (seen from above) triangles joining a grid of points.

    Two triangles join each 2 x 2 block of grid points; triangles touching an
    invalid point are left out.

    Parameters
    ----------
    valid : numpy.ndarray of bool
        ``(rows, cols)``: which grid points exist; point ``(r, c)`` has index
        ``r * cols + c``. Row 0 is north unless ``south_up``.
    south_up : bool
        Row 0 is the south edge (the grid's transform has ``e > 0``).

    Returns
    -------
    numpy.ndarray
        ``(n, 3)`` int64 point indices.

    Examples
    --------
    >>> grid_triangles(np.ones((2, 2), bool)).tolist()
    [[2, 3, 1], [2, 1, 0]]
    """
    rows, cols = valid.shape
    ids = np.arange(rows * cols).reshape(rows, cols)
    nw, ne = ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel()
    sw, se = ids[1:, :-1].ravel(), ids[1:, 1:].ravel()
    if south_up:          # row 0 south: swap to keep triangles counter-clockwise
        nw, ne, sw, se = sw, se, nw, ne
    tris = np.concatenate([np.column_stack([sw, se, ne]), np.column_stack([sw, ne, nw])])
    return tris[valid.ravel()[tris].all(axis=1)]


@dataclass(frozen=True)
class PrismRings:
    """The ring vertices of LoD1 building prisms, shared by the mesh and CityJSON writers.

    ``points`` holds the ``m`` footprint vertices at the base followed by the
    same vertices at the roof; ``ring_next[k]`` is the vertex after ``k`` on its
    ring, ``point_part[k]`` the footprint part of vertex ``k``, and ``row[p]``
    the building row of part ``p``.
    """

    parts: np.ndarray
    row: np.ndarray
    xy: np.ndarray
    ring_next: np.ndarray
    point_part: np.ndarray
    points: np.ndarray


def prism_rings(buildings) -> PrismRings:
    """Oriented footprint parts and their base and roof ring vertices, from arrays.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame({"id": ["a"], "height": [10.0], "base": [2.0]},
    ...                      geometry=[box(0, 0, 4, 5)])
    >>> prism_rings(b).points[:, 2].tolist()
    [2.0, 2.0, 2.0, 2.0, 12.0, 12.0, 12.0, 12.0]
    """
    height, base = building_heights(buildings)
    parts, row = polygon_parts(buildings.geometry.values, feature_ids(buildings), layer="buildings")
    parts = shapely.orient_polygons(shapely.remove_repeated_points(parts), exterior_cw=False)
    xy, ring_next, point_part = ring_vertices(parts)
    bottom = base[row][point_part]
    top = bottom + height[row][point_part]
    points = np.concatenate([np.column_stack([xy, bottom]), np.column_stack([xy, top])])
    return PrismRings(parts, row, xy, ring_next, point_part, points)


def building_heights(buildings) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``height`` and ``base`` (m) of every building.

    Raises
    ------
    DataError
        When heights are missing or not positive, or bases are missing.
        Without a ``base`` column the buildings stand on z = 0 (a warning).

    Examples
    --------
    >>> import pandas as pd
    >>> h, b = building_heights(pd.DataFrame({"height": [3.0], "base": [1.0]}))
    >>> h.tolist(), b.tolist()
    ([3.0], [1.0])
    """
    ids = feature_ids(buildings)
    if "height" not in buildings:
        raise DataError("buildings have no 'height' column", layer="buildings",
                        fix="add the building height in metres above the ground")
    height = buildings["height"].to_numpy(dtype=float)
    bad = ~np.isfinite(height) | (height <= 0)
    if bad.any():
        raise DataError(f"height is missing, zero or negative for {bad.sum()} buildings",
                        layer="buildings", feature=describe_ids(ids[bad]),
                        fix="give every building a positive height in metres")
    if "base" not in buildings:
        warnings.warn("buildings have no 'base' column; they stand on z = 0", DataWarning,
                      stacklevel=3)
        return height, np.zeros_like(height)
    base = buildings["base"].to_numpy(dtype=float)
    bad = ~np.isfinite(base)
    if bad.any():
        raise DataError(f"base (ground elevation) is missing for {bad.sum()} buildings",
                        layer="buildings", feature=describe_ids(ids[bad]),
                        fix="sample the terrain under each footprint for 'base'")
    return height, base


def feature_ids(gdf) -> np.ndarray:
    """The ``id`` column (else the index) as strings, for messages.

    Examples
    --------
    >>> import pandas as pd
    >>> feature_ids(pd.DataFrame({"id": [1, 2]})).tolist()
    ['1', '2']
    """
    return (gdf["id"] if "id" in gdf else gdf.index).astype(str).to_numpy()


def polygon_parts(geoms, ids=None, *, layer: str = "polygons") -> tuple[np.ndarray, np.ndarray]:
    """Split (Multi)Polygons into single valid polygons, remembering their row.

    Invalid polygons are repaired with :func:`shapely.make_valid`; empty and
    non-polygonal geometries are dropped; both emit a :class:`DataWarning`
    listing the ids.

    Parameters
    ----------
    geoms : array of shapely geometries
    ids : array of str, optional
        Feature ids for the warnings (row numbers by default).
    layer : str
        Layer name for the warnings.

    Returns
    -------
    parts : numpy.ndarray of Polygon
    row : numpy.ndarray of int
        Position in ``geoms`` of each part.

    Examples
    --------
    >>> from shapely import MultiPolygon, box
    >>> parts, row = polygon_parts([MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)]), box(0, 0, 2, 2)])
    >>> row.tolist()
    [0, 0, 1]
    """
    geoms = np.asarray(geoms, dtype=object)
    ids = np.arange(len(geoms)).astype(str) if ids is None else np.asarray(ids).astype(str)
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if invalid.any():
        warnings.warn(f"layer '{layer}': repaired invalid polygons of features "
                      f"{describe_ids(ids[invalid])}", DataWarning, stacklevel=3)
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    first, first_row = shapely.get_parts(geoms, return_index=True)
    parts, second_row = shapely.get_parts(first, return_index=True)
    row = first_row[second_row]
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
    lost = np.setdiff1d(np.arange(len(geoms)), row[keep])
    if lost.size:
        warnings.warn(f"layer '{layer}': dropped features without a polygon: "
                      f"{describe_ids(ids[lost])}", DataWarning, stacklevel=3)
    return parts[keep], row[keep]


def ring_vertices(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of all rings without the closing point, the index of the next
    vertex along the same ring, and the polygon part of each vertex."""
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords = shapely.get_coordinates(rings)
    n = shapely.get_num_coordinates(rings)
    ends = np.cumsum(n)
    keep = np.ones(len(coords), bool)
    keep[ends - 1] = False
    xy = coords[keep]
    per_ring = n - 1
    starts = np.cumsum(per_ring) - per_ring
    nxt = np.arange(1, len(xy) + 1)
    nxt[starts + per_ring - 1] = starts
    return xy, nxt, np.repeat(ring_part, per_ring)


def triangulate(polygons) -> tuple[np.ndarray, np.ndarray]:
    """Constrained Delaunay triangles of many polygons at once, counter-clockwise.

    Holes and concave outlines are respected; no vertex is added.

    Parameters
    ----------
    polygons : array of Polygon or MultiPolygon

    Returns
    -------
    xy : numpy.ndarray
        ``(n_triangles, 3, 2)`` corner coordinates.
    owner : numpy.ndarray
        Position in ``polygons`` of each triangle.

    Examples
    --------
    >>> from shapely import box
    >>> xy, owner = triangulate([box(0, 0, 1, 1)])
    >>> xy.shape, owner.tolist()
    ((2, 3, 2), [0, 0])
    """
    collections = shapely.constrained_delaunay_triangles(np.asarray(polygons, dtype=object))
    owner = np.repeat(np.arange(len(collections)), shapely.get_num_geometries(collections))
    xy = shapely.get_coordinates(collections).reshape(-1, 4, 2)[:, :3]
    d1, d2 = xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]
    cw = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0] < 0
    xy[cw] = xy[cw][:, ::-1]
    return xy, owner


def match_vertices(xy, point_part, tri_xy, tri_part) -> np.ndarray:
    """Index of each triangle corner among the ring vertices of the same part."""
    n_parts = int(max(point_part.max(initial=-1), tri_part.max(initial=-1))) + 1
    bounds = np.searchsorted(point_part, np.arange(n_parts + 1))
    index = _corner_vertices(np.ascontiguousarray(xy), bounds,
                             np.ascontiguousarray(tri_xy.reshape(-1, 2)),
                             np.repeat(tri_part, 3))
    if (index < 0).any():
        raise DataError("footprint triangulation added vertices", layer="buildings",
                        fix="simplify the footprints (shapely.make_valid, remove spikes)")
    return index.reshape(-1, 3)


@njit(cache=True)
def _corner_vertices(xy, bounds, corners, corner_part):  # pragma: no cover - compiled
    """For each corner, the first ring vertex of its part with the same x, y (-1 if none)."""
    out = np.full(len(corners), -1, np.int64)
    for i in range(len(corners)):
        p = corner_part[i]
        for j in range(bounds[p], bounds[p + 1]):
            if xy[j, 0] == corners[i, 0] and xy[j, 1] == corners[i, 1]:
                out[i] = j
                break
    return out


def road_surfaces(roads, *, width: float | None = None,
                  step: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Road surface polygons: LineStrings buffered to ``lanes x 3.5 m`` (or
    ``width``) with flat caps, Polygons kept; both densified every ``step`` m
    so that they can follow the terrain.

    Returns
    -------
    parts : numpy.ndarray of Polygon
    row : numpy.ndarray of int
        Row in ``roads`` of each polygon.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> r = gpd.GeoDataFrame({"id": ["r"], "lanes": [4]}, geometry=[LineString([(0, 0), (10, 0)])])
    >>> float(road_surfaces(r)[0][0].area)
    140.0
    """
    geoms = roads.geometry.values
    lanes = (roads["lanes"].to_numpy(dtype=float) if "lanes" in roads
             else np.full(len(roads), 2.0))
    widths = np.where(np.isfinite(lanes) & (lanes > 0), lanes, 2.0) * LANE_WIDTH
    if width is not None:
        widths = np.full(len(roads), float(width))
    is_line = np.isin(shapely.get_type_id(geoms), (1, 5))
    surfaces = np.array(geoms, dtype=object)
    surfaces[is_line] = shapely.buffer(shapely.segmentize(geoms[is_line], step),
                                       widths[is_line] / 2, cap_style="flat",
                                       join_style="round", quad_segs=4)
    surfaces[~is_line] = shapely.segmentize(geoms[~is_line], step)
    return polygon_parts(surfaces, feature_ids(roads), layer="roads")


def water_levels(water, terrain: Raster | None, level=None) -> np.ndarray:
    """Water level (m) of each water polygon, as described in :func:`water_mesh`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame({"level": [4.5, None]}, geometry=[box(0, 0, 1, 1), box(2, 0, 3, 1)])
    >>> water_levels(w, None).tolist()
    [4.5, 0.0]
    """
    n = len(water)
    if level is not None:
        return np.broadcast_to(np.asarray(level, dtype=float), (n,)).copy()
    levels = (np.array(water["level"], dtype=float) if "level" in water
              else np.full(n, np.nan))
    todo = ~np.isfinite(levels)
    if not todo.any():
        return levels
    if terrain is None:
        levels[todo] = 0.0
        return levels
    geoms = water.geometry.values
    levels[todo] = _terrain_quantile(terrain, geoms[todo], WATER_QUANTILE)
    missing = todo & ~np.isfinite(levels)
    if missing.any():
        inside = shapely.point_on_surface(geoms[missing])
        levels[missing] = ground_height(terrain, shapely.get_x(inside), shapely.get_y(inside))
    return levels


def _terrain_quantile(terrain: Raster, polygons, q: float) -> np.ndarray:
    """Lower quantile of the terrain cells whose centres fall in each polygon
    (NaN for polygons holding no cell centre)."""
    out = np.full(len(polygons), np.nan)
    xmin, ymin, xmax, ymax = shapely.total_bounds(polygons)
    x, y = terrain.x, terrain.y
    cols = np.flatnonzero((x >= xmin) & (x <= xmax))
    rows = np.flatnonzero((y >= ymin) & (y <= ymax))
    if cols.size == 0 or rows.size == 0:
        return out
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    z = terrain.data[rr, cc].ravel()
    ok = np.isfinite(z)
    pts = shapely.points(x[cc.ravel()[ok]], y[rr.ravel()[ok]])
    hit_pt, hit_poly = shapely.STRtree(polygons).query(pts, predicate="within")
    if hit_pt.size == 0:
        return out
    zz = z[ok][hit_pt]
    order = np.lexsort((zz, hit_poly))
    counts = np.bincount(hit_poly, minlength=len(polygons))
    starts = np.cumsum(counts) - counts
    has = counts > 0
    pick = starts[has] + np.floor(q * (counts[has] - 1)).astype(int)
    out[has] = zz[order][pick]
    return out


def ground_height(terrain: Raster | None, x, y) -> np.ndarray:
    """Terrain height (m) at points ``x, y``, bilinear between cell centres (nearest cell
    where a neighbour is NaN; the edge value outside the grid; 0 without terrain)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if terrain is None:
        return np.zeros_like(x)
    t = terrain.transform
    rows, cols = terrain.shape
    fc = np.clip((x - t.c) / t.a - 0.5, 0, cols - 1)
    fr = np.clip((y - t.f) / t.e - 0.5, 0, rows - 1)
    c0 = np.minimum(np.floor(fc).astype(int), max(cols - 2, 0))
    r0 = np.minimum(np.floor(fr).astype(int), max(rows - 2, 0))
    c1, r1 = np.minimum(c0 + 1, cols - 1), np.minimum(r0 + 1, rows - 1)
    wc, wr = fc - c0, fr - r0
    d = terrain.data
    z = ((d[r0, c0] * (1 - wc) + d[r0, c1] * wc) * (1 - wr)
         + (d[r1, c0] * (1 - wc) + d[r1, c1] * wc) * wr).astype(float)
    bad = ~np.isfinite(z)
    z[bad] = terrain.sample(x[bad], y[bad])
    return np.nan_to_num(z, nan=0.0)

