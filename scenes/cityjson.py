"""CityJSON 2.0 export of a city: LoD1 buildings, roads, water, land use, terrain.

* Buildings become ``Building`` objects with an LoD1 ``Solid`` extruded from
  the footprint (``base`` to ``base + height``), holes as inner rings of the
  floor and roof, semantic surfaces (ground, roof, wall), and the attributes
  ``measuredHeight``, ``function`` (the ``use``) and the other columns.
  A multi-part footprint becomes a ``Building`` with one ``BuildingPart`` per part.
* Roads become ``Road`` objects with an LoD1 ``MultiSurface``: lines are
  buffered to ``lanes x 3.5 m`` surfaces, triangulated and draped on the terrain.
* Water bodies become ``WaterBody`` (flat ``MultiSurface`` at the water level),
  land use ``LandUse`` (draped triangles), the terrain a decimated ``TINRelief``.

Vertices are deduplicated integers with ``transform.scale`` 0.001 (mm), and
``metadata.referenceSystem`` is the OGC URL of the City CRS.
"""
from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geodata.errors import DataError, DataWarning, describe_ids
from scenes.geometry import (feature_ids, ground_height, polygon_parts, prism_rings,
                             ring_vertices, road_surfaces, triangulate, water_levels)
from scenes.meshes import terrain_mesh

__all__ = ["write_cityjson", "reference_system_url", "SCALE", "MAX_TIN_TRIANGLES"]

SCALE = 0.001
"""Size of one integer vertex step (m)."""
MAX_TIN_TRIANGLES = 200_000
"""The terrain is decimated (every n-th cell) to stay under this many triangles."""
_SEMANTICS = [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}]


def reference_system_url(crs) -> str:
    """OGC URL of a CRS with an EPSG code, as CityJSON wants it.

    Examples
    --------
    >>> from pyproj import CRS
    >>> reference_system_url(CRS.from_epsg(4547))
    'https://www.opengis.net/def/crs/EPSG/0/4547'
    """
    auth = crs.to_authority(min_confidence=70)
    if auth is None or auth[0] != "EPSG":
        raise DataError(f"the city CRS {crs.name!r} has no EPSG code",
                        fix="reproject the city to an EPSG-registered projected CRS")
    return f"https://www.opengis.net/def/crs/EPSG/0/{auth[1]}"


def write_cityjson(city, path: str | os.PathLike, *, terrain: bool = True) -> Path:
    """Write a city as a CityJSON 2.0 file.

    Parameters
    ----------
    city : twin.City
    path : path-like
        Output ``.city.json``; written to ``path.partial`` and renamed.
    terrain : bool
        Include the terrain as a ``TINRelief`` (decimated to at most
        :data:`MAX_TIN_TRIANGLES` triangles).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        When ids repeat within a layer, heights are missing, or the CRS has
        no EPSG code.

    Examples
    --------
    >>> write_cityjson(city, "out/ezhou.city.json")  # doctest: +SKIP
    PosixPath('out/ezhou.city.json')
    """
    pool = _VertexPool()
    objects: dict[str, dict] = {}
    layers = [("buildings", city.buildings, _buildings),
              ("roads", city.roads, lambda gdf, k, p: _roads(gdf, k, city.terrain, p)),
              ("water", city.water, lambda gdf, k, p: _water(gdf, k, city.terrain, p)),
              ("landuse", city.landuse, lambda gdf, k, p: _landuse(gdf, k, city.terrain, p))]
    for layer, gdf, build in layers:
        if len(gdf):
            keys = _unique_keys(gdf, layer, taken=objects)
            objects.update(build(gdf, keys, pool))
    if terrain and city.terrain is not None:
        objects["terrain"] = _tin(city.terrain, pool)
    vertices, translate = pool.finish(objects)
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [SCALE] * 3, "translate": translate},
        "metadata": {"referenceSystem": reference_system_url(city.crs),
                     "title": city.name,
                     "geographicalExtent": _extent(vertices, translate)},
        "CityObjects": objects,
        "vertices": vertices.tolist(),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
    os.replace(tmp, path)
    return path


