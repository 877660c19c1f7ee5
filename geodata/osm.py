"""OpenStreetMap extracts (``.osm.pbf``, ``.osm``): roads and buildings.

Both readers go through GDAL's OSM driver (pyogrio): roads from the
``lines`` layer, buildings from the ``multipolygons`` layer. Tags that GDAL
does not give a column of are read from its ``other_tags`` column. OSM data is
uneven, so tag values that cannot be read fall back to the defaults below with
a :class:`~geodata.errors.DataWarning` naming the OSM ids (``way/123``,
``relation/456``); geometries GEOS cannot build (rings of two points, which
real extracts hold) are dropped with a warning, invalid polygons repaired.

Road defaults by ``highway`` class (:data:`HIGHWAY_DEFAULTS`): lanes per
direction (a two-way road gets twice as many), speed (km/h), capacity per
lane (veh/h) and whether the road is one way unless tagged otherwise. As in
:func:`geodata.read_roads`, ``lanes`` and ``capacity_vph`` of a road count
both directions.

=================  =========  =====  ==========  ==========  =======
highway            class      lanes  speed km/h  veh/h/lane  one way
=================  =========  =====  ==========  ==========  =======
motorway           arterial   2      100         2000        yes
motorway_link      arterial   1      60          1500        yes
trunk              arterial   2      80          1800        no
trunk_link         arterial   1      50          1500        no
primary            arterial   2      60          1800        no
primary_link       arterial   1      40          1500        no
secondary          collector  2      50          1500        no
secondary_link     collector  1      40          1200        no
tertiary           collector  1      40          1200        no
tertiary_link      collector  1      30          1200        no
unclassified       local      1      30          900         no
residential        local      1      30          900         no
living_street      local      1      10          600         no
service            local      1      20          600         no
road               other      1      30          900         no
=================  =========  =====  ==========  ==========  =======

Speeds follow common urban limits (motorway 100, urban arterial 60,
collector 50-40, local 30, living street at walking pace); per-lane
capacities are HCM-style planning values (freeway lane about 2000 veh/h,
signalised arterial lane 1800, collector 1500-1200, local street 900,
service road and living street 600). ``footway``, ``cycleway``, ``path``,
``track``, ``steps``, ``pedestrian`` and other non-motor ways are left out.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import Transformer

from geodata.attributes import warn_ids
from geodata.buildings import building_columns
from geodata.crs import parse_crs
from geodata.errors import DataError
from geodata.raster import Raster
from geodata.vector import prepare_layer, read_frame

__all__ = ["HIGHWAY_DEFAULTS", "OSM_SUFFIXES", "BUILDING_USE", "is_osm", "osm_tag",
           "read_osm_buildings", "read_osm_roads"]

#: highway -> (class, lanes per direction, speed km/h, capacity per lane veh/h, one way)
HIGHWAY_DEFAULTS: dict[str, tuple[str, int, float, float, bool]] = {
    "motorway": ("arterial", 2, 100.0, 2000.0, True),
    "motorway_link": ("arterial", 1, 60.0, 1500.0, True),
    "trunk": ("arterial", 2, 80.0, 1800.0, False),
    "trunk_link": ("arterial", 1, 50.0, 1500.0, False),
    "primary": ("arterial", 2, 60.0, 1800.0, False),
    "primary_link": ("arterial", 1, 40.0, 1500.0, False),
    "secondary": ("collector", 2, 50.0, 1500.0, False),
    "secondary_link": ("collector", 1, 40.0, 1200.0, False),
    "tertiary": ("collector", 1, 40.0, 1200.0, False),
    "tertiary_link": ("collector", 1, 30.0, 1200.0, False),
    "unclassified": ("local", 1, 30.0, 900.0, False),
    "residential": ("local", 1, 30.0, 900.0, False),
    "living_street": ("local", 1, 10.0, 600.0, False),
    "service": ("local", 1, 20.0, 600.0, False),
    "road": ("other", 1, 30.0, 900.0, False),
}

#: OSM ``building`` values -> the twin's ``use``; other values are kept as they are,
#: ``yes`` becomes ``unknown``.
BUILDING_USE: dict[str, str] = {
    **dict.fromkeys(["residential", "apartments", "house", "detached", "semidetached_house",
                     "terrace", "dormitory", "bungalow"], "residential"),
    **dict.fromkeys(["commercial", "retail", "supermarket", "kiosk"], "commercial"),
    **dict.fromkeys(["industrial", "warehouse", "manufacture"], "industrial"),
    **dict.fromkeys(["school", "kindergarten", "university", "college"], "school"),
    **dict.fromkeys(["hospital", "clinic"], "hospital"),
    **dict.fromkeys(["train_station", "transportation"], "station"),
    "office": "office", "stadium": "stadium", "public": "public", "civic": "public",
    "yes": "unknown",
}

#: File name endings read as OpenStreetMap.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")

_ONEWAY = {"yes": 1, "true": 1, "1": 1, "-1": -1, "reverse": -1, "no": 0, "false": 0, "0": 0}
_NUMBER = r"^\s*(-?\d+(?:[.,]\d+)?)\s*"
_MPH, _FOOT = 1.609344, 0.3048


def is_osm(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an OpenStreetMap file (by its ending).

    Examples
    --------
    >>> is_osm("hubei-latest.osm.pbf"), is_osm("roads.gpkg")
    (True, False)
    """
    return str(path).lower().endswith(OSM_SUFFIXES)


