"""Vector layers: buildings, roads, water and land use from any OGR format.

Every reader goes through :func:`read_layer`, which opens the file with
pyogrio, checks it (file, layer, CRS, geometry types, ids), reprojects it to
the city's CRS, repairs invalid polygons and splits multipart features. The
specific readers then turn attributes into the columns the twin uses, filling
gaps from documented defaults and warning (:class:`~geodata.errors.DataWarning`)
with the ids of the features that needed them.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import rasterio.features
import shapely
from pyproj import CRS

from geodata.errors import DataError, DataWarning, describe_ids
from geodata.raster import Raster

__all__ = [
    "MANNING",
    "OSM_HIGHWAY",
    "ROAD_DEFAULTS",
    "WATER_KINDS",
    "check_overlap",
    "read_buildings",
    "read_landuse",
    "read_layer",
    "read_roads",
    "read_water",
]

#: Defaults per road class: lanes per direction, free-flow speed (km/h) and
#: capacity per lane (veh/h). Speeds are the design speeds of Chinese urban
#: roads (CJJ 37-2012: arterial 60, collector 50, local 30 km/h); per-lane
#: capacities are HCM-style planning values: a signalised arterial lane
#: carries about 1800 veh/h (HCM base saturation flow 1900 pc/h/ln less
#: heavy-vehicle and lane-width losses), a collector about 1500, a local
#: street about 900 (parking, crossings, frequent junctions).
ROAD_DEFAULTS: dict[str, dict[str, float]] = {
    "arterial": {"lanes": 3, "speed_kmh": 60.0, "capacity_per_lane_vph": 1800.0},
    "collector": {"lanes": 2, "speed_kmh": 50.0, "capacity_per_lane_vph": 1500.0},
    "local": {"lanes": 1, "speed_kmh": 30.0, "capacity_per_lane_vph": 900.0},
    "other": {"lanes": 1, "speed_kmh": 30.0, "capacity_per_lane_vph": 900.0},
}

#: OpenStreetMap ``highway`` values and the road class they belong to.
OSM_HIGHWAY: dict[str, str] = {
    **dict.fromkeys(["motorway", "trunk", "primary", "motorway_link", "trunk_link",
                     "primary_link"], "arterial"),
    **dict.fromkeys(["secondary", "tertiary", "secondary_link", "tertiary_link"], "collector"),
    **dict.fromkeys(["residential", "living_street", "service", "unclassified"], "local"),
}

#: Manning's n (s/m^(1/3)) per land-use class, inside the typical ranges of
#: Chow (1959) *Open-Channel Hydraulics*, Table 5-6 (asphalt/concrete
#: 0.013-0.016, short grass 0.025-0.035, cultivated land 0.020-0.050, light
#: to medium woods 0.08-0.16) and the land-cover table of the HEC-RAS 2D
#: User's Manual; built-up classes use higher "urban roughness" values that
#: stand for the obstruction of buildings and walls at grid scale.
MANNING: dict[str, float] = {
    "road": 0.015, "paved": 0.015,
    "residential": 0.06,
    "commercial": 0.05, "industrial": 0.05,
    "park": 0.035, "grass": 0.035,
    "forest": 0.10,
    "farmland": 0.04,
    "water": 0.025,
    "other": 0.05,
}

#: Water-body kinds, and the OpenStreetMap ``water`` values that mean them.
WATER_KINDS: dict[str, str] = {
    "river": "river", "stream": "river",
    "lake": "lake", "reservoir": "lake", "oxbow": "lake",
    "canal": "canal", "ditch": "canal",
    "pond": "pond", "basin": "pond",
}

_MAX_HEIGHT_M = 1000.0
_MAX_STOREYS = 300.0


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
    gdf, _ = _read(path, crs=crs, layer=layer, kind=kind, geometry=geometry,
                   id_prefix=id_prefix)
    return gdf


def _read(path, *, crs, layer, kind, geometry, id_prefix) -> tuple[gpd.GeoDataFrame, str]:
    """:func:`read_layer`, also returning the name of the layer read."""
    path = Path(path)
    layer = _layer_name(path, layer, kind)
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
        raise DataError(f"cannot be read ({exc})", file=path, layer=layer,
                        fix="open it in QGIS or re-export it with ogr2ogr") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise DataError("layer has no geometry column", file=path, layer=layer,
                        fix=f"export the {kind} with their geometries")
    if len(gdf) == 0:
        raise DataError(f"layer is empty: no {kind}", file=path, layer=layer,
                        fix=f"add the {kind} or remove the layer from the manifest")
    if gdf.crs is None:
        raise DataError("layer has no CRS", file=path, layer=layer,
                        fix="assign one, e.g. ogr2ogr -a_srs EPSG:4547 out.gpkg in.gpkg")
    where = {"file": path, "layer": layer}
    gdf = _with_ids(gdf, id_prefix, where)
    gdf = _drop_empty(gdf, kind, where)
    _check_types(gdf, geometry, where)
    gdf = gdf.to_crs(CRS.from_user_input(crs))
    if "Polygon" in geometry:
        gdf = _repair(gdf, kind, where)
    return _explode(gdf, where), layer


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
        _warn(f"dropped {empty.sum()} {kind} without geometry", gdf["id"][empty], where)
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
    _warn(f"repaired {invalid.sum()} invalid polygons of {kind} (self-intersections, "
          "bad rings) with shapely.make_valid", gdf["id"][invalid], where)
    gdf = gdf.set_geometry(geoms)
    collapsed = shapely.is_empty(gdf.geometry.values)
    if collapsed.any():
        _warn(f"dropped {collapsed.sum()} {kind} whose polygons collapsed to nothing",
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


def _warn(problem: str, ids, where: dict) -> None:
    """Emit a DataWarning: 'file: layer 'x': problem: id1, id2 (and n more)'."""
    place = []
    if where.get("file") is not None:
        place.append(os.fspath(where["file"]))
    if where.get("layer") is not None:
        place.append(f"layer '{where['layer']}'")
    message = ": ".join([*place, problem, describe_ids(list(ids))])
    warnings.warn(message, DataWarning, stacklevel=4)


# -- attributes --------------------------------------------------------------

def _numeric(gdf: gpd.GeoDataFrame, column: str, valid: Callable[[np.ndarray], np.ndarray],
             rule: str, where: dict) -> np.ndarray:
    """Column as float (NaN where missing); DataError for text or values breaking ``rule``."""
    if column not in gdf:
        return np.full(len(gdf), np.nan)
    raw = gdf[column]
    blank = raw.isna() | raw.astype(str).str.strip().isin(["", "nan", "NaN", "None"])
    values = pd.to_numeric(raw.where(~blank), errors="coerce").to_numpy(dtype=float, copy=True)
    text = np.isnan(values) & ~blank.to_numpy()
    if text.any():
        examples = ", ".join(f"{i}: '{v}'" for i, v in zip(gdf["id"][text][:5], raw[text][:5]))
        raise DataError(f"{column} is not a number for {text.sum()} features ({examples})",
                        **where, feature=describe_ids(gdf["id"][text]),
                        fix=f"write {column} as a number or leave it empty")
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~valid(values)
    if bad.any():
        examples = ", ".join(f"{i}: {v:g}" for i, v in zip(gdf["id"][bad][:5], values[bad][:5]))
        raise DataError(f"{column} must be {rule}; {bad.sum()} features are not ({examples})",
                        **where, feature=describe_ids(gdf["id"][bad]),
                        fix=f"correct {column} or leave it empty")
    return values


def _text(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> pd.Series:
    """First present column as stripped lower-case text; NaN where missing."""
    for column in columns:
        if column in gdf:
            text = gdf[column].astype("string").str.strip().str.lower()
            text = text.astype(object).where(text.notna() & text.ne(""), np.nan)
            return text.reset_index(drop=True)
    return pd.Series(np.nan, index=range(len(gdf)), dtype=object)


def _ordered(gdf: gpd.GeoDataFrame, first: Sequence[str]) -> gpd.GeoDataFrame:
    geometry = gdf.geometry.name
    rest = [c for c in gdf.columns if c not in first and c != geometry]
    return gdf[[*first, *rest, geometry]]


# -- buildings ---------------------------------------------------------------

def read_buildings(path: str | os.PathLike, *, crs, layer: str | None = None,
                   height: str = "height", storeys: str = "storeys",
                   dsm: Raster | None = None, dtm: Raster | None = None,
                   default_height: float = 9.0, storey_height: float = 3.0) -> gpd.GeoDataFrame:
    """Read building footprints with a height (m) and a ground elevation (m).

    Height, per building, from the first rule that gives a value:

    1. the ``height`` attribute;
    2. the ``storeys`` attribute times ``storey_height``;
    3. with both ``dsm`` and ``dtm``: the 90th percentile of DSM minus DTM over
       the cells whose centres lie in the footprint (the representative point
       for footprints smaller than a cell);
    4. ``default_height``, with a :class:`DataWarning` listing the ids.

    An empty attribute falls through to the next rule; text, zero, negative
    or absurd values (height above 1000 m, more than 300 storeys) raise
    :class:`DataError` naming the ids.

    ``base`` (ground elevation) is the median of ``dtm`` sampled at the
    footprint's vertices and representative point, else a ``base`` column,
    else 0. Fill the DTM's holes first (:meth:`Raster.fill_nodata`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, height, base, use, storeys, height_source`` (``"attribute"``,
        ``"storeys"``, ``"dsm"`` or ``"default"``), the file's other columns,
        and Polygon ``geometry`` in ``crs``. ``storeys`` not in the file is
        ``round(height / storey_height)``, at least 1.

    Examples
    --------
    >>> b = read_buildings("data_samples/ezhou/buildings.gpkg", crs=4547)  # doctest: +SKIP
    >>> b[["id", "height", "base", "use"]].head()  # doctest: +SKIP
    """
    gdf, layer = _read(path, crs=crs, layer=layer, kind="buildings", geometry=("Polygon",),
                       id_prefix="b")
    where = {"file": Path(path), "layer": layer}
    city_crs = CRS.from_user_input(crs)
    dsm, dtm = (None if r is None else _in_crs(r, city_crs) for r in (dsm, dtm))
    geoms = gdf.geometry.values

    value = _numeric(gdf, height, lambda v: (v > 0) & (v <= _MAX_HEIGHT_M),
                     f"above 0 and at most {_MAX_HEIGHT_M:g} m", where)
    source = np.where(np.isnan(value), "", "attribute").astype(object)
    floors = _numeric(gdf, storeys, lambda v: (v >= 1) & (v <= _MAX_STOREYS),
                      f"between 1 and {_MAX_STOREYS:g}", where)
    take = np.isnan(value) & ~np.isnan(floors)
    value[take], source[take] = floors[take] * storey_height, "storeys"
    if dsm is not None and dtm is not None and np.isnan(value).any():
        need = np.flatnonzero(np.isnan(value))
        estimate = _surface_height(geoms[need], dsm, dtm)
        ok = (estimate > 0) & (estimate <= _MAX_HEIGHT_M)
        value[need[ok]], source[need[ok]] = estimate[ok], "dsm"
    missing = np.isnan(value)
    if missing.any():
        _warn(f"{missing.sum()} buildings have no height, storeys or surface model "
              f"height; used the default {default_height:g} m", gdf["id"][missing], where)
        value[missing], source[missing] = default_height, "default"

    levels = np.where(np.isnan(floors), np.maximum(1.0, np.rint(value / storey_height)), floors)
    use = _text(gdf, ["use"]).fillna("unknown").astype(str).to_numpy()
    gdf = gdf.drop(columns=[c for c in (height, storeys, "use") if c in gdf])
    gdf = gdf.assign(height=value, base=_base(gdf, geoms, dtm, where), use=use,
                     storeys=np.rint(levels).astype("int64"), height_source=source.astype(str))
    return _ordered(gdf, ["id", "height", "base", "use", "storeys", "height_source"])


def _in_crs(raster: Raster, crs: CRS) -> Raster:
    if raster.crs == crs:
        return raster
    return raster.reproject(crs, None if raster.crs.is_geographic else raster.cell_size)


def _surface_height(geoms: np.ndarray, dsm: Raster, dtm: Raster) -> np.ndarray:
    """90th percentile of DSM - DTM inside each footprint (NaN where unknown)."""
    labels = rasterio.features.rasterize(
        zip(geoms, range(1, len(geoms) + 1)), out_shape=dsm.shape,
        transform=dsm.transform, fill=0, dtype="int32")
    rows, cols = np.nonzero(labels)
    diff = dsm.data[rows, cols] - dtm.sample(dsm.x[cols], dsm.y[rows])
    keep = np.isfinite(diff)
    per_building = pd.Series(diff[keep]).groupby(labels[rows, cols][keep] - 1).quantile(0.9)
    out = per_building.reindex(range(len(geoms))).to_numpy(dtype=float, copy=True)
    small = np.isnan(out)
    points = shapely.point_on_surface(geoms[small])
    px, py = shapely.get_x(points), shapely.get_y(points)
    out[small] = dsm.sample(px, py) - dtm.sample(px, py)
    return out


def _base(gdf: gpd.GeoDataFrame, geoms: np.ndarray, dtm: Raster | None,
          where: dict) -> np.ndarray:
    column = _numeric(gdf, "base", lambda v: (v >= -500) & (v <= 9000),
                      "a ground elevation between -500 and 9000 m", where)
    if dtm is None:
        return np.nan_to_num(column, nan=0.0)
    coords, index = shapely.get_coordinates(shapely.extract_unique_points(geoms),
                                            return_index=True)
    points = shapely.point_on_surface(geoms)
    x = np.concatenate([coords[:, 0], shapely.get_x(points)])
    y = np.concatenate([coords[:, 1], shapely.get_y(points)])
    index = np.concatenate([index, np.arange(len(geoms))])
    ground = pd.Series(dtm.sample(x, y)).groupby(index).median()
    base = ground.reindex(range(len(geoms))).to_numpy(dtype=float, copy=True)
    outside = np.isnan(base)
    if outside.any():
        _warn(f"{outside.sum()} buildings have no terrain under them (outside the DTM or "
              "in its holes); used their base column or 0 m; fill the DTM holes first",
              gdf["id"][outside], where)
        base[outside] = np.nan_to_num(column[outside], nan=0.0)
    return base


# -- roads -------------------------------------------------------------------

def read_roads(path: str | os.PathLike, *, crs, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a road centre-line layer with the attributes traffic models need.

    ``class`` comes from a ``class`` column (arterial, collector, local,
    other) or an OpenStreetMap ``highway`` column (see :data:`OSM_HIGHWAY`).
    Missing ``lanes`` (per direction), ``speed_kmh`` and ``capacity_vph``
    (per direction, all lanes) come from :data:`ROAD_DEFAULTS` of the class,
    with a :class:`DataWarning` naming the roads. ``oneway`` accepts
    yes/no/true/false/1/0 and ``-1`` (one way against the drawing direction:
    the line is reversed).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, class, lanes, speed_kmh, capacity_vph, oneway``, other
        columns, LineString ``geometry`` in ``crs``.

    Examples
    --------
    >>> roads = read_roads("data_samples/ezhou/roads.gpkg", crs=4547)  # doctest: +SKIP
    """
    gdf, layer = _read(path, crs=crs, layer=layer, kind="roads", geometry=("LineString",),
                       id_prefix="r")
    where = {"file": Path(path), "layer": layer}
    raw = _text(gdf, ["class", "highway"])
    road_class = raw.where(raw.isin(list(ROAD_DEFAULTS)), raw.map(OSM_HIGHWAY))
    unknown = (raw.notna() & road_class.isna()).to_numpy()
    if unknown.any():
        _warn(f"{unknown.sum()} roads have an unknown class ({', '.join(sorted(raw[unknown].unique()))});"
              " treated as 'other'", gdf["id"][unknown], where)
    road_class = road_class.fillna("other").astype(str).to_numpy()
    table = pd.DataFrame(ROAD_DEFAULTS).T.astype(float).loc[road_class]

    lanes = _numeric(gdf, "lanes", lambda v: (v >= 1) & (v <= 12), "between 1 and 12", where)
    speed = _numeric(gdf, "speed_kmh", lambda v: (v > 0) & (v <= 200),
                     "above 0 and at most 200 km/h", where)
    capacity = _numeric(gdf, "capacity_vph", lambda v: (v > 0) & (v <= 20000),
                        "above 0 and at most 20000 veh/h", where)
    defaulted = np.isnan(lanes) | np.isnan(speed) | np.isnan(capacity)
    if defaulted.any():
        _warn(f"{defaulted.sum()} roads lack lanes, speed_kmh or capacity_vph; used the "
              "defaults of their class (CJJ 37-2012 speeds, HCM-style lane capacities)",
              gdf["id"][defaulted], where)
    lanes = np.where(np.isnan(lanes), table["lanes"].to_numpy(), lanes)
    speed = np.where(np.isnan(speed), table["speed_kmh"].to_numpy(), speed)
    capacity = np.where(np.isnan(capacity), lanes * table["capacity_per_lane_vph"].to_numpy(),
                        capacity)

    oneway, reverse = _oneway(gdf, where)
    geoms = gdf.geometry.values.copy()
    geoms[reverse] = shapely.reverse(geoms[reverse])
    name = _names(gdf)
    gdf = gdf.drop(columns=[c for c in ("name", "class", "lanes", "speed_kmh",
                                        "capacity_vph", "oneway") if c in gdf])
    gdf = gdf.assign(name=name, **{"class": road_class}, lanes=np.rint(lanes).astype("int64"),
                     speed_kmh=speed.astype(float), capacity_vph=capacity.astype(float),
                     oneway=oneway).set_geometry(geoms)
    return _ordered(gdf, ["id", "name", "class", "lanes", "speed_kmh", "capacity_vph", "oneway"])


