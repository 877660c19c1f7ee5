"""CityJSON 2.0 files as GeoDataFrames of footprints and surfaces.

A CityJSON file holds 3D city objects (buildings, roads, water, land use,
bridges, ...) whose geometries index one shared, integer-compressed vertex
list. :func:`read_cityjson` decodes the vertices with numpy, projects every
surface to 2D with shapely's vectorised constructors and unions them per
city object into footprints, giving one GeoDataFrame per theme in the
horizontal part of the file's CRS.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geodata.errors import DataError, DataWarning, describe_ids

__all__ = ["CityJSONLayers", "read_cityjson", "MANNING"]

BUILDING_TYPES = ("Building",)
PART_TYPES = ("BuildingPart",)
ROAD_TYPES = ("Road", "TransportSquare", "Railway")
WATER_TYPES = ("WaterBody",)
LANDUSE_TYPES = ("LandUse", "PlantCover")

#: Building attributes kept as columns when any building has them.
BUILDING_ATTRIBUTES = ("yearOfConstruction", "yearOfDemolition", "roofType",
                       "storeysAboveGround", "storeysBelowGround", "function", "usage")

#: Attributes that name the class of a surface, in order of preference
#: (``bgt_fysiekvoorkomen`` is the class of Dutch BGT land use, as in 3dfier output).
CLASS_ATTRIBUTES = ("class", "function", "usage", "bgt_fysiekvoorkomen")

#: Manning's roughness n (s/m^(1/3)) by land-use class (lower case), used when
#: the object has no ``manning`` attribute.
MANNING = {
    "paved": 0.015, "asphalt": 0.015, "gesloten verharding": 0.015,
    "open verharding": 0.020, "gravel": 0.025, "onverhard": 0.030, "bare soil": 0.030,
    "erf": 0.035, "yard": 0.035, "grass": 0.035, "gras- en kruidachtigen": 0.035,
    "groenvoorziening": 0.050, "park": 0.050, "farmland": 0.040, "agriculture": 0.040,
    "shrubs": 0.070, "heesters": 0.070, "forest": 0.100, "bos": 0.100,
    "wetland": 0.060, "water": 0.025,
}
_MANNING_DEFAULT = {"LandUse": 0.035, "PlantCover": 0.050}

_SURFACE_DEPTH = {"MultiSurface": 1, "CompositeSurface": 1, "Solid": 2,
                  "MultiSolid": 3, "CompositeSolid": 3}


@dataclass
class CityJSONLayers:
    """The themes of a CityJSON file, in one projected CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        Horizontal projected CRS in metres (EPSG:28992 for a file in EPSG:7415).
    buildings : GeoDataFrame
        ``id, height, base, use`` plus kept attributes; footprint polygons.
    roads : GeoDataFrame
        ``id, type, class``; road *surface* polygons, not centre lines.
    water : GeoDataFrame
        ``id, kind``; water body polygons.
    landuse : GeoDataFrame
        ``id, type, class, manning``; land-use and plant-cover polygons.
    other : dict of str to GeoDataFrame
        Every other city object type (``Bridge``, ``GenericCityObject``, ...):
        ``id, class, base, height`` and the 2D outline.
    metadata : dict
        The file's ``metadata`` member.

    Examples
    --------
    >>> layers = read_cityjson("delft.city.json")  # doctest: +SKIP
    >>> layers.buildings[["id", "height"]].head()  # doctest: +SKIP
    """

    crs: CRS
    buildings: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    other: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


def read_cityjson(path: str | os.PathLike, *, crs: CRS | str | int | None = None
                  ) -> CityJSONLayers:
    """Read a CityJSON 2.x file into footprint and surface layers.

    Buildings (with their ``BuildingPart`` children merged in) become
    footprints: the 2D union of the ``GroundSurface`` faces of each object's
    lowest-LoD geometry, or of all its faces projected to 2D when it has no
    semantics (right for non-convex footprints and courtyards). ``height`` is
    ``measuredHeight`` when given, else max z - min z; ``base`` is min z.
    Roads, transport squares and railways are *surfaces* (CityJSON roads are
    areas, not centre lines). Water bodies, land use and plant cover are
    polygons; land use gets a Manning's n from :data:`MANNING`.

    Parameters
    ----------
    path : path-like
        A ``.city.json`` file, CityJSON version 2.x.
    crs : CRS-like, optional
        Reproject every layer to this projected CRS. Required when the file
        has no ``metadata.referenceSystem`` (its coordinates are then taken to
        be in ``crs``).

    Returns
    -------
    CityJSONLayers

    Raises
    ------
    DataError
        Missing file, not JSON, not CityJSON, version not 2.x, no CRS, or a
        geographic CRS. City objects with broken geometry are dropped with a
        :class:`DataWarning` listing their ids.

    Examples
    --------
    >>> layers = read_cityjson("delft.city.json")  # doctest: +SKIP
    >>> layers.crs.to_epsg(), len(layers.buildings)  # doctest: +SKIP
    (28992, 160)
    """
    path = Path(path)
    doc = _load(path)
    target = None if crs is None else _projected(_as_crs(crs, path), path)
    source = _source_crs(doc, path)
    if source is None and target is None:
        raise DataError("has no metadata.referenceSystem, so its CRS is unknown", file=path,
                        fix="add \"referenceSystem\": \"https://www.opengis.net/def/crs/EPSG/0/"
                            "<code>\" to metadata, or pass crs=")
    source = target if source is None else source
    vertices = _vertices(doc, path)
    objects = doc.get("CityObjects")
    if not isinstance(objects, dict):
        raise DataError("has no CityObjects member", file=path,
                        fix="write the file with a CityJSON 2.0 exporter")
    groups, owners = _groups(objects)
    faces = _faces(objects, owners, vertices, path)
    outline = _outlines(faces, len(groups))
    table = _table(objects, groups, faces, outline, path)
    layers = _split(table, objects, source)
    if target is not None and not target.equals(source):
        layers = {k: v.to_crs(target) if isinstance(v, gpd.GeoDataFrame)
                  else {t: g.to_crs(target) for t, g in v.items()} for k, v in layers.items()}
    return CityJSONLayers(crs=target or source, metadata=dict(doc.get("metadata", {})), **layers)


# -- the document -------------------------------------------------------------------
def _load(path: Path) -> dict:
    if not path.exists():
        raise DataError("file not found", file=path, fix="check the path of the CityJSON file")
    try:
        with open(path, "rb") as fh:
            doc = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"is not JSON ({exc})", file=path,
                        fix="give a CityJSON file (.city.json)") from None
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        raise DataError("is not CityJSON (no \"type\": \"CityJSON\")", file=path,
                        fix="give a CityJSON 2.0 file; CityJSONSeq (.jsonl) must be "
                            "collected first with `cjio`")
    version = str(doc.get("version", ""))
    if version.startswith("1."):
        raise DataError(f"is CityJSON {version}, this reader needs 2.x", file=path,
                        fix=f"upgrade it with `cjio {path.name} upgrade save out.city.json`")
    if not version.startswith("2."):
        raise DataError(f"has unsupported CityJSON version {version!r}", file=path,
                        fix="give a CityJSON 2.x file")
    return doc


def _as_crs(value, path: Path) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise DataError(f"CRS {value!r} is not understood ({exc})", file=path,
                        fix="give an EPSG code such as 'EPSG:28992'") from None


def _projected(crs: CRS, path: Path) -> CRS:
    """The horizontal part of ``crs``, which must be projected in metres."""
    if crs.is_compound:
        crs = next((c for c in crs.sub_crs_list if c.is_projected or c.is_geographic),
                   crs.sub_crs_list[0])
    if not crs.is_projected:
        raise DataError(f"CRS {crs.name} is not projected (coordinates in degrees)", file=path,
                        fix="reproject the file to a projected CRS in metres with "
                            "`cjio ... crs_reproject <epsg>`, or pass a projected crs=")
    return crs


def _source_crs(doc: dict, path: Path) -> CRS | None:
    ref = doc.get("metadata", {}).get("referenceSystem")
    if not ref:
        return None
    match = re.search(r"crs/([A-Za-z]+)/[^/]*/(\w+)/?$", ref) or \
        re.search(r"crs:([A-Za-z]+):[^:]*:(\w+)$", ref)
    if match is None:
        raise DataError(f"metadata.referenceSystem {ref!r} is not an OGC CRS URL", file=path,
                        fix="use the form https://www.opengis.net/def/crs/EPSG/0/7415")
    return _projected(_as_crs(f"{match[1]}:{match[2]}", path), path)


def _vertices(doc: dict, path: Path) -> np.ndarray:
    try:
        v = np.asarray(doc.get("vertices", []), dtype=np.float64).reshape(-1, 3)
    except ValueError:
        raise DataError("vertices are not a list of [x, y, z] numbers", file=path,
                        fix="repair the file with `cjio ... validate`") from None
    t = doc.get("transform")
    if t is not None:
        v = v * np.asarray(t["scale"], np.float64) + np.asarray(t["translate"], np.float64)
    return v


def _groups(objects: dict) -> tuple[list[str], dict[str, int]]:
    """Output rows (city objects that are not building parts) and, for every
    object id, the row its geometry goes to (building parts to their building)."""
    groups = [oid for oid, o in objects.items() if o.get("type") not in PART_TYPES]
    row = {oid: i for i, oid in enumerate(groups)}
    owners = dict(row)
    for oid, o in objects.items():
        if o.get("type") in PART_TYPES:
            parent = _root(oid, objects)
            if parent in row:
                owners[oid] = row[parent]
    return groups, owners


def _root(oid: str, objects: dict) -> str:
    seen = {oid}
    while objects.get(oid, {}).get("type") in PART_TYPES and objects[oid].get("parents"):
        oid = objects[oid]["parents"][0]
        if oid in seen:
            break
        seen.add(oid)
    return oid


# -- geometry ------------------------------------------------------------------------
@dataclass
class _Faces:
    """Every surface of the chosen geometries, as flat arrays."""

    polygons: np.ndarray      # shapely polygons, projected to 2D
    group: np.ndarray         # output row of each polygon
    ground: np.ndarray        # bool: semantic GroundSurface
    solid: np.ndarray         # bool: face of a (multi/composite) solid
    zmin: np.ndarray          # per output row, nan when no geometry
    zmax: np.ndarray
    broken: set


def _faces(objects: dict, owners: dict, vertices: np.ndarray, path: Path) -> _Faces:
    rings, ring_surface, surface_group, surface_ground, surface_solid = [], [], [], [], []
    broken = set()
    n_surf = 0
    for oid, row in owners.items():
        geometry = _lowest_lod(objects[oid].get("geometry") or [])
        if geometry is None:
            continue
        surfaces = _surfaces(geometry)
        if surfaces is None:
            broken.add(oid)
            continue
        counts = [len(s) for s in surfaces]
        rings.extend(chain.from_iterable(surfaces))
        ring_surface.append(np.repeat(np.arange(n_surf, n_surf + len(surfaces)), counts))
        surface_group.append(np.full(len(surfaces), row))
        surface_ground.append(_ground_mask(geometry, len(surfaces)))
        surface_solid.append(np.full(len(surfaces), "Solid" in geometry["type"]))
        n_surf += len(surfaces)
    lengths = np.fromiter((len(r) if isinstance(r, list) else -1 for r in rings), np.int64,
                          len(rings))
    ring_surface = np.concatenate(ring_surface) if ring_surface else np.zeros(0, np.int64)
    surface_group = np.concatenate(surface_group) if surface_group else np.zeros(0, np.int64)
    surface_ground = np.concatenate(surface_ground) if surface_ground else np.zeros(0, bool)
    surface_solid = np.concatenate(surface_solid) if surface_solid else np.zeros(0, bool)
    ring_group = surface_group[ring_surface]
    bad_ring = lengths < 3
    try:
        flat = np.fromiter(chain.from_iterable(r for r, ok in zip(rings, ~bad_ring) if ok),
                           np.int64)
    except (TypeError, ValueError):
        raise DataError("has boundaries that are not lists of integer vertex indices",
                        file=path, fix="check the file with `cjio ... validate` (or cjval)"
                        ) from None
    good_lengths = np.where(bad_ring, 0, lengths)
    vertex_ring = np.repeat(np.arange(len(rings)), good_lengths)
    end = np.cumsum(good_lengths)
    closed = flat[np.maximum(end - good_lengths, 0)[~bad_ring]] == flat[end[~bad_ring] - 1]
    bad_ring[np.flatnonzero(~bad_ring)[closed & (lengths[~bad_ring] < 4)]] = True
    out = (flat < 0) | (flat >= len(vertices))
    bad_group = np.zeros(len(owners) + 1, bool)
    bad_group[ring_group[bad_ring]] = True
    bad_group[ring_group[vertex_ring[out]]] = True
    n_groups = max(owners.values(), default=-1) + 1
    keep_surface = ~bad_group[surface_group]
    keep_ring = keep_surface[ring_surface]
    keep_vertex = keep_ring[vertex_ring]
    idx, vring = flat[keep_vertex], vertex_ring[keep_vertex]
    xyz = vertices[idx]
    gv = ring_group[vring]
    zmin = np.full(n_groups, np.inf)
    zmax = np.full(n_groups, -np.inf)
    np.minimum.at(zmin, gv, xyz[:, 2])
    np.maximum.at(zmax, gv, xyz[:, 2])
    zmin[~np.isfinite(zmin)] = np.nan
    zmax[~np.isfinite(zmax)] = np.nan
    ring_ids = np.unique(vring, return_inverse=True)[1]
    try:
        lr = shapely.linearrings(xyz[:, :2], indices=ring_ids)
    except (ValueError, shapely.errors.GEOSException) as exc:
        raise DataError(f"has a ring with fewer than 3 distinct vertices ({exc})", file=path,
                        fix="check the file with `cjio ... validate` (or cjval)") from None
    kept_rings = np.flatnonzero(keep_ring)
    surface_of_ring = np.unique(ring_surface[kept_rings], return_inverse=True)[1]
    polygons = shapely.polygons(lr, indices=surface_of_ring)
    kept_surfaces = np.flatnonzero(keep_surface)
    broken |= {oid for oid, row in owners.items() if bad_group[row]}
    return _Faces(polygons=polygons, group=surface_group[kept_surfaces],
                  ground=surface_ground[kept_surfaces], solid=surface_solid[kept_surfaces],
                  zmin=zmin, zmax=zmax, broken=broken)


def _lowest_lod(geometries: list) -> dict | None:
    """The surface geometry with the lowest LoD (ties: the first one)."""
    usable = [g for g in geometries if isinstance(g, dict) and g.get("type") in _SURFACE_DEPTH]
    if not usable:
        return None
    return min(usable, key=lambda g: float(g.get("lod", 0) or 0))


def _surfaces(geometry: dict) -> list | None:
    """The geometry's surfaces (each a list of rings), or None when malformed."""
    b = geometry.get("boundaries")
    try:
        for _ in range(_SURFACE_DEPTH[geometry["type"]] - 1):
            b = list(chain.from_iterable(b))
        if not b or not all(isinstance(s, list) and s for s in b):
            return None
    except TypeError:
        return None
    return b


