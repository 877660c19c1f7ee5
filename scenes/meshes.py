"""The 3D city as meshes: terrain, LoD1 buildings, roads, water, sensors, BIM.

A :class:`Scene` is a set of named :class:`pyvista.PolyData` blocks in local
coordinates around a float64 ``origin`` (``world = local + origin``), so the
float32 points keep centimetre precision at any northing. Every block is one
mesh built from arrays (never one actor per building) and carries cell data
telling which feature each triangle came from (``building_index``,
``road_index``, ...) and its colour (``rgb``, from :mod:`scenes.style`).
The pure geometry (rings, triangulation, draping, the local origin) lives in
:mod:`scenes.geometry`; its public names are importable from here as well.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pyvista as pv
import shapely
from pyproj import CRS

from geodata.errors import DataError, DataWarning, describe_ids
from geodata.raster import Raster
from scenes import style
from scenes.geometry import (ROAD_LIFT, PrismRings, feature_ids, grid_triangles, ground_height,
                             match_vertices, polygon_parts, prism_rings, road_surfaces,
                             scene_origin, triangulate, water_levels)

__all__ = ["Scene", "scene_bounds", "scene_origin", "city_scene", "terrain_mesh",
           "buildings_mesh", "roads_mesh", "water_mesh", "sensors_mesh", "bim_mesh",
           "polygon_parts", "triangulate", "road_surfaces", "ground_height", "water_levels",
           "PrismRings", "prism_rings"]


LAYERS = ("terrain", "buildings", "roads", "water", "sensors", "bim")


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
    tris = grid_triangles(np.isfinite(z), south_up=raster.transform.e > 0)
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
    tri = match_vertices(xy, point_part, tri_xy, tri_part)
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
    parts, row = polygon_parts(water.geometry.values, feature_ids(water), layer="water")
    xy, owner = triangulate(parts)
    index = row[owner]
    flat = xy.reshape(-1, 2)
    z = np.repeat(levels[index], 3)
    mesh = _polydata(np.column_stack([flat, z]), np.arange(len(flat)).reshape(-1, 3), origin)
    mesh.cell_data["water_index"] = index.astype(np.int32)
    mesh.cell_data["rgb"] = np.tile(np.array(style.WATER_COLOR, np.uint8), (len(index), 1))
    mesh.field_data["level"] = levels
    return mesh



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
                      f"{describe_ids(feature_ids(stations)[~ok])}", DataWarning, stacklevel=2)
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
def _polydata(world_points: np.ndarray, triangles: np.ndarray, origin) -> pv.PolyData:
    """One triangle mesh from world points (float64) and ``(n, 3)`` indices."""
    local = (np.asarray(world_points, np.float64) - np.asarray(origin, np.float64))
    if len(triangles) == 0:
        return pv.PolyData()
    return pv.PolyData.from_regular_faces(local.astype(np.float32),
                                          np.asarray(triangles, dtype=np.int64))
