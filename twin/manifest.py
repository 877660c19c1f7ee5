"""The city manifest: a TOML file listing a city's sources, read into a City.

A manifest names the city's CRS and, per layer, the file it comes from::

    name = "Ezhou sample district (synthetic)"
    crs = "EPSG:4547"
    timezone = "Asia/Shanghai"
    [terrain]
    path = "terrain.tif"
    [buildings]
    path = "buildings.gpkg"      # any OGR format; layer = "..." to pick one
    height = "height"            # attribute names (optional)
    storeys = "storeys"
    [roads]
    path = "roads.gpkg"          # or an OpenStreetMap extract: "hubei.osm.pbf"
                                 # (format = "osm" for other names; buildings too)
    [water]
    path = "water.gpkg"
    [landuse]
    path = "landuse.gpkg"
    [cityjson]                   # buildings/roads/water/land use from CityJSON instead
    path = "block.city.json"
    [sensors]
    stations = "sensors/stations.csv"
    stations_crs = "EPSG:4547"
    readings = "sensors/readings.csv"
    [[bim]]
    building = "B000123"
    path = "bim/school.ifc"
    placement = { x = 585000.0, y = 3363000.0, z = 21.0, rotation_deg = 12.0 }
    [places]
    lake = { x = 585800.0, y = 3362500.0 }

Relative paths are resolved against the manifest's folder. Every table is
checked against ``_SCHEMA`` first: an unknown key (with a "did you mean"),
a value of the wrong type (a number written as text, a table written as a
list), a missing required key, an unreadable CRS code or time zone is a
one-line :class:`geodata.DataError` before any file is read. Places farther
than 20 km (or the city's diagonal) outside the city are refused.
"""
from __future__ import annotations

import difflib
import os
import shutil
import tempfile
import tomllib
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import tomli_w
import trimesh
from pyproj import CRS

from geodata import bim as bimio
from geodata import vector
from geodata.buildings import read_buildings
from geodata.landcover import read_landuse, read_water
from geodata.roads import read_roads
from geodata.cityjson import read_cityjson
from geodata.errors import DataError, DataWarning
from geodata.crs import looks_like_lonlat, parse_crs
from geodata.osm import is_osm, read_osm_buildings, read_osm_roads
from geodata.raster import Raster, read_raster
from geodata.schema import check_table
from geodata.sensors import read_sensors
from twin.city import City

__all__ = ["load_city", "save_city"]

_LAYER = {"path": "text!", "layer": "text", "format": "osm|ogr"}
_SCHEMA = {
    "name": "text", "crs": "crs", "timezone": "timezone",
    "terrain": {"path": "text!", "cell_size": "positive"},
    "buildings": {**_LAYER, "height": "text", "storeys": "text", "default_height": "positive",
                  "storey_height": "positive", "dsm": "text"},
    "roads": _LAYER,
    "water": {"path": "text!", "layer": "text"},
    "landuse": {"path": "text!", "layer": "text"},
    "cityjson": {"path": "text!"},
    "sensors": {"stations": "text!", "readings": "text!", "stations_crs": "crs"},
    "bim": [{"building": "text!", "path": "text!",
             "placement": {"x": "number!", "y": "number!", "z": "number",
                           "rotation_deg": "number"}}],
    "places": {"*": {"x": "number!", "y": "number!"}},
    "layers": {"*": {"path": "text!", "layer": "text"}},
}
"""What a manifest may hold (see :mod:`geodata.schema`); anything else is a DataError."""
_VECTOR_READERS = {"roads": read_roads, "water": read_water, "landuse": read_landuse}
_PLACE_REACH_M = 20_000.0
"""Places farther than this (or than the city's diagonal) outside the city are refused."""
_ELEVATION_RANGE_M = (-1000.0, 9000.0)
"""Terrain cells outside this range are undeclared nodata values (e.g. -3.4e38)."""


