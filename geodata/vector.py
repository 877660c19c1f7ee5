"""Vector layers from any OGR format: reading, checking, repairing, reprojecting.

Every reader goes through :func:`read_layer` (or :func:`read_vector`), which
opens the file with pyogrio, checks it (file, layer, CRS, geometry types,
ids), reprojects it to the city's CRS, drops geometries that cannot be built,
repairs invalid polygons and splits multipart features. The specific readers
(:mod:`geodata.buildings`, :mod:`geodata.roads`, :mod:`geodata.landcover`,
:mod:`geodata.osm`) then turn attributes into the columns the twin uses.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
import shapely.errors
from pyproj import CRS

from geodata.attributes import warn_ids
from geodata.crs import check_coordinates, looks_like_lonlat
from geodata.errors import DataError, describe_ids

__all__ = ["check_overlap", "prepare_layer", "read_frame", "read_layer", "read_vector"]

#: Names that moved to their own modules; ``geodata.vector.<name>`` still finds them.
_MOVED = {"read_buildings": "geodata.buildings", "building_columns": "geodata.buildings",
          "read_roads": "geodata.roads", "ROAD_DEFAULTS": "geodata.roads",
          "OSM_HIGHWAY": "geodata.roads", "read_water": "geodata.landcover",
          "read_landuse": "geodata.landcover", "MANNING": "geodata.landcover",
          "WATER_KINDS": "geodata.landcover"}


def __getattr__(name: str):
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'geodata.vector' has no attribute {name!r}")


# -- reading and checking one layer ------------------------------------------

def read_layer(path: str | os.PathLike, *, crs, layer: str | None = None,
               kind: str = "features", geometry: Sequence[str] = ("Polygon",),
               id_prefix: str = "f") -> gpd.GeoDataFrame:
    """Read, check and reproject one vector layer.

    Parameters
    ----------
    path : path-like
        Any OGR vector source (GeoPackage, Shapefile, GeoJSON, ...).
    crs : anything :class:`pyproj.CRS` accepts
        CRS to reproject to (the city's).
    layer : str, optional
        Layer name; needed when the source has more than one.
    kind : str
        What the layer holds, used in messages (``"buildings"``, ...).
    geometry : sequence of str
        Allowed simple geometry types (``"Polygon"``, ``"LineString"``,
        ``"Point"``); their multipart forms are split into parts.
    id_prefix : str
        Prefix of generated ids (``f"{id_prefix}{i:06d}"``) when the layer
        has no ``id`` column.

    Returns
    -------
    geopandas.GeoDataFrame
        An ``id`` column (str, unique), the file's other columns and single-part
        geometries in ``crs``. Parts of a split feature get ids
        ``"<id>-0"``, ``"<id>-1"``, ...

    Raises
    ------
    DataError
        Missing or unreadable file, unknown layer, no CRS, empty layer,
        wrong geometry types, missing or duplicate ids.

    Warns
    -----
    DataWarning
        Null/empty geometries dropped; invalid polygons repaired.

    Examples
    --------
    >>> roads = read_layer("roads.gpkg", crs=4547, kind="roads",
    ...                    geometry=("LineString",), id_prefix="r")  # doctest: +SKIP
    """
    gdf, _ = read_vector(path, crs=crs, layer=layer, kind=kind, geometry=geometry,
                   id_prefix=id_prefix)
    return gdf


def read_vector(path, *, crs, layer, kind, geometry, id_prefix) -> tuple[gpd.GeoDataFrame, str]:
    """:func:`read_layer`, also returning the name of the layer read.

    Examples
    --------
    >>> gdf, layer = read_vector("roads.gpkg", crs=4547, layer=None, kind="roads",
    ...                          geometry=("LineString",), id_prefix="r")  # doctest: +SKIP
    """
    path = Path(path)
    layer = _layer_name(path, layer, kind)
    gdf, broken = read_frame(path, layer)
    gdf = prepare_layer(gdf, crs=crs, kind=kind, geometry=geometry, id_prefix=id_prefix,
                        file=path, layer=layer, broken=broken)
    return gdf, layer


def read_frame(path: str | os.PathLike, layer: str, *, where: str | None = None,
               columns: Sequence[str] | None = None,
               bbox: tuple[float, float, float, float] | None = None
               ) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Read one layer as it is, surviving geometries GEOS cannot build.

    A feature whose geometry cannot be built (for example an OpenStreetMap
    ring of two points) gets a null geometry instead of ending the read.

    Parameters
    ----------
    path : path-like
        Any OGR vector source.
    layer : str
        Layer name.
    where : str, optional
        OGR SQL filter, e.g. ``"highway IS NOT NULL"``.
    columns : sequence of str, optional
        Attribute columns to read (default: all).
    bbox : (xmin, ymin, xmax, ymax), optional
        Only features that intersect this box, in the layer's CRS.

    Returns
    -------
    (GeoDataFrame, numpy.ndarray)
        The layer, and the row positions of the features whose geometry was
        broken (now null).

    Examples
    --------
    >>> gdf, broken = read_frame("roads.gpkg", "roads")  # doctest: +SKIP
    """
    kw = {"layer": layer, "where": where, "bbox": bbox}
    try:
        try:
            return (pyogrio.read_dataframe(path, columns=columns, **kw),
                    np.zeros(0, dtype=np.int64))
        except shapely.errors.GEOSException:
            gdf = pyogrio.read_dataframe(path, columns=columns, on_invalid="ignore", **kw)
            _, _, wkb, _ = pyogrio.raw.read(path, columns=[], **kw)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
        raise DataError(f"cannot be read ({exc})", file=path, layer=layer,
                        fix="open it in QGIS or re-export it with ogr2ogr") from None
    broken = pd.notna(pd.Series(wkb, dtype=object)).to_numpy() & gdf.geometry.isna().to_numpy()
    return gdf, np.flatnonzero(broken)


def prepare_layer(gdf: gpd.GeoDataFrame, *, crs, kind: str = "features",
                  geometry: Sequence[str] = ("Polygon",), id_prefix: str = "f",
                  file=None, layer: str | None = None,
                  broken: Sequence[int] = ()) -> gpd.GeoDataFrame:
    """Check, repair and reproject a layer already in memory (:func:`read_layer`'s work).

    ``broken`` are row positions whose geometry could not be built (see
    :func:`read_frame`): they are dropped with a :class:`DataWarning` naming
    their ids. ``file`` and ``layer`` only name the source in messages.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> square = shapely.box(585000, 3363000, 585009, 3363009)
    >>> g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[square], crs=4547)
    >>> prepare_layer(g, crs=4547)["id"].tolist()
    ['a']
    """
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise DataError("layer has no geometry column", file=file, layer=layer,
                        fix=f"export the {kind} with their geometries")
    if len(gdf) == 0:
        raise DataError(f"layer is empty: no {kind}", file=file, layer=layer,
                        fix=f"add the {kind} or remove the layer from the manifest")
    if gdf.crs is None:
        raise DataError("layer has no CRS", file=file, layer=layer,
                        fix="assign one, e.g. ogr2ogr -a_srs EPSG:4547 out.gpkg in.gpkg")
    where = {"file": file, "layer": layer}
    if gdf.geometry.notna().any():
        check_coordinates(gdf.geometry.dropna().total_bounds, gdf.crs, **where)
    gdf = _with_ids(gdf, id_prefix, where)
    broken = np.asarray(broken, dtype=np.int64)
    if broken.size:
        if broken.size == len(gdf):
            raise DataError(f"none of the {kind} has a geometry that can be built", **where,
                            fix="repair the layer, e.g. ogr2ogr -makevalid")
        warn_ids(f"dropped {broken.size} {kind} whose geometry cannot be built (rings of "
              "fewer than 4 points, unclosed rings)", gdf["id"].iloc[broken], where)
        gdf = gdf.drop(index=gdf.index[broken])
    gdf = _drop_empty(gdf, kind, where)
    _check_types(gdf, geometry, where)
    gdf = gdf.to_crs(CRS.from_user_input(crs))
    if "Polygon" in geometry:
        gdf = _repair(gdf, kind, where)
    return _explode(gdf, where)


def _layer_name(path: Path, layer: str | None, kind: str) -> str:
    if not path.exists():
        raise DataError("file not found", file=path, layer=layer,
                        fix=f"check the path of the {kind} layer in the city manifest")
    try:
        names = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise DataError(f"cannot be read as a vector file ({exc})", file=path,
                        fix="re-export it as a GeoPackage, e.g. with ogr2ogr") from None
    if layer is None:
        if len(names) != 1:
            raise DataError(f"holds {len(names)} layers ({', '.join(names)})", file=path,
                            fix=f"name the layer of the {kind} to read")
        return names[0]
    if layer not in names:
        raise DataError(f"has no layer '{layer}'; it holds: {', '.join(names)}", file=path,
                        fix="use one of those layer names")
    return layer


def _with_ids(gdf: gpd.GeoDataFrame, prefix: str, where: dict) -> gpd.GeoDataFrame:
    gdf = gdf.reset_index(drop=True)
    if "id" not in gdf:
        ids = pd.Series([f"{prefix}{i:06d}" for i in range(len(gdf))], dtype=object)
        return gdf.assign(id=ids)[["id", *gdf.columns]]
    raw = gdf["id"]
    missing = raw.isna() | raw.astype(str).str.strip().eq("")
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())
        raise DataError(f"{rows.size} features have no id (rows {describe_ids(rows)})", **where,
                        fix="give every feature an id, or drop the id column to have ids generated")
    if pd.api.types.is_float_dtype(raw) and (raw % 1 == 0).all():
        raw = raw.astype("int64")
    ids = raw.astype(str).str.strip().astype(object)
    duplicated = ids[ids.duplicated()].unique()
    if duplicated.size:
        raise DataError(f"duplicate ids: {describe_ids(duplicated)}", **where,
                        fix="make the id column unique")
    return gdf.assign(id=ids)[["id", *[c for c in gdf.columns if c != "id"]]]


