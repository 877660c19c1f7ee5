"""The 3D city as meshes: terrain, LoD1 buildings, roads, water, sensors, BIM.

A :class:`Scene` is a set of named :class:`pyvista.PolyData` blocks in local
coordinates around a float64 ``origin`` (``world = local + origin``), so the
float32 points keep centimetre precision at any northing. Every block is one
mesh built from arrays (never one actor per building) and carries cell data
telling which feature each triangle came from (``building_index``,
``road_index``, ...) and its colour (``rgb``, from :mod:`scenes.style`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pyvista as pv
import shapely
from numba import njit
from pyproj import CRS

from geodata.errors import DataError, DataWarning, describe_ids
from geodata.raster import Raster
from scenes import style

__all__ = ["Scene", "scene_bounds", "scene_origin", "city_scene", "terrain_mesh",
           "buildings_mesh", "roads_mesh", "water_mesh", "sensors_mesh", "bim_mesh",
           "polygon_parts", "triangulate", "road_surfaces", "ground_height", "water_levels",
           "PrismRings", "prism_rings"]

LAYERS = ("terrain", "buildings", "roads", "water", "sensors", "bim")
LANE_WIDTH = 3.5
"""Width of one traffic lane (m)."""
ROAD_LIFT = 0.2
"""Roads float this far above the terrain (m) so they are not hidden in it."""
WATER_QUANTILE = 0.1
"""Water level from the terrain inside a polygon: this lower quantile of its cells."""
_SURFACE_CODES = {"ground": 0, "wall": 1, "roof": 2}


@dataclass
class Scene:
    """Meshes of a city in local coordinates around a float64 origin.

    Parameters
    ----------
    origin : tuple of float
        ``(x, y, z)`` in the City CRS; ``world = local + origin``.
    crs : pyproj.CRS
        CRS of the world coordinates.
    blocks : dict
        Layer name -> :class:`pyvista.PolyData` with float32 local points.

    Examples
    --------
    >>> import pyvista as pv
    >>> s = Scene((500000.0, 3360000.0, 0.0), CRS.from_epsg(4547), {"box": pv.Cube()})
    >>> s.to_world([[0.5, 0.5, 0.5]]).tolist()
    [[500000.5, 3360000.5, 0.5]]
    """

    origin: tuple[float, float, float]
    crs: CRS
    blocks: dict[str, pv.PolyData] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.origin = tuple(float(v) for v in self.origin)
        self.crs = CRS.from_user_input(self.crs)

    def to_world(self, points) -> np.ndarray:
        """Local points ``(n, 3)`` -> world coordinates (float64)."""
        return np.asarray(points, dtype=np.float64) + np.asarray(self.origin)

    def to_local(self, points) -> np.ndarray:
        """World points ``(n, 3)`` -> local coordinates (float64)."""
        return np.asarray(points, dtype=np.float64) - np.asarray(self.origin)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {v.n_cells} cells" for k, v in self.blocks.items())
        return f"<Scene origin={self.origin} {parts}>"


def scene_bounds(scene: Scene, *, world: bool = False) -> tuple[float, ...]:
    """``(xmin, xmax, ymin, ymax, zmin, zmax)`` over all blocks of a scene.

    Parameters
    ----------
    scene : Scene
    world : bool
        Return world coordinates instead of local ones.

    Examples
    --------
    >>> import pyvista as pv
    >>> s = Scene((100.0, 200.0, 0.0), 4547, {"box": pv.Cube()})
    >>> scene_bounds(s, world=True)
    (99.5, 100.5, 199.5, 200.5, -0.5, 0.5)
    """
    boxes = np.array([b.bounds for b in scene.blocks.values() if b.n_points])
    if boxes.size == 0:
        return (np.nan,) * 6
    lo, hi = boxes[:, 0::2].min(axis=0), boxes[:, 1::2].max(axis=0)
    if world:
        lo, hi = lo + np.asarray(scene.origin), hi + np.asarray(scene.origin)
    return tuple(float(v) for pair in zip(lo, hi) for v in pair)


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


def city_scene(city, *, layers: Iterable[str] = LAYERS, terrain_step: int = 1) -> Scene:
    """Build the meshes of a city.

    Parameters
    ----------
    city : twin.City
    layers : iterable of str
        Any of ``"terrain", "buildings", "roads", "water", "sensors", "bim"``;
        layers the city does not have are left out.
    terrain_step : int
        Use every n-th terrain cell (1 = full resolution).

    Returns
    -------
    Scene

    Examples
    --------
    >>> scene = city_scene(city, layers=("terrain", "buildings"))  # doctest: +SKIP
    >>> scene.blocks["buildings"].n_cells                          # doctest: +SKIP
    40918
    """
    layers = tuple(layers)
    unknown = sorted(set(layers) - set(LAYERS))
    if unknown:
        raise DataError(f"unknown scene layers {unknown}", fix=f"choose among {list(LAYERS)}")
    origin = scene_origin(city)
    blocks: dict[str, pv.PolyData] = {}
    if "terrain" in layers and city.terrain is not None:
        blocks["terrain"] = terrain_mesh(city.terrain, origin, step=terrain_step)
    if "buildings" in layers and len(city.buildings):
        blocks["buildings"] = buildings_mesh(city.buildings, origin)
    if "roads" in layers and len(city.roads):
        blocks["roads"] = roads_mesh(city.roads, city.terrain, origin)
    if "water" in layers and len(city.water):
        blocks["water"] = water_mesh(city.water, city.terrain, origin)
    if "sensors" in layers and city.sensors is not None and len(city.sensors.stations):
        blocks["sensors"] = sensors_mesh(city.sensors.stations, city.terrain, origin)
    if "bim" in layers and city.bim:
        blocks["bim"] = bim_mesh(city.bim, origin)
    return Scene(origin, city.crs, {k: v for k, v in blocks.items() if v.n_cells})


# -- terrain -----------------------------------------------------------------
def terrain_mesh(raster: Raster, origin, *, step: int = 1) -> pv.PolyData:
    """Triangulated surface through the centres of the DEM cells.

    Two triangles join each 2 x 2 block of cell centres; triangles touching a
    NaN cell are left out, so nodata holes stay holes.

    Parameters
    ----------
    raster : geodata.raster.Raster
        Elevation (m), row 0 north.
    origin : tuple of float
        Local origin ``(x, y, z)``.
    step : int
        Use every n-th row and column.

    Returns
    -------
    pyvista.PolyData
        point_data ``elevation`` (m, absolute) and ``rgb``.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> r = Raster(np.zeros((3, 3), "float32"), Affine(1, 0, 0, 0, -1, 3), 4547)
    >>> terrain_mesh(r, (0, 0, 0)).n_cells
    8
    """
    if step < 1:
        raise DataError(f"terrain step must be >= 1, got {step}", layer="terrain",
                        fix="pass terrain_step=1 or more")
    z = raster.data[::step, ::step]
    x, y = raster.x[::step], raster.y[::step]
    rows, cols = z.shape
    ids = np.arange(rows * cols).reshape(rows, cols)
    nw, ne = ids[:-1, :-1].ravel(), ids[:-1, 1:].ravel()
    sw, se = ids[1:, :-1].ravel(), ids[1:, 1:].ravel()
    if raster.transform.e > 0:          # south-up grid: swap to keep triangles counter-clockwise
        nw, ne, sw, se = sw, se, nw, ne
    tris = np.concatenate([np.column_stack([sw, se, ne]), np.column_stack([sw, ne, nw])])
    valid = np.isfinite(z).ravel()
    tris = tris[valid[tris].all(axis=1)]
    xx, yy = np.meshgrid(x, y)
    pts = np.column_stack([xx.ravel(), yy.ravel(), z.ravel().astype(np.float64)])
    used = np.unique(tris)
    remap = np.full(rows * cols, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    mesh = _polydata(pts[used], remap[tris], origin)
    elevation = z.ravel()[used].astype(np.float32)
    mesh.point_data["elevation"] = elevation
    mesh.point_data["rgb"] = style.terrain_colors(elevation)
    return mesh


# -- buildings ----------------------------------------------------------------
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
    height, base = _heights(buildings)
    parts, row = polygon_parts(buildings.geometry.values, _ids(buildings), layer="buildings")
    parts = shapely.orient_polygons(shapely.remove_repeated_points(parts), exterior_cw=False)
    xy, ring_next, point_part = _ring_vertices(parts)
    bottom = base[row][point_part]
    top = bottom + height[row][point_part]
    points = np.concatenate([np.column_stack([xy, bottom]), np.column_stack([xy, top])])
    return PrismRings(parts, row, xy, ring_next, point_part, points)


def buildings_mesh(buildings, origin) -> pv.PolyData:
    """LoD1 prisms of all buildings as one closed, outward-facing mesh.

    Each footprint (holes and concave shapes allowed) is extruded from
    ``base`` to ``base + height``; roofs and floors are triangulated by
    constrained Delaunay triangulation, walls join consecutive ring vertices.
    Roof, floor and walls share vertices, so each prism is watertight.

    Parameters
    ----------
    buildings : GeoDataFrame
        ``id, height, base, use, geometry`` (Polygon or MultiPolygon).
    origin : tuple of float
        Local origin ``(x, y, z)``.

    Returns
    -------
    pyvista.PolyData
        cell data ``building_index`` (row position in ``buildings``),
        ``use_code`` (index in :data:`scenes.style.BUILDING_USE_COLORS`),
        ``surface`` (0 ground, 1 wall, 2 roof) and ``rgb``.

    Raises
    ------
    DataError
        When heights or bases are missing, not finite or not positive.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> b = gpd.GeoDataFrame({"id": ["a"], "height": [10.0], "base": [0.0], "use": ["office"]},
    ...                      geometry=[box(0, 0, 4, 5)])
    >>> round(buildings_mesh(b, (0, 0, 0)).volume, 6)
    200.0
    """
    p = prism_rings(buildings)
    parts, row, xy, ring_next, point_part = p.parts, p.row, p.xy, p.ring_next, p.point_part
    m = len(xy)
    pts = p.points

    k = np.arange(m)
    walls = np.concatenate([np.column_stack([k, ring_next, ring_next + m]),
                            np.column_stack([k, ring_next + m, k + m])])
    tri_xy, tri_part = triangulate(parts)
    tri = _match_vertices(xy, point_part, tri_xy, tri_part)
    roofs, floors = tri + m, tri[:, ::-1]
    faces = np.concatenate([floors, walls, roofs])
    face_part = np.concatenate([tri_part, point_part, point_part, tri_part])
    surface = np.repeat(np.array([0, 1, 2], np.int8), [len(floors), len(walls), len(roofs)])

    mesh = _polydata(pts, faces, origin)
    index = row[face_part].astype(np.int32)
    uses = buildings["use"] if "use" in buildings else np.full(len(buildings), "other")
    use_code = style.codes_for(uses, style.BUILDING_USE_COLORS)
    mesh.cell_data["building_index"] = index
    mesh.cell_data["use_code"] = use_code[index]
    mesh.cell_data["surface"] = surface
    mesh.cell_data["rgb"] = style.colors_for(uses, style.BUILDING_USE_COLORS)[index]
    return mesh


def _heights(buildings) -> tuple[np.ndarray, np.ndarray]:
    ids = _ids(buildings)
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


def _ids(gdf) -> np.ndarray:
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


def _ring_vertices(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _match_vertices(xy, point_part, tri_xy, tri_part) -> np.ndarray:
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


# -- roads, water -------------------------------------------------------------
def roads_mesh(roads, terrain: Raster | None, origin, *, width: float | None = None) -> pv.PolyData:
    """Road surfaces draped on the terrain.

    LineStrings become ribbons (flat-capped buffers ``lanes x 3.5 m`` wide,
    or ``width``); Polygons are used as they are. Every vertex is lifted to
    the terrain plus 0.2 m.

    Parameters
    ----------
    roads : GeoDataFrame
        ``id, class, lanes, geometry`` (LineString or Polygon).
    terrain : Raster or None
        Ground for draping (z = 0 without it).
    origin : tuple of float
    width : float, optional
        Width of every ribbon (m), overriding ``lanes``.

    Returns
    -------
    pyvista.PolyData
        cell data ``road_index`` (row in ``roads``), ``class_code`` and ``rgb``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> r = gpd.GeoDataFrame({"id": ["r"], "lanes": [2]}, geometry=[LineString([(0, 0), (100, 0)])])
    >>> round(roads_mesh(r, None, (0, 0, 0)).area, 3)
    700.0
    """
    step = 5.0 if terrain is None else max(terrain.cell_size, 1.0)
    parts, row = road_surfaces(roads, width=width, step=step)
    xy, owner = triangulate(parts)
    index = row[owner]
    flat = xy.reshape(-1, 2)
    z = ground_height(terrain, flat[:, 0], flat[:, 1]) + ROAD_LIFT
    mesh = _polydata(np.column_stack([flat, z]), np.arange(len(flat)).reshape(-1, 3), origin)
    classes = roads["class"] if "class" in roads else np.full(len(roads), "other")
    mesh.cell_data["road_index"] = index.astype(np.int32)
    mesh.cell_data["class_code"] = style.codes_for(classes, style.ROAD_CLASS_COLORS)[index]
    mesh.cell_data["rgb"] = style.colors_for(classes, style.ROAD_CLASS_COLORS)[index]
    return mesh


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
    return polygon_parts(surfaces, _ids(roads), layer="roads")


def water_mesh(water, terrain: Raster | None, origin, *, level=None) -> pv.PolyData:
    """Flat water surfaces of rivers and lakes.

    The level of each polygon is ``level`` when given (one value or one per
    row), else the ``level`` column, else the 10 % quantile of the terrain
    cells inside the polygon (the terrain under its inside point for polygons
    smaller than a cell; 0 m without terrain).

    Parameters
    ----------
    water : GeoDataFrame
        Polygons, optional ``kind`` and ``level`` (m) columns.
    terrain : Raster or None
    origin : tuple of float
    level : float or array_like, optional

    Returns
    -------
    pyvista.PolyData
        cell data ``water_index`` and ``rgb``; field data ``level`` per row.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame({"id": ["lake"]}, geometry=[box(0, 0, 10, 10)])
    >>> water_mesh(w, None, (0, 0, 0), level=3.0).bounds[4]
    3.0
    """
    levels = water_levels(water, terrain, level)
    parts, row = polygon_parts(water.geometry.values, _ids(water), layer="water")
    xy, owner = triangulate(parts)
    index = row[owner]
    flat = xy.reshape(-1, 2)
    z = np.repeat(levels[index], 3)
    mesh = _polydata(np.column_stack([flat, z]), np.arange(len(flat)).reshape(-1, 3), origin)
    mesh.cell_data["water_index"] = index.astype(np.int32)
    mesh.cell_data["rgb"] = np.tile(np.array(style.WATER_COLOR, np.uint8), (len(index), 1))
    mesh.field_data["level"] = levels
    return mesh


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


# -- sensors, BIM ---------------------------------------------------------------
def sensors_mesh(stations, terrain: Raster | None, origin, *, size: float = 1.0) -> pv.PolyData:
    """A pin (pole and ball) at every sensor station, merged into one mesh.

    Parameters
    ----------
    stations : GeoDataFrame
        ``id, kind, geometry`` (Point).
    terrain : Raster or None
        Ground under the pins.
    origin : tuple of float
    size : float
        Scale of the pins (1 = a 12 m pole with a 2.5 m ball).

    Returns
    -------
    pyvista.PolyData
        cell data ``sensor_index``, ``kind_code`` and ``rgb``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> s = gpd.GeoDataFrame({"id": ["s1"], "kind": ["camera"]}, geometry=[Point(5, 5)])
    >>> sensors_mesh(s, None, (0, 0, 0)).bounds[5] > 12
    True
    """
    geoms = stations.geometry.values
    ok = (shapely.get_type_id(geoms) == 0) & ~shapely.is_empty(geoms)
    if not ok.all():
        warnings.warn(f"layer 'sensors': dropped stations without a point: "
                      f"{describe_ids(_ids(stations)[~ok])}", DataWarning, stacklevel=2)
    rows = np.flatnonzero(ok)
    x, y = shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok])
    ground = ground_height(terrain, x, y)
    tpl_pts, tpl_faces = _pin(size)
    n, k = len(rows), len(tpl_pts)
    pts = (tpl_pts[None] + np.column_stack([x, y, ground])[:, None]).reshape(-1, 3)
    faces = (tpl_faces[None] + (np.arange(n) * k)[:, None, None]).reshape(-1, 3)
    index = np.repeat(rows, len(tpl_faces)).astype(np.int32)
    kinds = stations["kind"] if "kind" in stations else np.full(len(stations), "other")
    mesh = _polydata(pts, faces, origin)
    mesh.cell_data["sensor_index"] = index
    mesh.cell_data["kind_code"] = style.codes_for(kinds, style.SENSOR_KIND_COLORS)[index]
    mesh.cell_data["rgb"] = style.colors_for(kinds, style.SENSOR_KIND_COLORS)[index]
    return mesh


def _pin(size: float) -> tuple[np.ndarray, np.ndarray]:
    pole = pv.Cylinder(center=(0, 0, 6 * size), direction=(0, 0, 1), radius=0.35 * size,
                       height=12 * size, resolution=10).triangulate()
    ball = pv.Sphere(radius=2.5 * size, center=(0, 0, 12 * size + 2.5 * size),
                     theta_resolution=14, phi_resolution=10).triangulate()
    pts = np.concatenate([pole.points, ball.points]).astype(np.float64)
    faces = np.concatenate([pole.regular_faces, ball.regular_faces + pole.n_points])
    return pts, faces


def bim_mesh(bim: Mapping[str, object], origin) -> pv.PolyData:
    """All BIM models merged into one mesh.

    Parameters
    ----------
    bim : dict
        Building id -> ``BimModel`` (with ``.mesh``, a :class:`trimesh.Trimesh`
        in world coordinates, and optionally ``.face_element``) or a bare
        ``Trimesh``.
    origin : tuple of float

    Returns
    -------
    pyvista.PolyData
        cell data ``bim_index`` (position in ``bim``), ``element_index``
        (-1 when unknown) and ``rgb``; field data ``building_id``.

    Examples
    --------
    >>> import trimesh
    >>> bim_mesh({"b1": trimesh.creation.box((2, 2, 2))}, (0, 0, 0)).n_cells
    12
    """
    meshes = [getattr(m, "mesh", m) for m in bim.values()]
    if not meshes:
        return pv.PolyData()
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    pts = np.concatenate([np.asarray(m.vertices, np.float64) for m in meshes])
    faces = np.concatenate([np.asarray(m.faces, np.int64) + o for m, o in zip(meshes, offsets)])
    counts = [len(m.faces) for m in meshes]
    element = np.concatenate([
        np.asarray(getattr(model, "face_element", np.full(c, -1)), np.int32)
        for model, c in zip(bim.values(), counts)])
    mesh = _polydata(pts, faces, origin)
    mesh.cell_data["bim_index"] = np.repeat(np.arange(len(meshes), dtype=np.int32), counts)
    mesh.cell_data["element_index"] = element
    mesh.cell_data["rgb"] = np.tile(np.array(style.BIM_COLOR, np.uint8), (len(faces), 1))
    mesh.field_data["building_id"] = np.array(list(bim), dtype=str)
    return mesh


# -- shared -------------------------------------------------------------------
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


def _polydata(world_points: np.ndarray, triangles: np.ndarray, origin) -> pv.PolyData:
    """One triangle mesh from world points (float64) and ``(n, 3)`` indices."""
    local = (np.asarray(world_points, np.float64) - np.asarray(origin, np.float64))
    if len(triangles) == 0:
        return pv.PolyData()
    return pv.PolyData.from_regular_faces(local.astype(np.float32),
                                          np.asarray(triangles, dtype=np.int64))