# -- vertices -------------------------------------------------------------------
class _VertexPool:
    """Collects world coordinates; geometry boundaries refer to them by index
    until :meth:`finish` quantises, deduplicates and renumbers them."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.size = 0

    def add(self, xyz: np.ndarray) -> int:
        """Append points ``(n, 3)``; return the index of the first one."""
        start = self.size
        self.chunks.append(np.asarray(xyz, dtype=np.float64).reshape(-1, 3))
        self.size += len(self.chunks[-1])
        return start

    def finish(self, objects: dict) -> tuple[np.ndarray, list[float]]:
        if not self.chunks:
            return np.zeros((0, 3), np.int64), [0.0, 0.0, 0.0]
        xyz = np.concatenate(self.chunks)
        translate = np.floor(xyz.min(axis=0) * 1000) / 1000
        ints = np.rint((xyz - translate) / SCALE).astype(np.int64)
        unique, inverse = np.unique(ints, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        for obj in objects.values():
            for geom in obj.get("geometry", []):
                geom["boundaries"] = _renumber(geom["boundaries"], inverse)
        return unique, [float(v) for v in translate]


def _renumber(nested, inverse: np.ndarray):
    """Replace the indices in nested boundary lists (any depth) by ``inverse[i]``."""
    if isinstance(nested, np.ndarray):
        return inverse[nested].tolist()
    return [_renumber(item, inverse) for item in nested]


def _extent(vertices: np.ndarray, translate) -> list[float]:
    if len(vertices) == 0:
        return [0.0] * 6
    lo = vertices.min(axis=0) * SCALE + translate
    hi = vertices.max(axis=0) * SCALE + translate
    return [round(float(v), 3) for v in (*lo, *hi)]


# -- objects --------------------------------------------------------------------
def _unique_keys(gdf, layer: str, taken: dict) -> list[str]:
    ids = feature_ids(gdf)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        raise DataError("ids repeat", layer=layer, feature=describe_ids(np.unique(ids[dup])),
                        fix="give every feature of the layer its own id")
    clash = np.isin(ids, list(taken)) | (ids == "terrain")
    return [f"{layer}-{i}" if c else i for i, c in zip(ids, clash)]


def _attributes(gdf, rename: dict[str, str]) -> list[dict]:
    """Per-row attribute dicts of the scalar columns, NaN left out."""
    cols = [c for c in gdf.columns if c not in ("id", "geometry", gdf.geometry.name)]
    table = pd.DataFrame(gdf[cols]).rename(columns=rename)
    records = json.loads(table.to_json(orient="records", date_format="iso"))
    return [{k: v for k, v in rec.items() if v is not None} for rec in records]


def _buildings(gdf, keys: list[str], pool: _VertexPool) -> dict[str, dict]:
    p = prism_rings(gdf)
    parts, row, ring_next, point_part = p.parts, p.row, p.ring_next, p.point_part
    m = len(p.xy)
    start = pool.add(p.points)
    k = np.arange(m)
    walls = np.column_stack([k, ring_next, ring_next + m, k + m]) + start
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_len = shapely.get_num_coordinates(rings) - 1
    ring_idx = np.split(k + start, np.cumsum(ring_len)[:-1])
    walls_of_part = np.split(walls, np.cumsum(np.bincount(point_part, minlength=len(parts)))[:-1])
    rings_of_part = np.split(np.arange(len(rings)), np.cumsum(np.bincount(ring_part, minlength=len(parts)))[:-1])
    solids = [_solid([ring_idx[r] for r in rs], w, m)
              for rs, w in zip(rings_of_part, walls_of_part)]
    attrs = _attributes(gdf, {"height": "measuredHeight", "use": "function"})
    counts = np.bincount(row, minlength=len(gdf))
    first = np.searchsorted(row, np.arange(len(gdf)))
    objects: dict[str, dict] = {}
    for i in np.flatnonzero(counts):
        obj = {"type": "Building", "attributes": attrs[i]}
        objects[keys[i]] = obj
        if counts[i] == 1:
            obj["geometry"] = [solids[first[i]]]
            continue
        obj["children"] = [f"{keys[i]}-part{j + 1}" for j in range(counts[i])]
        for child, p in zip(obj["children"], range(first[i], first[i] + counts[i])):
            objects[child] = {"type": "BuildingPart", "parents": [keys[i]],
                              "geometry": [solids[p]]}
    return objects


def _solid(rings: list[np.ndarray], walls: np.ndarray, m: int) -> dict:
    """LoD1 Solid of one footprint: floor (rings reversed), roof, one quad per edge."""
    floor = [r[::-1] for r in rings]
    roof = [r + m for r in rings]
    shell = [floor, roof] + [[w] for w in walls]
    return {"type": "Solid", "lod": "1", "boundaries": [shell],
            "semantics": {"surfaces": _SEMANTICS,
                          "values": [[0, 1] + [2] * len(walls)]}}


def _surfaces(xy: np.ndarray, z: np.ndarray, owner: np.ndarray, n: int,
              pool: _VertexPool) -> list[np.ndarray]:
    """Triangles ``(t, 3, 2)`` with heights ``(t*3,)`` -> per-feature index
    arrays shaped ``(k, 1, 3)`` (k triangles, one ring each)."""
    start = pool.add(np.column_stack([xy.reshape(-1, 2), z]))
    order = np.argsort(owner, kind="stable")
    tri = (np.arange(len(owner) * 3) + start).reshape(-1, 1, 3)[order]
    return np.split(tri, np.cumsum(np.bincount(owner, minlength=n))[:-1])


def _multisurface(kind: str, keys, attrs: list[dict], surfaces: list[np.ndarray]) -> dict:
    return {key: {"type": kind, "attributes": a,
                  "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": s}]}
            for key, a, s in zip(keys, attrs, surfaces) if len(s)}


def _draped(parts, row, n: int, terrain, pool: _VertexPool) -> list:
    """Triangles of polygon parts draped on the terrain, grouped per feature."""
    xy, owner = triangulate(parts)
    flat = xy.reshape(-1, 2)
    z = ground_height(terrain, flat[:, 0], flat[:, 1])
    return _surfaces(xy, z, row[owner], n, pool)


def _roads(gdf, keys, terrain, pool: _VertexPool) -> dict:
    parts, row = road_surfaces(gdf, step=5.0 if terrain is None else max(terrain.cell_size, 1.0))
    surfaces = _draped(parts, row, len(gdf), terrain, pool)
    return _multisurface("Road", keys, _attributes(gdf, {"class": "function"}), surfaces)


def _landuse(gdf, keys, terrain, pool: _VertexPool) -> dict:
    step = 5.0 if terrain is None else max(terrain.cell_size, 1.0)
    parts, row = polygon_parts(shapely.segmentize(gdf.geometry.values, step), feature_ids(gdf),
                               layer="landuse")
    surfaces = _draped(parts, row, len(gdf), terrain, pool)
    return _multisurface("LandUse", keys, _attributes(gdf, {"class": "function"}), surfaces)


def _water(gdf, keys, terrain, pool: _VertexPool) -> dict:
    """Flat polygons (with holes) at the water level of each water body."""
    levels = water_levels(gdf, terrain)
    parts, row = polygon_parts(gdf.geometry.values, feature_ids(gdf), layer="water")
    parts = shapely.orient_polygons(shapely.remove_repeated_points(parts), exterior_cw=False)
    xy, _, point_part = ring_vertices(parts)
    start = pool.add(np.column_stack([xy, levels[row][point_part]]))
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_idx = np.split(np.arange(len(xy)) + start,
                        np.cumsum(shapely.get_num_coordinates(rings) - 1)[:-1])
    ring_groups = np.split(np.arange(len(rings)),
                           np.cumsum(np.bincount(ring_part, minlength=len(parts)))[:-1])
    polys = [[ring_idx[r] for r in rs] for rs in ring_groups]
    bounds = np.cumsum(np.bincount(row, minlength=len(gdf)))
    per_feature = [polys[lo:hi] for lo, hi in zip(np.r_[0, bounds[:-1]], bounds)]
    attrs = _attributes(gdf, {"kind": "class"})
    for a, lvl in zip(attrs, levels):
        a["waterLevel"] = round(float(lvl), 3)
    return {key: {"type": "WaterBody", "attributes": a,
                  "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": s}]}
            for key, a, s in zip(keys, attrs, per_feature) if s}


def _tin(raster, pool: _VertexPool) -> dict:
    rows, cols = raster.shape
    step = max(1, math.ceil(math.sqrt(2 * rows * cols / MAX_TIN_TRIANGLES)))
    xmin, ymin, xmax, ymax = raster.bounds
    origin = (round((xmin + xmax) / 2), round((ymin + ymax) / 2), 0.0)
    mesh = terrain_mesh(raster, origin, step=step)
    if step > 1:
        warnings.warn(f"the CityJSON TINRelief keeps one terrain cell in {step} along each axis",
                      DataWarning, stacklevel=3)
    world = np.asarray(mesh.points, np.float64) + origin
    world[:, 2] = mesh.point_data["elevation"]
    start = pool.add(world)
    tri = (np.asarray(mesh.regular_faces, np.int64) + start).reshape(-1, 1, 3)
    return {"type": "TINRelief", "attributes": {"cellSize": raster.cell_size * step},
            "geometry": [{"type": "CompositeSurface", "lod": "1", "boundaries": tri}]}