def _drop_empty(gdf: gpd.GeoDataFrame, kind: str, where: dict) -> gpd.GeoDataFrame:
    empty = gdf.geometry.isna().to_numpy() | shapely.is_empty(gdf.geometry.values)
    if empty.all():
        raise DataError(f"none of the {kind} has a geometry", **where,
                        fix="export the layer again with its geometries")
    if empty.any():
        warn_ids(f"dropped {empty.sum()} {kind} without geometry", gdf["id"][empty], where)
    return gdf[~empty]


def _check_types(gdf: gpd.GeoDataFrame, allowed: Sequence[str], where: dict) -> None:
    types = gdf.geom_type.to_numpy()
    ok = np.isin(types, [*allowed, *(f"Multi{t}" for t in allowed)])
    if not ok.all():
        found = ", ".join(sorted(set(types[~ok])))
        raise DataError(f"{(~ok).sum()} features are {found}, not {' or '.join(allowed)}: "
                        f"ids {describe_ids(gdf['id'][~ok])}", **where,
                        fix=f"keep only {' or '.join(allowed)} features in this layer")


def _repair(gdf: gpd.GeoDataFrame, kind: str, where: dict) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.values
    polygonal = np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    invalid = polygonal & ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    geoms = geoms.copy()
    geoms[invalid] = fixed
    warn_ids(f"repaired {invalid.sum()} invalid polygons of {kind} (self-intersections, "
          "bad rings) with shapely.make_valid", gdf["id"][invalid], where)
    gdf = gdf.set_geometry(geoms)
    collapsed = shapely.is_empty(gdf.geometry.values)
    if collapsed.any():
        warn_ids(f"dropped {collapsed.sum()} {kind} whose polygons collapsed to nothing",
              gdf["id"][collapsed], where)
    return gdf[~collapsed]