def load_city(path: str | os.PathLike) -> City:
    """Load a city from a TOML manifest, a CityJSON file, or a saved folder.

    Every layer is reprojected to the city's CRS; terrain holes are filled
    (with a warning); layers that miss the terrain are refused. Roads and
    buildings may come from an OpenStreetMap extract (``.osm.pbf``/``.osm``,
    or ``format = "osm"``).

    Parameters
    ----------
    path : path-like
        ``city.toml`` manifest, a folder holding one, or a ``.json`` CityJSON file.

    Raises
    ------
    geodata.DataError
        When a source is missing, unreadable or invalid, or the manifest holds
        a key or value it should not; the message names the file, table, key
        or feature and the fix.

    Examples
    --------
    >>> import twin
    >>> city = twin.load_city("data_samples/ezhou/city.toml")  # doctest: +SKIP
    >>> city.crs.to_epsg()                                      # doctest: +SKIP
    4547
    """
    if path is None or (isinstance(path, str) and not path.strip()):
        raise DataError(f"no city file given ({path!r})",
                        fix="give a city.toml manifest, a folder holding one, or a CityJSON file")
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"a city is loaded from a path, got {type(path).__name__}",
                        fix="give the path of a city.toml manifest")
    path = Path(path)
    if path.is_dir():
        path = path / "city.toml"
    if not path.exists():
        raise DataError("file not found", file=path,
                        fix="give a city.toml manifest, a folder holding one, or a CityJSON file")
    if path.suffix.lower() == ".json":
        return _city_from_cityjson(path)
    if path.suffix.lower() != ".toml":
        raise DataError(f"unknown city file type '{path.suffix}'", file=path,
                        fix="give a .toml manifest or a .city.json CityJSON file")
    return _city_from_manifest(path, _read_manifest(path))


def _read_manifest(path: Path) -> dict:
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"is not valid TOML ({exc})", file=path,
                        fix="check the manifest syntax (https://toml.io)") from None
    check_table(manifest, _SCHEMA, file=path)
    return manifest


def _city_from_cityjson(path: Path, crs: CRS | None = None) -> City:
    layers = read_cityjson(path, crs=crs)
    return City(name=path.name.split(".")[0], crs=layers.crs, buildings=layers.buildings,
                roads=layers.roads, water=layers.water, landuse=layers.landuse,
                layers=dict(layers.other), source=str(path))


def _city_from_manifest(path: Path, m: dict) -> City:
    root = path.parent
    src = lambda p: _resolve(root, p)  # noqa: E731
    cj = read_cityjson(src(m["cityjson"]["path"]), crs=m.get("crs")) if "cityjson" in m else None
    crs = _city_crs(m, cj, path)
    terrain = _load_terrain(m["terrain"], src, crs) if "terrain" in m else None
    city = City(name=m.get("name", root.name), crs=crs, terrain=terrain,
                timezone=m.get("timezone", "UTC"), source=str(path),
                places={k: (v["x"], v["y"]) for k, v in m.get("places", {}).items()})
    if cj is not None:
        city.buildings, city.roads, city.water, city.landuse = (
            cj.buildings, cj.roads, cj.water, cj.landuse)
        city.layers.update(cj.other)
        if terrain is not None:
            city.buildings = _ground_buildings(city.buildings, terrain)
    if "buildings" in m:
        city.buildings = _load_buildings(m["buildings"], src, crs, terrain)
    for name, reader in _VECTOR_READERS.items():
        if name in m:
            spec = m[name]
            file = src(spec["path"])
            if name == "roads" and _is_osm(spec, file):
                city.roads = read_osm_roads(file, crs=crs, bounds=_bounds(terrain))
            else:
                setattr(city, name, reader(file, crs=crs, layer=spec.get("layer")))
    for name, spec in m.get("layers", {}).items():
        city.layers[name] = vector.read_layer(src(spec["path"]), crs=crs,
                                              layer=spec.get("layer"), kind=name,
                                              geometry=("Polygon", "LineString", "Point"))
    if terrain is not None:
        _check_overlaps(city, m, src)
    if "sensors" in m:
        s = m["sensors"]
        city.sensors = read_sensors(src(s["stations"]), src(s["readings"]), crs=crs,
                                    stations_crs=s.get("stations_crs"))
    for entry in m.get("bim", []):
        _add_bim(city, entry, src, path)
    _check_places(city, path)
    return city


def _resolve(root: Path, p: str) -> Path:
    p = Path(os.path.expanduser(p))
    return p if p.is_absolute() else root / p


def _is_osm(spec: dict, file: Path) -> bool:
    return spec.get("format") == "osm" or (spec.get("format") is None and is_osm(file))


