"""Building the whole sample district in memory and writing it as a city folder."""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import tomli_w
from affine import Affine
from pyproj import CRS

from geodata.raster import Raster
from geodata.synthetic.bim import write_school_ifc
from geodata.synthetic.blocks import landmark_sites, make_blocks
from geodata.synthetic.buildings import make_buildings
from geodata.synthetic.frame import Frame, district_frame, point_xy
from geodata.synthetic.landuse import make_landuse
from geodata.synthetic.parameters import CELL, CRS_EPSG, DEFAULT_SEED, FILE_DATE, THETA_DEG
from geodata.synthetic.places import make_places
from geodata.synthetic.provenance import provenance_text
from geodata.synthetic.roads import make_roads
from geodata.synthetic.sensors import make_readings, make_stations
from geodata.synthetic.terrain import final_terrain, hill_zone, natural_terrain
from geodata.synthetic.water import water_layer, water_shapes

__all__ = ["District", "build_district", "generate_district", "main"]


def generate_district(out: str | os.PathLike, *, seed: int = DEFAULT_SEED,
                      scale: float = 1.0) -> Path:
    """Generate the sample district into the folder ``out``.

    Every file is written under a temporary folder beside ``out`` and moved
    into place only when all are complete, so a failed run leaves no
    half-written sample. Other files in ``out`` (e.g. ``scenarios/``) are kept.

    Parameters
    ----------
    out : path-like
        Folder to write; the generated files in it are replaced.
    seed : int
        Seed of the random generator; the same seed gives the same files.
    scale : float
        Linear size relative to the full 4 km x 3 km district (``0.25`` gives
        a 1 km x 0.75 km district for quick tests). Cell size, street spacing
        and building sizes stay in real metres.

    Returns
    -------
    Path
        The folder written.

    Examples
    --------
    >>> generate_district("/tmp/district", seed=1, scale=0.25)   # doctest: +SKIP
    PosixPath('/tmp/district')
    """
    if not 0.1 <= scale <= 2.0:
        raise ValueError(f"scale must lie between 0.1 and 2 (got {scale})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_district(tmp, build_district(seed, scale), seed, scale)
        for file in sorted(p for p in tmp.rglob("*") if p.is_file()):
            target = out / file.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m geodata.synthetic OUT_FOLDER [--seed N] [--scale S]``."""
    parser = argparse.ArgumentParser(prog="python -m geodata.synthetic",
                                     description="Generate the synthetic Ezhou-inspired "
                                                 "sample district.")
    parser.add_argument("out", help="folder to write (its generated files are replaced)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="linear size relative to the 4 km x 3 km district")
    args = parser.parse_args(argv)
    path = generate_district(args.out, seed=args.seed, scale=args.scale)
    print(f"wrote {path}")
    return 0


@dataclass
class District:
    """Every layer of the district in local metres (shifted to the CRS on writing)."""

    frame: Frame
    terrain: np.ndarray
    water: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    stations: pd.DataFrame
    readings: pd.DataFrame
    places: dict
    school: dict


def build_district(seed: int, scale: float) -> District:
    """Build every layer in memory from one seeded generator (the order of draws matters)."""
    rng = np.random.default_rng(seed)
    f = district_frame(scale)
    shapes = water_shapes(f, rng)
    natural = natural_terrain(f, shapes, rng)
    hill = hill_zone(f, natural["hill"])
    sites = landmark_sites(f)
    roads = make_roads(f, shapes, hill, sites, rng)
    blocks = make_blocks(f, shapes, hill, roads, sites, rng)
    buildings, school = make_buildings(f, blocks, sites, shapes, rng)
    terrain = final_terrain(f, natural["ground"], shapes, roads, blocks)
    places = make_places(f, shapes, sites, school)
    stations = make_stations(f, shapes, roads, sites, rng)
    readings = make_readings(stations, rng)
    landuse = make_landuse(f, shapes, hill, roads, blocks)
    water = water_layer(shapes)
    return District(f, terrain, water, roads, buildings, landuse, stations, readings,
                     places, school)


def _to_crs(gdf: gpd.GeoDataFrame, f: Frame) -> gpd.GeoDataFrame:
    """Shift local metres to EPSG:4547 on a centimetre grid.

    Lines are rounded (shared end points stay shared); polygons are snapped
    with ``set_precision`` so that they stay valid.
    """
    out = gdf.copy()
    geoms = shapely.transform(gdf.geometry.values, lambda c: c + [f.x0, f.y0])
    lines = shapely.get_type_id(geoms) == 1
    geoms[lines] = shapely.transform(geoms[lines], lambda c: np.round(c, 2))
    geoms[~lines] = shapely.set_precision(shapely.make_valid(geoms[~lines]), 0.01)
    out["geometry"] = geoms
    out = out.set_crs(CRS.from_epsg(CRS_EPSG), allow_override=True)
    if (~lines).any():
        out = out.explode(index_parts=False)
        out = out[(out.geometry.geom_type == "Polygon") & (out.area > 0.5)]
    return out.reset_index(drop=True)


def _write_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FILE_DATE})
    try:
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG",
                                layer_options={"SPATIAL_INDEX": "YES"})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _write_district(root: Path, d: District, seed: int, scale: float) -> None:
    f = d.frame
    rows, cols = d.terrain.shape
    Raster(d.terrain, Affine(CELL, 0, f.x0, 0, -CELL, f.y0 + rows * CELL),
           CRS.from_epsg(CRS_EPSG)).write(root / "terrain.tif")
    buildings = d.buildings[["id", "name", "use", "height", "storeys", "population",
                             "geometry"]]
    _write_layer(_to_crs(buildings, f), root / "buildings.gpkg", "buildings")
    _write_layer(_to_crs(d.roads, f), root / "roads.gpkg", "roads")
    _write_layer(_to_crs(d.water, f), root / "water.gpkg", "water")
    landuse = _to_crs(d.landuse, f)
    landuse.insert(0, "id", [f"L{k + 1:05d}" for k in range(len(landuse))])
    _write_layer(landuse, root / "landuse.gpkg", "landuse")

    (root / "sensors").mkdir()
    stations = d.stations.copy()
    stations["x"] = (stations["x"] + f.x0).round(2)
    stations["y"] = (stations["y"] + f.y0).round(2)
    stations.to_csv(root / "sensors" / "stations.csv", index=False, lineterminator="\n")
    d.readings.to_csv(root / "sensors" / "readings.csv", index=False, lineterminator="\n")

    (root / "bim").mkdir()
    sx, sy = d.school["centre"]
    r, c = int(d.frame.height - sy) // int(CELL), int(sx) // int(CELL)
    placement = {"x": round(float(sx + f.x0), 2), "y": round(float(sy + f.y0), 2),
                 "z": round(float(d.terrain[r, c]), 2), "rotation_deg": THETA_DEG}
    write_school_ifc(root / "bim" / "school.ifc", d.school, placement, seed)
    low = d.buildings.loc[d.buildings["low_block"], "geometry"]
    places = {k: {"x": round(float(v[0] + f.x0), 2), "y": round(float(v[1] + f.y0), 2)}
              for k, v in d.places.items()}
    if len(low):
        x, y = point_xy(low.iloc[0])
        places["low_block"] = {"x": round(float(x + f.x0), 2), "y": round(float(y + f.y0), 2)}
    manifest = {
        "name": "Ezhou sample district (synthetic)", "crs": f"EPSG:{CRS_EPSG}",
        "timezone": "Asia/Shanghai",
        "terrain": {"path": "terrain.tif"},
        "buildings": {"path": "buildings.gpkg", "layer": "buildings"},
        "roads": {"path": "roads.gpkg", "layer": "roads"},
        "water": {"path": "water.gpkg", "layer": "water"},
        "landuse": {"path": "landuse.gpkg", "layer": "landuse"},
        "sensors": {"stations": "sensors/stations.csv", "stations_crs": f"EPSG:{CRS_EPSG}",
                    "readings": "sensors/readings.csv"},
        "bim": [{"building": d.school["id"], "path": "bim/school.ifc",
                 "placement": placement}],
        "places": places,
    }
    (root / "city.toml").write_text(tomli_w.dumps(manifest), encoding="utf-8")
    (root / "PROVENANCE.md").write_text(provenance_text(d, seed, scale), encoding="utf-8")