def _explode(gdf: gpd.GeoDataFrame, where: dict) -> gpd.GeoDataFrame:
    parts, index = shapely.get_parts(gdf.geometry.values, return_index=True)
    counts = np.bincount(index, minlength=len(gdf))
    if (counts == 1).all():
        return gdf.reset_index(drop=True)
    out = gdf.iloc[index].reset_index(drop=True).set_geometry(parts)
    part = np.arange(index.size) - np.repeat(np.cumsum(counts) - counts, counts)
    split = counts[index] > 1
    ids = out["id"].to_numpy(dtype=object, copy=True)
    ids[split] = ids[split] + "-" + part[split].astype(str).astype(object)
    duplicated = pd.unique(ids[pd.Series(ids).duplicated().to_numpy()])
    if duplicated.size:
        raise DataError(f"ids of split multipart features clash with others: "
                        f"{describe_ids(duplicated)}", **where,
                        fix="split the multipart features yourself and give each part an id")
    return out.assign(id=ids)


# -- extent ------------------------------------------------------------------

def check_overlap(gdf: gpd.GeoDataFrame, bounds: tuple[float, float, float, float], *,
                  file: str | os.PathLike | None = None, layer: str | None = None) -> None:
    """Check a layer against the terrain's bounds.

    Raises :class:`DataError` when no feature touches ``bounds`` (usually a
    wrong CRS); warns with the ids of features partly or fully outside.

    Examples
    --------
    >>> check_overlap(buildings, city.terrain.bounds, file="buildings.gpkg")  # doctest: +SKIP
    """
    area = shapely.box(*bounds)
    geoms = gdf.geometry.values
    touching = shapely.intersects(geoms, area)
    where = {"file": file, "layer": layer}
    if not touching.any():
        layer_bounds = tuple(round(float(v), 1) for v in gdf.total_bounds)
        hint = ("; its coordinates look like longitude/latitude"
                if looks_like_lonlat(gdf.total_bounds) else "")
        raise DataError(f"no feature overlaps the terrain {tuple(bounds)}; the layer spans "
                        f"{layer_bounds}{hint}", **where,
                        fix="check the layer's CRS, or clip it to the terrain")
    inside = shapely.covered_by(geoms, area)
    if not inside.all():
        partly = (touching & ~inside).sum()
        fully = (~touching).sum()
        ids = gdf["id"] if "id" in gdf else gdf.index
        warn_ids(f"{partly} features lie partly and {fully} fully outside the terrain",
              ids[~inside], where)