def _city_crs(m: dict, cj, path: Path) -> CRS:
    if "crs" in m:
        crs = parse_crs(m["crs"], file=path)
    elif cj is not None:
        crs = cj.crs
    else:
        raise DataError("manifest has no crs", file=path,
                        fix='add crs = "EPSG:...", a projected CRS in metres')
    if not crs.is_projected:
        raise DataError(f"the city CRS {crs.to_string()} is geographic (degrees)", file=path,
                        fix="choose a projected CRS in metres, e.g. EPSG:4547 for Ezhou "
                            "or the local UTM zone")
    return crs


def _load_terrain(spec: dict, src, crs: CRS) -> Raster:
    file = src(spec["path"])
    terrain = read_raster(file)
    low, high = _ELEVATION_RANGE_M
    with np.errstate(invalid="ignore"):
        odd = (terrain.data < low) | (terrain.data > high)
    if odd.any():
        warnings.warn(f"{file}: {int(odd.sum())} terrain cells lie outside {low:g} to "
                      f"{high:g} m (from {np.nanmin(terrain.data):g} to "
                      f"{np.nanmax(terrain.data):g}); treated as nodata. Fix: set the file's "
                      "nodata value (gdal_edit.py -a_nodata)", DataWarning, stacklevel=4)
        terrain.data[odd] = np.nan
        if np.isnan(terrain.data).all():
            raise DataError("terrain holds no cell with a plausible elevation", file=file,
                            fix="check the file's nodata value and units (metres)")
    if not terrain.crs.equals(crs):
        terrain = terrain.reproject(crs, spec.get("cell_size"))
    elif "cell_size" in spec:
        terrain = terrain.resample(spec["cell_size"])
    if np.isnan(terrain.data).any():
        terrain, n = terrain.fill_nodata()
        warnings.warn(f"{file}: filled {n} nodata cells of the terrain from their neighbours",
                      DataWarning, stacklevel=4)
    return terrain


def _load_buildings(spec: dict, src, crs: CRS, terrain: Raster | None):
    kw = {k: spec[k] for k in ("default_height", "storey_height") if k in spec}
    file = src(spec["path"])
    if _is_osm(spec, file):
        return read_osm_buildings(file, crs=crs, dtm=terrain, bounds=_bounds(terrain), **kw)
    dsm = read_raster(src(spec["dsm"])) if "dsm" in spec else None
    kw.update({k: spec[k] for k in ("height", "storeys") if k in spec})
    return read_buildings(file, crs=crs, layer=spec.get("layer"), dsm=dsm, dtm=terrain, **kw)


def _bounds(terrain: Raster | None):
    """The terrain's bounds: an OSM extract is read only there."""
    return None if terrain is None else terrain.bounds


def _ground_buildings(b: gpd.GeoDataFrame, terrain: Raster) -> gpd.GeoDataFrame:
    """Set ``base`` from the terrain where it is missing."""
    if "base" in b and b["base"].notna().all():
        return b
    pts = b.geometry.representative_point()
    b = b.copy()
    ground = terrain.sample(pts.x.to_numpy(), pts.y.to_numpy())
    b["base"] = b["base"].fillna(pd.Series(ground, index=b.index)) if "base" in b else ground
    return b


def _check_overlaps(city: City, m: dict, src) -> None:
    for name in ("buildings", "roads", "water", "landuse"):
        gdf = getattr(city, name)
        if len(gdf) and name in m:
            vector.check_overlap(gdf, city.terrain.bounds, file=src(m[name]["path"]), layer=name)


def _check_places(city: City, path: Path) -> None:
    """Refuse places far outside everything else (usually lon/lat or another CRS)."""
    xmin, ymin, xmax, ymax = city.bounds
    if not city.places or not np.isfinite([xmin, ymin, xmax, ymax]).all():
        return
    reach = max(_PLACE_REACH_M, float(np.hypot(xmax - xmin, ymax - ymin)))
    for name, (x, y) in city.places.items():
        away = float(np.hypot(max(xmin - x, 0.0, x - xmax), max(ymin - y, 0.0, y - ymax)))
        if away > reach:
            hint = "; it looks like longitude/latitude" if looks_like_lonlat((x, y, x, y)) else ""
            raise DataError(f"place '{name}' ({x:g}, {y:g}) lies {away / 1000:.0f} km outside "
                            f"the city ({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f}){hint}",
                            file=path, layer="places",
                            fix=f"give x, y in the city CRS ({_crs_name(city.crs)}), in metres")