def _ground_mask(geometry: dict, n: int) -> np.ndarray:
    semantics = geometry.get("semantics")
    if not semantics:
        return np.zeros(n, bool)
    values = semantics.get("values")
    for _ in range(_SURFACE_DEPTH[geometry["type"]] - 1):
        values = list(chain.from_iterable(v or [] for v in values or []))
    kinds = np.array([s.get("type") == "GroundSurface" for s in semantics.get("surfaces", [])]
                     + [False])
    values = np.array([len(kinds) - 1 if v is None else v for v in values or []], np.int64)
    if len(values) != n or (values >= len(kinds)).any():
        return np.zeros(n, bool)
    return kinds[values]


def _outlines(faces: _Faces, n_groups: int) -> np.ndarray:
    """Per output row, the 2D union of its ground faces.

    Ground faces are the semantic ``GroundSurface`` faces; without semantics,
    the downward faces of solids (clockwise seen from above, as outer shells
    are oriented outwards): every vertical line through a solid leaves it
    through one, so their union is the footprint, at half the cost of all
    faces. Objects with no ground face found use all their faces.
    """
    area = shapely.area(faces.polygons)
    down = faces.solid & ~shapely.is_ccw(shapely.get_exterior_ring(faces.polygons))
    has_semantics = _any_per_group(faces.ground, faces.group, n_groups)
    ground = faces.ground | (down & ~has_semantics[faces.group])
    has_ground = _any_per_group(ground & (area > 1e-9), faces.group, n_groups)
    use = (area > 1e-9) & (ground | ~has_ground[faces.group])
    polys, group = faces.polygons[use], faces.group[use]
    invalid = ~shapely.is_valid(polys)
    polys[invalid] = shapely.make_valid(polys[invalid])
    return _grouped_union(polys, group, n_groups)