def _oneway(gdf: gpd.GeoDataFrame, where: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(oneway, reverse)`` boolean arrays from a ``oneway`` column."""
    text = _text(gdf, ["oneway"])
    meaning = {"yes": True, "true": True, "1": True, "1.0": True, "-1": True, "-1.0": True,
               "reverse": True, "no": False, "false": False, "0": False, "0.0": False}
    oneway = text.map(meaning)
    bad = (text.notna() & oneway.isna()).to_numpy()
    if bad.any():
        raise DataError(f"oneway must be yes/no/true/false/1/0/-1, got "
                        f"{', '.join(sorted(text[bad].unique()))}", **where,
                        feature=describe_ids(gdf["id"][bad]), fix="correct the oneway values")
    reverse = text.isin(["-1", "-1.0", "reverse"]).to_numpy()
    return oneway.fillna(False).astype(bool).to_numpy(), reverse


def _names(gdf: gpd.GeoDataFrame) -> np.ndarray:
    if "name" not in gdf:
        return np.full(len(gdf), "", dtype=object)
    return gdf["name"].astype(object).where(gdf["name"].notna(), "").astype(str).to_numpy()


# -- water and land use ------------------------------------------------------

def read_water(path: str | os.PathLike, *, crs, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read water-body polygons (rivers, lakes, canals, ponds).

    ``kind`` comes from a ``kind`` column or an OpenStreetMap ``water``
    column, mapped with :data:`WATER_KINDS`; a missing kind becomes
    ``"lake"`` with a :class:`DataWarning`, an unknown one raises
    :class:`DataError`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, kind, name``, other columns, Polygon ``geometry`` in ``crs``.

    Examples
    --------
    >>> water = read_water("data_samples/ezhou/water.gpkg", crs=4547)  # doctest: +SKIP
    """
    gdf, layer = _read(path, crs=crs, layer=layer, kind="water bodies", geometry=("Polygon",),
                       id_prefix="w")
    where = {"file": Path(path), "layer": layer}
    raw = _text(gdf, ["kind", "water"])
    kind = raw.map(WATER_KINDS)
    unknown = (raw.notna() & kind.isna()).to_numpy()
    if unknown.any():
        raise DataError(f"unknown water kind {', '.join(sorted(raw[unknown].unique()))}",
                        **where, feature=describe_ids(gdf["id"][unknown]),
                        fix="use river, lake, canal or pond")
    missing = kind.isna().to_numpy()
    if missing.any():
        _warn(f"{missing.sum()} water bodies have no kind; taken as lakes",
              gdf["id"][missing], where)
    name = _names(gdf)
    gdf = gdf.drop(columns=[c for c in ("kind", "name") if c in gdf])
    gdf = gdf.assign(kind=kind.fillna("lake").astype(str).to_numpy(), name=name)
    return _ordered(gdf, ["id", "kind", "name"])


def read_landuse(path: str | os.PathLike, *, crs, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read land-use polygons with a Manning roughness for flood routing.

    ``class`` comes from a ``class`` or OpenStreetMap ``landuse`` column;
    ``manning`` from a ``manning`` column (0.005 to 1), else from
    :data:`MANNING` by class. Unknown or missing classes become ``"other"``
    with a :class:`DataWarning`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, class, manning``, other columns, Polygon ``geometry`` in ``crs``.

    Examples
    --------
    >>> landuse = read_landuse("landuse.gpkg", crs=4547)  # doctest: +SKIP
    """
    gdf, layer = _read(path, crs=crs, layer=layer, kind="land-use areas",
                       geometry=("Polygon",), id_prefix="l")
    where = {"file": Path(path), "layer": layer}
    raw = _text(gdf, ["class", "landuse"])
    given = _numeric(gdf, "manning", lambda v: (v >= 0.005) & (v <= 1.0),
                     "between 0.005 and 1", where)
    known = raw.isin(list(MANNING)).to_numpy()
    unknown = ~known & np.isnan(given)
    if unknown.any():
        _warn(f"{unknown.sum()} land-use areas have an unknown or missing class; treated as "
              f"'other' (n = {MANNING['other']})", gdf["id"][unknown], where)
    land_class = np.where(known, raw.astype(str), "other")
    manning = np.where(np.isnan(given), pd.Series(land_class).map(MANNING), given)
    gdf = gdf.drop(columns=[c for c in ("class", "manning") if c in gdf])
    gdf = gdf.assign(**{"class": land_class}, manning=manning.astype(float))
    return _ordered(gdf, ["id", "class", "manning"])


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
        raise DataError(f"no feature overlaps the terrain {tuple(bounds)}; the layer spans "
                        f"{layer_bounds}", **where,
                        fix="check the layer's CRS, or clip it to the terrain")
    inside = shapely.covered_by(geoms, area)
    if not inside.all():
        partly = (touching & ~inside).sum()
        fully = (~touching).sum()
        ids = gdf["id"] if "id" in gdf else gdf.index
        _warn(f"{partly} features lie partly and {fully} fully outside the terrain",
              ids[~inside], where)