def osm_tag(gdf: pd.DataFrame, key: str) -> pd.Series:
    """Values of one OSM tag: its own column, else parsed from ``other_tags``; NaN if absent.

    Examples
    --------
    >>> df = pd.DataFrame({"other_tags": ['"lanes"=>"2","maxspeed"=>"50"', None]})
    >>> osm_tag(df, "maxspeed").tolist()
    ['50', nan]
    """
    if key in gdf:
        out = gdf[key].astype(object)
    elif "other_tags" in gdf:
        pattern = '"' + re.escape(key) + r'"=>"((?:[^"\\]|\\.)*)"'
        out = gdf["other_tags"].astype("string").str.extract(pattern, expand=False).astype(object)
    else:
        out = pd.Series(np.nan, index=gdf.index, dtype=object)
    return out.where(out.notna(), np.nan)


# -- roads -------------------------------------------------------------------

def read_osm_roads(path: str | os.PathLike, *, crs, split: bool = True,
                   bounds: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Read the motor roads of an OpenStreetMap extract as the twin's road layer.

    ``lanes`` counts all the way's lanes, as :func:`geodata.read_roads`: the
    ``lanes`` tag, else ``lanes:forward`` + ``lanes:backward``, else the
    class default per direction (doubled for a two-way road);
    ``speed_kmh`` from ``maxspeed`` (``mph`` converted);
    ``oneway`` from ``oneway`` (``-1`` reverses the line) and
    ``junction=roundabout``; ``capacity_vph`` (the way's total) is lanes x the
    class's capacity per lane. With ``split`` the ways are cut at every node they share, so that
    links meet at their end points (parts get ids ``way/123-0``, ``-1``, ...).

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` or ``.osm`` file.
    crs : anything :class:`pyproj.CRS` accepts
        CRS to reproject to (the city's).
    split : bool
        Cut ways at shared nodes (junctions).
    bounds : (xmin, ymin, xmax, ymax), optional
        Only ways that reach into this box, given in ``crs`` (e.g. the
        terrain's bounds): reads a city out of a country extract.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, class, highway, lanes, speed_kmh, capacity_vph, oneway,
        osm_id`` and LineString ``geometry`` in ``crs``.

    Examples
    --------
    >>> import pyrosm                                               # doctest: +SKIP
    >>> roads = read_osm_roads(pyrosm.get_data("test_pbf"), crs=3067)  # doctest: +SKIP
    """
    path = _check_file(path, "roads")
    gdf, broken = _read_osm(path, "lines", "highway IS NOT NULL", crs, bounds)
    highway = gdf["highway"].astype(str).str.strip().str.lower()
    keep = highway.isin(list(HIGHWAY_DEFAULTS)).to_numpy()
    if not keep.any():
        raise DataError("holds no motor roads (no way with a highway tag of "
                        f"{', '.join(HIGHWAY_DEFAULTS)})", file=path, layer="lines",
                        fix="use an extract that covers streets")
    gdf, broken = _subset(gdf, keep, broken)
    gdf = gdf.assign(id=("way/" + gdf["osm_id"].astype(str)).to_numpy(dtype=object),
                     highway=highway[keep].to_numpy())
    gdf = prepare_layer(gdf, crs=crs, kind="roads", geometry=("LineString",), file=path,
                        layer="lines", broken=broken)
    where = {"file": path, "layer": "lines"}
    table = pd.DataFrame.from_dict(HIGHWAY_DEFAULTS, orient="index",
                                   columns=["class", "lanes", "speed", "capacity", "oneway"])
    table = table.loc[gdf["highway"].to_numpy()].reset_index(drop=True)
    direction = _oneway(gdf, table["oneway"].to_numpy(), where)
    lanes = _lanes(gdf, direction != 0, table["lanes"].to_numpy(float), where)
    speed = _speed(gdf, table["speed"].to_numpy(float), where)
    geoms = gdf.geometry.values.copy()
    geoms[direction < 0] = shapely.reverse(geoms[direction < 0])
    name = gdf["name"].astype(object).where(gdf["name"].notna(), "").astype(str).to_numpy() \
        if "name" in gdf else np.full(len(gdf), "", dtype=object)
    out = gpd.GeoDataFrame({
        "id": gdf["id"].to_numpy(), "name": name, "class": table["class"].to_numpy(),
        "highway": gdf["highway"].to_numpy(), "lanes": lanes.astype("int64"),
        "speed_kmh": speed, "capacity_vph": lanes * table["capacity"].to_numpy(float),
        "oneway": direction != 0, "osm_id": gdf["osm_id"].astype(str).to_numpy(),
    }, geometry=geoms, crs=gdf.crs)
    return _split_at_shared_nodes(out) if split else out


def _oneway(gdf, default: np.ndarray, where: dict) -> np.ndarray:
    """+1 one way along the line, -1 against it, 0 both ways."""
    text = osm_tag(gdf, "oneway").astype("string").str.strip().str.lower()
    value = text.map(_ONEWAY)
    odd = (text.notna() & value.isna()).to_numpy()
    if odd.any():
        warn_ids(f"{odd.sum()} roads have a oneway tag of "
                 f"{', '.join(sorted(text[odd].unique()))}; taken as two-way",
                 gdf["id"][odd], where)
    roundabout = osm_tag(gdf, "junction").astype("string").str.lower().eq("roundabout")
    fallback = np.where(roundabout.fillna(False).to_numpy(bool), 1, default.astype(int))
    tagged = value.to_numpy(dtype=float, na_value=np.nan)
    direction = np.where(np.isnan(tagged), fallback, np.nan_to_num(tagged)).astype(int)
    direction[odd] = 0
    return direction


def _lanes(gdf, oneway: np.ndarray, per_direction: np.ndarray, where: dict) -> np.ndarray:
    """All lanes of each way (both directions of a two-way road)."""
    total = _number(gdf, "lanes", where, "lanes", lambda v: (v >= 1) & (v <= 24))
    forward = _number(gdf, "lanes:forward", where, "lanes", lambda v: (v >= 1) & (v <= 12))
    backward = _number(gdf, "lanes:backward", where, "lanes", lambda v: (v >= 1) & (v <= 12))
    both = forward + backward                      # NaN unless both are tagged
    total = np.where(np.isnan(total) & ~oneway, both, total)
    return np.where(np.isnan(total), per_direction * np.where(oneway, 1, 2), total)


def _speed(gdf, default: np.ndarray, where: dict) -> np.ndarray:
    text = osm_tag(gdf, "maxspeed").astype("string").str.strip().str.lower()
    number = pd.to_numeric(text.str.extract(_NUMBER, expand=False).str.replace(",", "."),
                           errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    number = np.where(text.str.contains("mph").fillna(False).to_numpy(bool), number * _MPH,
                      number)
    symbolic = text.isin(["none", "signals", "variable", "walk"]) | text.str.contains(":")
    odd = (text.notna() & ~symbolic.fillna(False) & ~((number > 0) & (number <= 200))).to_numpy()
    if odd.any():
        warn_ids(f"{odd.sum()} roads have a maxspeed that cannot be read "
                 f"({', '.join(sorted(text[odd].unique())[:5])}); used the class default",
                 gdf["id"][odd], where)
    good = (number > 0) & (number <= 200)
    return np.where(good, number, default).astype(float)


def _split_at_shared_nodes(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cut lines at interior vertices that another line (or the same one) also uses."""
    coords, line = shapely.get_coordinates(roads.geometry.values, return_index=True)
    n = len(roads)
    starts = np.searchsorted(line, np.arange(n))
    ends = np.searchsorted(line, np.arange(n), side="right") - 1
    _, node, uses = np.unique(coords, axis=0, return_inverse=True, return_counts=True)
    node = node.ravel()
    interior = np.ones(len(coords), bool)
    interior[starts], interior[ends] = False, False
    cut = interior & (uses[node] > 1)
    if not cut.any():
        return roads
    before = np.cumsum(cut) - cut                           # cuts before each vertex, overall
    piece = before - before[starts][line]                   # ... within its own line
    repeat = 1 + cut                                        # a cut vertex ends one piece and
    order = np.repeat(np.arange(len(coords)), repeat)       # starts the next
    piece = np.repeat(piece, repeat)
    second = np.zeros(order.size, bool)
    second[np.cumsum(repeat)[cut] - 1] = True
    piece = piece + second
    pieces = np.bincount(line, weights=cut, minlength=n).astype(int) + 1
    offset = np.cumsum(pieces) - pieces
    key = offset[line[order]] + piece
    geoms = shapely.linestrings(coords[order], indices=key)
    which = np.repeat(np.arange(n), pieces)
    out = roads.iloc[which].reset_index(drop=True).set_geometry(geoms)
    part = np.arange(which.size) - offset[which]
    ids = out["id"].to_numpy(dtype=object, copy=True)
    many = pieces[which] > 1
    ids[many] = ids[many] + "-" + part[many].astype(str).astype(object)
    return out.assign(id=ids)


# -- buildings -----------------------------------------------------------------

def read_osm_buildings(path: str | os.PathLike, *, crs, dtm: Raster | None = None,
                       default_height: float = 9.0, storey_height: float = 3.0,
                       bounds: tuple[float, float, float, float] | None = None
                       ) -> gpd.GeoDataFrame:
    """Read the buildings of an OpenStreetMap extract as the twin's building layer.

    Every closed way and multipolygon relation with a ``building`` tag other
    than ``no``. Height from ``height`` (metres; ``ft`` or ``'`` converted),
    else ``building:levels`` x ``storey_height``, else ``default_height``
    (with a warning listing the ids), as :func:`geodata.read_buildings`.
    ``use`` from ``building`` through :data:`BUILDING_USE`. ``bounds`` (in
    ``crs``) keeps only the buildings reaching into that box.

    Returns
    -------
    geopandas.GeoDataFrame
        Like :func:`geodata.read_buildings`, ids ``way/123`` or
        ``relation/456`` (``-0``, ``-1`` ... for parts of a multipolygon), with
        ``osm_building`` (the raw tag).

    Examples
    --------
    >>> import pyrosm                                                     # doctest: +SKIP
    >>> b = read_osm_buildings(pyrosm.get_data("test_pbf"), crs=3067)      # doctest: +SKIP
    """
    path = _check_file(path, "buildings")
    gdf, broken = _read_osm(path, "multipolygons",
                            "building IS NOT NULL AND building <> 'no'", crs, bounds)
    if len(gdf) == 0:
        raise DataError("holds no buildings (no area with a building tag)", file=path,
                        layer="multipolygons", fix="use an extract that covers buildings")
    way = gdf["osm_way_id"] if "osm_way_id" in gdf else pd.Series(None, index=gdf.index)
    ids = np.where(way.notna(), "way/" + way.astype(str),
                   "relation/" + gdf["osm_id"].astype(str)).astype(object)
    raw_use = gdf["building"].astype(str).str.strip().str.lower()
    gdf = gdf.assign(id=ids, osm_building=raw_use.to_numpy(),
                     use=raw_use.map(BUILDING_USE).fillna(raw_use).to_numpy())
    where = {"file": path, "layer": "multipolygons"}
    height = _number(gdf, "height", where, "height", lambda v: (v > 0) & (v <= 1000),
                     feet=True)
    levels = _number(gdf, "building:levels", where, "building:levels",
                     lambda v: (v >= 1) & (v <= 300))
    gdf = gdf.drop(columns=[c for c in ("height", "storeys") if c in gdf])
    gdf = gdf.assign(height=height, storeys=levels)
    keep = ["id", "use", "osm_building", "name", "height", "storeys", gdf.geometry.name]
    gdf = prepare_layer(gdf[[c for c in keep if c in gdf]], crs=crs, kind="buildings",
                        geometry=("Polygon",), file=path, layer="multipolygons", broken=broken)
    return building_columns(gdf, crs=crs, dtm=dtm, default_height=default_height,
                            storey_height=storey_height, file=path, layer="multipolygons")


# -- shared ----------------------------------------------------------------------

def _check_file(path, kind: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path,
                        fix=f"check the path of the {kind} layer in the city manifest")
    return path


def _read_osm(path: Path, layer: str, where: str, crs, bounds):
    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError) as exc:
        raise DataError(f"cannot be read as OpenStreetMap ({exc})", file=path,
                        fix="give an .osm.pbf or .osm extract, e.g. from download.geofabrik.de"
                        ) from None
    if layer not in layers:
        raise DataError(f"is not an OpenStreetMap file (layers: {', '.join(layers)})",
                        file=path, fix="give an .osm.pbf or .osm extract")
    bbox = None
    if bounds is not None:       # OSM files are in WGS 84 longitude/latitude
        bbox = Transformer.from_crs(parse_crs(crs), 4326, always_xy=True).transform_bounds(
            *bounds, densify_pts=21)
    return read_frame(path, layer, where=where, bbox=bbox)


def _subset(gdf, keep: np.ndarray, broken: np.ndarray):
    flag = np.zeros(len(gdf), bool)
    flag[broken] = True
    return gdf[keep].reset_index(drop=True), np.flatnonzero(flag[keep])


def _number(gdf, key: str, where: dict, what: str, valid, *, feet: bool = False) -> np.ndarray:
    """A numeric tag (first number of the value); odd values -> NaN with a warning."""
    text = osm_tag(gdf, key).astype("string").str.strip().str.lower()
    number = pd.to_numeric(text.str.extract(_NUMBER, expand=False).str.replace(",", "."),
                           errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if feet:
        in_feet = text.str.contains(r"ft|feet|'", regex=True).fillna(False).to_numpy(bool)
        number = np.where(in_feet, number * _FOOT, number)
    with np.errstate(invalid="ignore"):
        good = valid(number)
    odd = text.notna().to_numpy() & ~good
    if odd.any():
        warn_ids(f"{odd.sum()} features have a {key} tag that cannot be read as {what} "
                 f"({', '.join(sorted(text[odd].astype(str).unique())[:5])}); ignored",
                 gdf["id"][odd], where)
    return np.where(good, number, np.nan)