def _any_per_group(mask: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group: does ``mask`` hold for any of its members?"""
    return np.bincount(group[mask], minlength=n_groups) > 0


def _grouped_union(polys: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Union of ``polys`` per ``group`` (None for empty groups).

    Groups are binned by size into powers of two and padded with None so
    that each bin is one vectorised ``shapely.union_all(..., axis=1)``.
    """
    out = np.full(n_groups, None, dtype=object)
    order = np.argsort(group, kind="stable")
    polys, group = polys[order], group[order]
    counts = np.bincount(group, minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    width = 2 ** np.ceil(np.log2(np.maximum(counts, 1))).astype(int)
    for w in np.unique(width[counts > 0]):
        rows = np.flatnonzero((width == w) & (counts > 0))
        col = np.arange(w)
        take = start[rows, None] + col
        valid = col < counts[rows, None]
        block = np.full((len(rows), w), None, dtype=object)
        block[valid] = polys[take[valid]]
        out[rows] = shapely.union_all(block, axis=1)
    return out


# -- attributes ----------------------------------------------------------------------
def _table(objects: dict, groups: list, faces: _Faces, outline: np.ndarray,
           path: Path) -> pd.DataFrame:
    attrs = [objects[g].get("attributes") or {} for g in groups]
    height = np.array([a.get("measuredHeight", np.nan) for a in attrs], dtype=float)
    height = np.where(np.isfinite(height), height, faces.zmax - faces.zmin)
    table = pd.DataFrame({"id": groups, "type": [objects[g].get("type") for g in groups],
                          "base": faces.zmin, "height": height, "geometry": outline})
    table["attributes"] = attrs
    bad = faces.broken
    empty = shapely.is_missing(outline) | shapely.is_empty(outline)
    has_children = np.array([bool(objects[g].get("children")) for g in groups], dtype=bool)
    dropped = empty & ~table["id"].isin(bad).to_numpy()
    if bad:
        warnings.warn(f"{path}: dropped city objects with broken geometry (vertex index out of range, "
                      f"empty ring or malformed boundaries): {describe_ids(sorted(bad))}",
                      DataWarning, stacklevel=4)
    no_geometry = table.loc[dropped & ~has_children, "id"]
    no_geometry = no_geometry[~no_geometry.isin(bad)]
    if len(no_geometry):
        warnings.warn(f"{path}: dropped city objects without a surface geometry "
                      f"(none, or only points, lines or template instances): "
                      f"{describe_ids(no_geometry)}", DataWarning, stacklevel=4)
    return table[~empty].reset_index(drop=True)


def _class_of(attributes: dict, default: str) -> str:
    for key in CLASS_ATTRIBUTES:
        value = attributes.get(key)
        if value not in (None, ""):
            return str(value)
    return default


def _split(table: pd.DataFrame, objects: dict, crs: CRS) -> dict:
    def frame(rows: pd.DataFrame, columns: dict) -> gpd.GeoDataFrame:
        data = {"id": rows["id"].to_numpy(), **columns}
        return gpd.GeoDataFrame(data, geometry=list(rows["geometry"]), crs=crs)

    kind = table["type"]
    b = table[kind.isin(BUILDING_TYPES)]
    buildings = frame(b, {"height": b["height"].to_numpy(float), "base": b["base"].to_numpy(float),
                          "use": [str(a.get("function") or a.get("usage") or "unknown")
                                  for a in b["attributes"]]})
    for name in BUILDING_ATTRIBUTES:
        if name not in ("function", "usage") and any(name in a for a in b["attributes"]):
            buildings[name] = [a.get(name) for a in b["attributes"]]
    buildings = buildings[[c for c in buildings.columns if c != "geometry"] + ["geometry"]]
    r = table[kind.isin(ROAD_TYPES)]
    roads = frame(r, {"type": r["type"].to_numpy(),
                      "class": [_class_of(a, t) for a, t in zip(r["attributes"], r["type"])]})
    w = table[kind.isin(WATER_TYPES)]
    water = frame(w, {"kind": [_class_of(a, "water") for a in w["attributes"]]})
    lu = table[kind.isin(LANDUSE_TYPES)]
    classes = [_class_of(a, t) for a, t in zip(lu["attributes"], lu["type"])]
    manning = [float(a["manning"]) if "manning" in a
               else MANNING.get(c.lower(), _MANNING_DEFAULT[t])
               for a, c, t in zip(lu["attributes"], classes, lu["type"])]
    landuse = frame(lu, {"type": lu["type"].to_numpy(), "class": classes,
                         "manning": np.asarray(manning, float)})
    known = BUILDING_TYPES + ROAD_TYPES + WATER_TYPES + LANDUSE_TYPES
    other = {}
    for t, rows in table[~kind.isin(known)].groupby("type", sort=True):
        other[t] = frame(rows, {"class": [_class_of(a, t) for a in rows["attributes"]],
                                "base": rows["base"].to_numpy(float),
                                "height": rows["height"].to_numpy(float)})
    return {"buildings": buildings, "roads": roads, "water": water, "landuse": landuse,
            "other": other}