def _crs_name(crs: CRS) -> str:
    auth = crs.to_authority()
    return ":".join(auth) if auth else crs.name


def _add_bim(city: City, entry: dict, src, path: Path) -> None:
    building = entry["building"]
    file = src(entry["path"])
    if len(city.buildings) and building not in set(city.buildings["id"]):
        close = difflib.get_close_matches(building, list(city.buildings["id"].astype(str)), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise DataError(f"BIM model {file.name} is for building {building!r}, "
                        "which is not in the buildings layer", file=path, layer="bim",
                        fix=f"{hint}give the id of an existing building")
    if file.suffix.lower() == ".npz":
        city.bim[building] = _load_saved_bim(file)
        return
    placement = entry.get("placement")
    if placement is not None:
        placement = bimio.Placement(**placement)
    city.bim[building] = bimio.read_bim(file, crs=city.crs, placement=placement)


# -- saving -----------------------------------------------------------------

def save_city(city: City, folder: str | os.PathLike) -> Path:
    """Write ``city`` to ``folder`` as files plus a ``city.toml`` manifest.

    The folder is built under a temporary name beside it and renamed at the
    end; an existing folder is replaced only once the new one is complete.

    Examples
    --------
    >>> save_city(city, "out/copy")  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        manifest = _write_layers(city, tmp)
        (tmp / "city.toml").write_text(tomli_w.dumps(manifest), encoding="utf-8")
        if folder.exists():
            old = folder.with_name(folder.name + ".old")
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _write_layers(city: City, root: Path) -> dict:
    m: dict[str, Any] = {"name": city.name, "crs": city.crs.to_wkt(), "timezone": city.timezone}
    if city.terrain is not None:
        city.terrain.write(root / "terrain.tif")
        m["terrain"] = {"path": "terrain.tif"}
    for name in ("buildings", "roads", "water", "landuse"):
        gdf = getattr(city, name)
        if len(gdf):
            gdf.to_file(root / f"{name}.gpkg", layer=name, driver="GPKG")
            m[name] = {"path": f"{name}.gpkg", "layer": name}
    if city.layers:
        m["layers"] = {}
        for name, gdf in city.layers.items():
            gdf.to_file(root / f"layer_{name}.gpkg", layer=name, driver="GPKG")
            m["layers"][name] = {"path": f"layer_{name}.gpkg", "layer": name}
    if city.sensors is not None:
        _write_sensors(city.sensors, root / "sensors")
        m["sensors"] = {"stations": "sensors/stations.gpkg", "readings": "sensors/readings.parquet"}
    if city.bim:
        (root / "bim").mkdir()
        m["bim"] = [{"building": bid, "path": f"bim/{_save_bim(model, root / 'bim', i)}"}
                    for i, (bid, model) in enumerate(city.bim.items())]
    if city.places:
        m["places"] = {k: {"x": x, "y": y} for k, (x, y) in city.places.items()}
    return m


def _write_sensors(sensors, folder: Path) -> None:
    folder.mkdir(parents=True)
    sensors.stations.to_file(folder / "stations.gpkg", layer="stations", driver="GPKG")
    sensors.readings.to_parquet(folder / "readings.parquet", index=False)


def _save_bim(model, folder: Path, i: int) -> str:
    name = f"model_{i:03d}.npz"
    np.savez_compressed(folder / name, vertices=np.asarray(model.mesh.vertices, "float64"),
                        faces=np.asarray(model.mesh.faces, "int64"),
                        face_element=np.asarray(model.face_element),
                        name=np.array(model.name), source=np.array(str(model.source)))
    model.elements.to_parquet(folder / f"model_{i:03d}.elements.parquet", index=False)
    model.storeys.to_parquet(folder / f"model_{i:03d}.storeys.parquet", index=False)
    return name


def _load_saved_bim(file: Path):
    try:
        z = np.load(file)
        mesh = trimesh.Trimesh(z["vertices"], z["faces"], process=False)
        stem = file.with_suffix("")
        return bimio.BimModel(name=str(z["name"]), mesh=mesh, face_element=z["face_element"],
                              elements=pd.read_parquet(f"{stem}.elements.parquet"),
                              storeys=pd.read_parquet(f"{stem}.storeys.parquet"),
                              source=str(z["source"]))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"saved BIM model cannot be read ({exc})", file=file,
                        fix="save the city again with twin.save_city") from None
