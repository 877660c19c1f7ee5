"""The synthetic sample district: a deterministic, Ezhou-inspired city block set.

:func:`generate_district` writes a complete city folder (terrain GeoTIFF,
building/road/water/land-use GeoPackages, sensor stations and 72 h of
readings, an IFC school and the ``city.toml`` manifest). The layout is
inspired by central Ezhou (Echeng district): the Yangtze behind a levee along
the north edge, a lake in the middle of town, a hill by the river on the
west. Nothing is copied from real maps; every shape comes from a seeded
random generator, so the same seed gives the same files.

Run it from the command line::

    python -m geodata.synthetic data_samples/ezhou --seed 20240705

Examples
--------
>>> from geodata.synthetic import generate_district
>>> generate_district("/tmp/small_district", scale=0.25)      # doctest: +SKIP
PosixPath('/tmp/small_district')
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio.features
import shapely
import tomli_w
from affine import Affine
from pyproj import CRS, Transformer
from scipy import ndimage

from geodata.raster import Raster
from geodata.storm import WUHAN, chicago_hyetograph

__all__ = ["generate_district", "main", "DEFAULT_SEED", "CENTRE_LONLAT", "CRS_EPSG"]

DEFAULT_SEED = 20240705
CENTRE_LONLAT = (114.89, 30.39)
"""Longitude and latitude of the district centre (central Ezhou)."""
CRS_EPSG = 4547
"""CGCS2000 / 3-degree Gauss-Kruger CM 114E."""

CELL = 4.0
THETA_DEG = 12.0
"""Rotation of the street grid, counter-clockwise from east."""
START = pd.Timestamp("2024-07-04T00:00:00+08:00")
HOURS = 72
STEP_S = 300
STORM_START_H = 37.0
STORM_RETURN_PERIOD = 50.0
STORM_DURATION_S = 3 * 3600
CONCERT_H = (43.5, 46.5)
FILE_DATE = "2024-07-01T00:00:00Z"

RIVER_LEVEL = 16.0
LAKE_LEVEL = 18.5
CANAL_LEVEL = 17.0
LEVEE_CREST = 29.5
ROAD_WIDTH = {"arterial": 30.0, "collector": 20.0, "local": 12.0}
ROAD_RANK = {"arterial": 0, "collector": 1, "local": 2}
ROAD_LANES = {"arterial": 6, "collector": 4, "local": 2}
ROAD_SPEED = {"arterial": 60.0, "collector": 50.0, "local": 30.0}
LANE_CAPACITY = {"arterial": 1800, "collector": 1500, "local": 900}
MANNING = {"road": 0.015, "residential": 0.06, "commercial": 0.05, "industrial": 0.05,
           "public": 0.05, "park": 0.035, "forest": 0.10, "water": 0.025}

ARTERIAL_NAMES = ["Wuchang Avenue", "Fenghuang Road", "Nanpu Road", "Guanyin Road",
                  "Shouchang Road", "Jiangnan Avenue", "Minxin Road", "Kaifa Road",
                  "Qingping Road", "Wudu Road", "Huarong Avenue", "Liangzi Road",
                  "Gedian Avenue", "Tongjiang Road", "Wenchang Road", "Jiangcheng Avenue",
                  "Yuwang Road", "Hongqi Road", "Changgang Road", "Huahu Avenue"]
STREET_STEMS = ["Lianhua", "Taoyuan", "Yuanlin", "Shiji", "Heping", "Xinmin", "Gulou",
                "Jinhu", "Baiyun", "Qinglong", "Dongfang", "Chunhui", "Yangguang", "Nanhu",
                "Hexie", "Mingzhu", "Fuqiang", "Wenhua", "Xingfu", "Jianshe", "Tiyu",
                "Huayuan", "Lingyun", "Shuguang"]


# --------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------
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
        _write_district(tmp, _build(seed, scale), seed, scale)
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


# --------------------------------------------------------------------------
# the district frame: extent, grid rotation, world <-> grid coordinates
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frame:
    """Extent of the district and its rotated street-grid frame (local metres)."""

    x0: float
    y0: float
    width: float
    height: float
    theta: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.width / 2, self.height / 2

    def to_grid(self, xy: np.ndarray) -> np.ndarray:
        """(x, y) local metres -> (u, v) along the rotated street grid."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        d = np.asarray(xy, dtype=float) - self.centre
        return np.stack([d[..., 0] * c + d[..., 1] * s, -d[..., 0] * s + d[..., 1] * c], -1)

    def from_grid(self, uv: np.ndarray) -> np.ndarray:
        """(u, v) grid metres -> (x, y) local metres."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        uv = np.asarray(uv, dtype=float)
        x = uv[..., 0] * c - uv[..., 1] * s + self.centre[0]
        y = uv[..., 0] * s + uv[..., 1] * c + self.centre[1]
        return np.stack([x, y], -1)

    def box(self) -> shapely.Polygon:
        return shapely.box(0, 0, self.width, self.height)


def _frame(scale: float) -> _Frame:
    to_gk = Transformer.from_crs(4326, CRS_EPSG, always_xy=True)
    cx, cy = to_gk.transform(*CENTRE_LONLAT)
    width, height = 4000.0 * scale, 3000.0 * scale
    x0 = round((cx - width / 2) / 100) * 100
    y0 = round((cy - height / 2) / 100) * 100
    return _Frame(x0, y0, width, height, math.radians(THETA_DEG))


# --------------------------------------------------------------------------
# building the district in memory
# --------------------------------------------------------------------------
@dataclass
class _District:
    frame: _Frame
    terrain: np.ndarray
    water: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    landuse: gpd.GeoDataFrame
    stations: pd.DataFrame
    readings: pd.DataFrame
    places: dict
    school: dict


def _build(seed: int, scale: float) -> _District:
    rng = np.random.default_rng(seed)
    f = _frame(scale)
    shapes = _water_shapes(f, rng)
    natural = _natural_terrain(f, shapes, rng)
    hill = _hill_zone(f, natural["hill"])
    sites = _sites(f)
    roads = _roads(f, shapes, hill, sites, rng)
    blocks = _blocks(f, shapes, hill, roads, sites, rng)
    buildings, school = _buildings(f, blocks, sites, shapes, rng)
    terrain = _final_terrain(f, natural["ground"], shapes, roads, blocks)
    places = _places(f, shapes, sites, school)
    stations = _stations(f, shapes, roads, sites, rng)
    readings = _readings(stations, rng)
    landuse = _landuse(f, shapes, hill, roads, blocks)
    water = _water_layer(shapes)
    return _District(f, terrain, water, roads, buildings, landuse, stations, readings,
                     places, school)


# -- water: river bank, levee line, lake, canal -----------------------------
def _bank_y(f: _Frame, x: np.ndarray) -> np.ndarray:
    """Northing (local) of the Yangtze's south bank at normal water level."""
    w = f.width
    return f.height * 0.87 + 0.018 * f.height * np.sin(2 * np.pi * x / w * 1.2 + 0.6) \
        + 0.008 * f.height * np.sin(2 * np.pi * x / w * 3.1 + 2.0)


def _levee_y(f: _Frame, x: np.ndarray) -> np.ndarray:
    return _bank_y(f, x) - 45.0


def _riverfront_y(f: _Frame, x: np.ndarray) -> np.ndarray:
    return _levee_y(f, x) - 80.0


def _water_shapes(f: _Frame, rng: np.random.Generator) -> dict:
    xs = np.linspace(-50, f.width + 50, 201)
    bank = np.column_stack([xs, _bank_y(f, xs)])
    river = shapely.Polygon(np.vstack([bank, [[f.width + 50, f.height + 50],
                                              [-50, f.height + 50]]]))
    river = shapely.intersection(river, f.box())
    levee = shapely.LineString(np.column_stack([xs, _levee_y(f, xs)]))
    front = shapely.LineString(np.column_stack([xs, _riverfront_y(f, xs)]))
    riverside = shapely.intersection(shapely.Polygon(np.vstack([
        front.coords, [[f.width + 50, f.height + 50], [-50, f.height + 50]]])), f.box())

    phi = np.linspace(0, 2 * np.pi, 241)[:-1]
    wiggle = (1 + 0.10 * np.sin(3 * phi + rng.uniform(0, 6)) +
              0.06 * np.sin(5 * phi + rng.uniform(0, 6)) + 0.04 * np.sin(8 * phi + 1.0))
    a, b, rot = 0.16 * f.width, 0.10 * f.height, math.radians(20)
    lx, ly = a * np.cos(phi) * wiggle, b * np.sin(phi) * wiggle
    lake_c = np.array([0.55 * f.width, 0.42 * f.height])
    lake_xy = np.column_stack([lx * math.cos(rot) - ly * math.sin(rot),
                               lx * math.sin(rot) + ly * math.cos(rot)]) + lake_c
    lake = shapely.Polygon(lake_xy)

    # canal: from the lake's north shore to the landward toe of the levee
    start = lake_c + [0.06 * f.width, 0.0]
    top_x = 0.64 * f.width
    end = np.array([top_x, _levee_y(f, np.array([top_x]))[0] - 45.0])
    mid = np.array([0.63 * f.width, (start[1] + end[1]) / 2 + 0.02 * f.height])
    canal_line = shapely.LineString([start, mid, end])
    canal = shapely.difference(shapely.buffer(canal_line, 9.0, cap_style="flat"), lake)
    canal = max(shapely.get_parts(canal), key=lambda g: g.area)
    return dict(river=river, levee=levee, front=front, riverside=riverside, lake=lake,
                lake_centre=lake_c, canal=canal, canal_line=canal_line, pump=end)


def _scale_of(f: _Frame) -> float:
    """Linear scale of a frame relative to the full district."""
    return f.width / 4000.0


# -- terrain ---------------------------------------------------------------
def _cell_centres(f: _Frame) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = int(round(f.width / CELL)), int(round(f.height / CELL))
    x = (np.arange(cols) + 0.5) * CELL
    y = f.height - (np.arange(rows) + 0.5) * CELL
    return np.meshgrid(x, y)


def _local_transform(f: _Frame) -> Affine:
    return Affine(CELL, 0, 0, 0, -CELL, f.height)


def _mask(f: _Frame, geoms, all_touched: bool = False) -> np.ndarray:
    geoms = [g for g in np.atleast_1d(geoms) if g is not None and not g.is_empty]
    shape = (int(round(f.height / CELL)), int(round(f.width / CELL)))
    if not geoms:
        return np.zeros(shape, bool)
    return rasterio.features.rasterize(geoms, out_shape=shape, transform=_local_transform(f),
                                       all_touched=all_touched, dtype="uint8").astype(bool)


def _smooth_noise(shape, rng: np.random.Generator, sigma_cells: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_cells, mode="reflect")
    return field / field.std()


def _natural_terrain(f: _Frame, w: dict, rng: np.random.Generator) -> dict:
    """Ground without roads and depressions: slope, noise, hill, lake, river, levee."""
    x, y = _cell_centres(f)
    s = _scale_of(f)
    yn, xn = y / f.height, x / f.width
    ground = 19.9 + 3.4 * (1 - yn) ** 1.3 + 0.6 * xn
    ground += 0.45 * _smooth_noise(x.shape, rng, 18) + 0.06 * _smooth_noise(x.shape, rng, 2)

    # the hill (Xishan-like): two lobes and a ridge, by the river on the west
    hx, hy = 0.15 * f.width, 0.72 * f.height
    u, v = (x - hx) / (230 * s), (y - hy) / (160 * s)
    ridge = 0.35 * np.exp(-(((x - hx - 180 * s) / (180 * s)) ** 2 + ((y - hy + 40 * s)
                                                                      / (90 * s)) ** 2))
    hill = 70.0 * (np.exp(-(u ** 2 + v ** 2)) * (1 + 0.08 * _smooth_noise(x.shape, rng, 10))
                   + ridge)
    ground = ground + hill

    # the lake: shallow shores, bed ~15 m; the ground around dips to the shore
    lake = _mask(f, w["lake"])
    d_in = ndimage.distance_transform_edt(lake) * CELL
    d_out = ndimage.distance_transform_edt(~lake) * CELL
    shore = 19.0 + 0.006 * d_out
    reach = np.clip(1 - d_out / (400 * s), 0, 1)
    ground = np.where(lake, LAKE_LEVEL - 0.3 - 3.2 * np.minimum(1, d_in / (150 * s)) ** 0.8,
                      ground - np.maximum(0, ground - shore) * reach)

    # the Yangtze: bed 10 m; berm between bank and levee; the levee
    river = _mask(f, w["river"])
    d_river = ndimage.distance_transform_edt(river) * CELL
    bank = _bank_y(f, x)
    berm = 17.0 + 1.2 * np.clip((bank - y) / 45.0, 0, 1)
    ground = np.where(y > _riverfront_y(f, x) + 20, np.minimum(ground, berm + 1.5), ground)
    ground = np.where(river, RIVER_LEVEL - 0.5 - 5.5 * np.minimum(1, d_river / 120.0), ground)
    ground = np.where((~river) & (y > _levee_y(f, x)), np.minimum(ground, berm), ground)
    d_levee = np.abs(y - _levee_y(f, x)) * np.cos(np.arctan(np.gradient(_levee_y(f, x[0]),
                                                                         x[0])))[None, :]
    crest = LEVEE_CREST + 0.3 * np.sin(2 * np.pi * x / (1500.0 + f.width))
    levee = crest - np.maximum(0.0, d_levee - 6.0) / 2.5
    ground = np.maximum(ground, levee)

    # the canal: bed 16 m, 2.5 m below the lake's normal level
    canal = _mask(f, w["canal"], all_touched=True)
    ground = np.where(canal, 16.0, ground)
    near = ndimage.distance_transform_edt(~canal) * CELL
    ground = np.where(~canal & (near < 12), np.minimum(ground, 18.8 + 0.1 * near), ground)
    return dict(ground=ground, hill=hill)


def _hill_zone(f: _Frame, hill: np.ndarray) -> shapely.Geometry:
    """Polygon of the hill where it rises over 3 m above the town (no building there)."""
    mask = (hill > 3.0).astype("uint8")
    shapes = [shapely.geometry.shape(g) for g, v in
              rasterio.features.shapes(mask, mask=mask.astype(bool),
                                       transform=_local_transform(f)) if v == 1]
    if not shapes:
        return shapely.Polygon()
    zone = shapely.union_all(shapes)
    return shapely.simplify(shapely.buffer(zone, 8.0), 4.0)


def _final_terrain(f: _Frame, ground: np.ndarray, w: dict, roads: gpd.GeoDataFrame,
                   blocks: gpd.GeoDataFrame) -> np.ndarray:
    """Raise road beds by 0.2 m and sink the low blocks by 1.8 m."""
    water = _mask(f, [w["river"], w["lake"], w["canal"]], all_touched=True)
    road_area = _mask(f, shapely.buffer(roads.geometry.values,
                                        roads["class"].map(ROAD_WIDTH).values / 2 - 1))
    low = blocks.loc[blocks["low"], "geometry"].values
    dip = ndimage.gaussian_filter(_mask(f, shapely.buffer(low, -4.0)).astype(float), 2.0)
    out = ground + np.where(road_area & ~water, 0.2, 0.0) - 1.8 * dip * ~water
    return out.astype("float32")


# -- sites for landmarks -----------------------------------------------------
_SITES = {  # name: (x, y as fractions of the district, site size in m); between arterials
    "stadium": (0.70, 0.23, (420.0, 330.0)),
    "hospital": (0.33, 0.61, (240.0, 200.0)),
    "school": (0.23, 0.26, (200.0, 150.0)),
    "middle_school": (0.40, 0.15, (200.0, 160.0)),
    "station": (0.57, 0.03, (300.0, 150.0)),
    "civic": (0.48, 0.66, (200.0, 160.0)),
    "mall": (0.77, 0.74, (220.0, 170.0)),
}
_ART_U, _ART_V = 600.0, 480.0
_LOC_U, _LOC_V = 150.0, 120.0


def _sites(f: _Frame) -> dict:
    """Landmark sites: rectangles aligned with the grid, between arterials when they fit."""
    s = _scale_of(f)
    out = {}
    for name, (fx, fy, (su, sv)) in _SITES.items():
        su, sv = su * s, sv * s
        uv = f.to_grid(np.array([fx * f.width, fy * f.height]))
        if su < _ART_U - 60 and sv < _ART_V - 60 and s >= 0.75:
            uv = np.round(uv / [_ART_U, _ART_V]) * [_ART_U, _ART_V]   # between arterials
        corners = uv + np.array([[-su, -sv], [su, -sv], [su, sv], [-su, sv]]) / 2
        out[name] = dict(centre_uv=uv, size=(su, sv),
                         polygon=shapely.Polygon(f.from_grid(corners)))
    return out


# -- roads -------------------------------------------------------------------
def _grid_lines(f: _Frame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Straight and gently curved grid streets over the whole district."""
    r = math.hypot(f.width, f.height) / 2 + 200
    t = np.linspace(-r, r, 121)
    rows = []
    for axis, step, art in (("u", _LOC_U, _ART_U), ("v", _LOC_V, _ART_V)):
        ks = np.arange(-int(r // step), int(r // step) + 1)
        for k in ks:
            pos = k * step + art / 2          # arterials sit half an arterial cell off centre
            if abs(np.round(k * step / art) * art - k * step) < 1:
                cls = "arterial"
            elif abs(np.round(k * step / (art / 2)) * art / 2 - k * step) < 1:
                cls = "collector"
            else:
                cls = "local"
            off = np.zeros_like(t)
            if cls == "local" and rng.random() < 0.45:
                off = rng.uniform(5, 11) * np.sin(2 * np.pi * t / rng.uniform(350, 600)
                                                  + rng.uniform(0, 6))
            uv = (np.column_stack([pos + off, t]) if axis == "u"
                  else np.column_stack([t, pos + off]))
            rows.append((cls, shapely.LineString(f.from_grid(uv))))
    return gpd.GeoDataFrame({"class": [c for c, _ in rows]},
                            geometry=[g for _, g in rows])


def _roads(f: _Frame, w: dict, hill, sites: dict, rng: np.random.Generator
           ) -> gpd.GeoDataFrame:
    """The street network: grid, riverfront, lake ring, diagonal and hill road."""
    grid = _grid_lines(f, rng)
    lake_ring = shapely.simplify(shapely.buffer(w["lake"], 70.0), 3.0)
    hill_ring = shapely.simplify(shapely.buffer(hill, 25.0), 3.0) if not hill.is_empty \
        else shapely.Polygon()
    # streets stop 5 m past the roads they meet so that noding finds the junction
    keep_out = shapely.union_all([shapely.buffer(lake_ring, -5.0),
                                  shapely.buffer(w["riverside"], -5.0),
                                  shapely.buffer(hill_ring, -5.0)])
    # a diagonal arterial from the south-west towards the lake
    lc = w["lake_centre"]
    diag = shapely.LineString([[0.20 * f.width, -10.0], [0.33 * f.width, 0.12 * f.height],
                               lc + [-0.10 * f.width, -0.10 * f.height], lc])
    lines = list(grid.geometry) + [diag, shapely.LineString(w["front"].coords),
                                   lake_ring.exterior]
    classes = list(grid["class"]) + ["arterial"] * 3
    if not hill_ring.is_empty:
        lines.append(shapely.intersection(hill_ring.exterior, shapely.buffer(
            f.box().difference(w["riverside"]), -2.0)))
        classes.append("collector")
    special = len(grid)
    names = _street_names(classes, rng)
    names[special:special + 3] = ["Wenxing Road", "Binjiang Avenue", "Yanglan Lake Ring Road"]
    if not hill_ring.is_empty:
        names[-1] = "Xishan Road"
    src = gpd.GeoDataFrame({"class": classes, "name": names}, geometry=lines)
    src["rank"] = src["class"].map(ROAD_RANK)
    src["geometry"] = shapely.intersection(src.geometry.values, f.box())
    inner = src.index < special
    src.loc[inner, "geometry"] = shapely.difference(src.geometry.values[inner], keep_out)
    minor = inner & (src["class"] != "arterial")
    campus = shapely.union_all([shapely.buffer(s["polygon"], -8.0) for s in sites.values()])
    src.loc[minor, "geometry"] = shapely.difference(src.geometry.values[minor], campus)
    lake_arc = src.index == special + 2
    src.loc[lake_arc, "geometry"] = shapely.difference(src.geometry.values[lake_arc],
                                                       w["riverside"])
    src.loc[special, "geometry"] = shapely.difference(src.geometry.values[special], keep_out)
    src = src[~src.geometry.is_empty].reset_index(drop=True)

    src["oneway"] = (src["class"] == "local") & (rng.random(len(src)) < 0.18)
    return _network(src, f)


def _street_names(classes: list[str], rng: np.random.Generator) -> list[str]:
    """Made-up street names: a list for arterials, stems for the rest."""
    names, art, stem = [], 0, 0
    stems = list(STREET_STEMS)
    order = rng.permutation(len(stems))
    for cls in classes:
        if cls == "arterial":
            names.append(ARTERIAL_NAMES[art] if art < len(ARTERIAL_NAMES)
                         else f"{stems[order[art % len(stems)]]} Avenue")
            art += 1
        elif cls == "collector":
            names.append(f"{stems[order[stem % len(stems)]]} Street")
            stem += 1
        else:
            names.append(f"{stems[order[stem % len(stems)]]} Lane {stem // len(stems) + 1}")
            stem += 1
    return names


def _network(src: gpd.GeoDataFrame, f: _Frame) -> gpd.GeoDataFrame:
    """Split the street lines at every junction; attributes from the line each piece lies on."""
    parts = shapely.get_parts(shapely.node(shapely.union_all(src.geometry.values)))
    parts = parts[shapely.length(parts) > 0.5]
    for _ in range(2):              # drop the short overshoots left by clipping
        ends = np.vstack([shapely.get_coordinates(shapely.get_point(parts, 0)),
                          shapely.get_coordinates(shapely.get_point(parts, -1))]).round(3)
        _, inv, counts = np.unique(ends, axis=0, return_inverse=True, return_counts=True)
        deg = counts[inv.ravel()].reshape(2, -1)
        dangling = (deg.min(axis=0) == 1) & (shapely.length(parts) < 25.0)
        parts = parts[~dangling]
    mids = shapely.line_interpolate_point(parts, 0.5, normalized=True)
    tree = shapely.STRtree(src.geometry.values)
    i, j = tree.query(mids, predicate="dwithin", distance=0.05)
    rank = src["rank"].values[j]
    order = np.lexsort((j, rank, i))
    i, j = i[order], j[order]
    first = np.unique(i, return_index=True)[1]
    owner = np.full(len(parts), -1)
    owner[i[first]] = j[first]
    parts, owner = parts[owner >= 0], owner[owner >= 0]
    info = src.iloc[owner].reset_index(drop=True)

    # orient one-way pieces along their street's direction
    a = shapely.get_coordinates(shapely.get_point(parts, 0))
    b = shapely.get_coordinates(shapely.get_point(parts, -1))
    coords, index = shapely.get_coordinates(info.geometry.values, return_index=True)
    first = np.searchsorted(index, np.arange(len(info)))
    last = np.searchsorted(index, np.arange(len(info)), side="right") - 1
    sa, sb = coords[first], coords[last]
    backwards = ((b - a) * (sb - sa)).sum(axis=1) < 0
    parts = np.where(backwards, shapely.reverse(parts), parts)

    order = np.lexsort((shapely.get_coordinates(shapely.centroid(parts))[:, 0],
                        shapely.get_coordinates(shapely.centroid(parts))[:, 1].round(-1)))
    parts, info = parts[order], info.iloc[order].reset_index(drop=True)
    cls = info["class"].values
    lanes = np.array([ROAD_LANES[c] for c in cls])
    oneway = info["oneway"].values.astype(bool)
    capacity = lanes * np.array([LANE_CAPACITY[c] for c in cls])
    return gpd.GeoDataFrame({
        "id": [f"R{k + 1:05d}" for k in range(len(parts))],
        "name": info["name"].values,
        "class": cls,
        "lanes": lanes.astype("int32"),
        "speed_kmh": np.array([ROAD_SPEED[c] for c in cls]),
        "capacity_vph": capacity.astype("int32"),
        "oneway": oneway,
    }, geometry=parts, crs=CRS.from_epsg(CRS_EPSG))


# -- blocks and zoning -------------------------------------------------------
def _blocks(f: _Frame, w: dict, hill, roads: gpd.GeoDataFrame, sites: dict,
            rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Land between streets, with a zone each and a flag for the low-lying blocks."""
    s = _scale_of(f)
    road_area = shapely.union_all(shapely.buffer(
        roads.geometry.values, roads["class"].map(ROAD_WIDTH).values / 2, quad_segs=2))
    taken = shapely.union_all([w["riverside"], w["lake"], shapely.buffer(w["canal"], 3.0),
                               hill, road_area])
    parts = shapely.get_parts(shapely.difference(f.box(), taken))
    arterials = shapely.union_all(roads.geometry.values[(roads["class"] == "arterial").values])
    parts = parts[shapely.area(parts) > 200.0]
    c = shapely.get_coordinates(shapely.point_on_surface(parts))
    cx, cy = c[:, 0] / f.width, c[:, 1] / f.height
    area = shapely.area(parts)
    d_lake = shapely.distance(parts, w["lake"])
    d_centre = np.hypot(c[:, 0] - 0.52 * f.width, c[:, 1] - 0.73 * f.height)

    zone = np.full(len(parts), "residential_mid", dtype=object)
    zone[(d_lake < 300 * s) | (d_centre < 800 * s)] = "residential_high"
    zone[((cx < 0.30) & (cy < 0.62)) | (cy < 0.10) | ((cx > 0.70) & (cy > 0.74))] \
        = "residential_low"
    flip = rng.random(len(parts))
    zone[(flip < 0.10) & (zone != "residential_low")] = "residential_mid"
    zone[flip > 0.93] = "residential_low"
    near_art = shapely.dwithin(parts, arterials, 25.0)
    zone[(d_centre < 1500 * s) & near_art & (rng.random(len(parts)) < 0.3)] = "commercial"
    zone[d_centre < 600 * s] = "commercial"
    zone[(cx > 0.84) & (cy < 0.80)] = "industrial"
    zone[(rng.random(len(parts)) < 0.05) | (area < 1500.0) | (d_lake < 5.0)] = "park"
    site = np.full(len(parts), "", dtype=object)
    for name, st in sites.items():
        inside = ((shapely.area(shapely.intersection(parts, st["polygon"])) > 0.3 * area)
                  | shapely.contains(parts, shapely.centroid(st["polygon"])))
        site[inside] = name
        zone[inside] = "campus"

    low = np.zeros(len(parts), bool)
    pool = np.flatnonzero(np.char.startswith(zone.astype(str), "residential")
                          & (area > 6000) & (area < 30000) & (d_lake > 300 * s)
                          & (np.hypot(cx - 0.15, (cy - 0.72) * 0.75) > 0.15))
    if len(pool):
        low[rng.choice(pool, size=min(6, len(pool)), replace=False)] = True
    return gpd.GeoDataFrame({"zone": zone, "site": site, "low": low}, geometry=parts)


# -- buildings ----------------------------------------------------------------
# zone: lattice spacing (u, v) in m, setback from the block edge, footprint kinds
_ZONES = {
    "residential_high": ((39.0, 44.0), 5.0, {"tower_sq": 0.4, "tower_round": 0.2,
                                            "tower_plus": 0.2, "point_slab": 0.2}),
    "residential_mid": ((58.0, 29.5), 5.0, {"slab": 0.55, "l_block": 0.25, "u_block": 0.2}),
    "residential_low": ((23.5, 17.5), 3.0, {"row": 0.5, "villa": 0.3, "l_small": 0.2}),
    "commercial": ((58.0, 44.0), 5.0, {"courtyard": 0.35, "podium": 0.25, "l_big": 0.2,
                                       "office_tower": 0.2}),
    "industrial": ((118.0, 44.0), 5.0, {"shed": 0.7, "shed_l": 0.15, "office_small": 0.15}),
}
# kind: use, height range (m), storey height (m)
_KINDS = {
    "tower_sq": ("residential", (60, 150), 3.0), "tower_round": ("residential", (60, 130), 3.0),
    "tower_plus": ("residential", (60, 120), 3.0), "point_slab": ("residential", (45, 90), 3.0),
    "slab": ("residential", (18, 30), 3.0), "l_block": ("residential", (18, 30), 3.0),
    "u_block": ("residential", (18, 27), 3.0), "row": ("residential", (6, 12), 3.0),
    "villa": ("residential", (6, 10), 3.0), "l_small": ("residential", (6, 12), 3.0),
    "courtyard": ("commercial", (12, 24), 4.0), "podium": ("commercial", (9, 20), 4.5),
    "l_big": ("office", (15, 30), 3.8), "office_tower": ("office", (60, 150), 3.8),
    "shed": ("industrial", (8, 15), 6.0), "shed_l": ("industrial", (8, 14), 6.0),
    "office_small": ("office", (12, 20), 3.6),
}
_PEOPLE_PER_M2 = {"residential": 0.9 / 38.0, "commercial": 1 / 2000.0, "office": 1 / 3000.0,
                  "industrial": 1 / 1500.0}


def _rect(w, d):
    """Rectangles centred on the origin: (n, 4, 2) corner arrays."""
    w, d = np.asarray(w)[:, None] / 2, np.asarray(d)[:, None] / 2
    return np.stack([np.hstack([-w, w, w, -w]), np.hstack([-d, -d, d, d])], -1)


def _ell(w, d, a, b):
    """L shapes (w x d with arms a wide along u and b deep along v), centred."""
    z = np.zeros_like(w)
    x = np.stack([z, w, w, a, a, z], 1) - w[:, None] / 2
    y = np.stack([z, z, b, b, d, d], 1) - d[:, None] / 2
    return np.stack([x, y], -1)


def _u_shape(w, d, arm, base):
    z = np.zeros_like(w)
    x = np.stack([z, w, w, w - arm, w - arm, arm, arm, z], 1) - w[:, None] / 2
    y = np.stack([z, z, d, d, base, base, d, d], 1) - d[:, None] / 2
    return np.stack([x, y], -1)


def _ellipse(a, b, k=16):
    t = np.linspace(0, 2 * np.pi, k, endpoint=False)
    return np.stack([np.asarray(a)[:, None] * np.cos(t), np.asarray(b)[:, None] * np.sin(t)],
                    -1)


def _plus(arm, thick):
    a, t = np.asarray(arm)[:, None] / 2, np.asarray(thick)[:, None] / 2
    x = np.hstack([-t, t, t, a, a, t, t, -t, -t, -a, -a, -t])
    y = np.hstack([-a, -a, -t, -t, t, t, a, a, t, t, -t, -t])
    return np.stack([x, y], -1)


def _flip(coords: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror shapes at random so that L and U shapes face every way."""
    sign = rng.choice([-1.0, 1.0], size=(len(coords), 1, 2))
    return coords * sign


def _footprints(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` footprints of one kind, centred on the origin of the grid frame."""
    U = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    if kind in ("tower_sq", "office_tower"):
        side = U(20, 28)
        return shapely.polygons(_rect(side, np.minimum(side * U(0.85, 1.15), 29.0)))
    if kind == "tower_round":
        r = U(11, 14)
        return shapely.polygons(_ellipse(r, r * U(0.85, 1.0)))
    if kind == "tower_plus":
        return shapely.polygons(_plus(U(26, 31), U(12, 15)))
    if kind == "point_slab":
        return shapely.polygons(_rect(U(28, 34), U(14, 18)))
    if kind == "slab":
        return shapely.polygons(_rect(U(40, 52), U(12, 16)))
    if kind == "l_block":
        w, d = U(34, 52), U(20, 24)
        return shapely.polygons(_flip(_ell(w, d, U(11, 13), U(10, 12)), rng))
    if kind == "u_block":
        w, d = U(42, 52), U(20, 24)
        return shapely.polygons(_flip(_u_shape(w, d, U(11, 13), U(10, 12)), rng))
    if kind == "row":
        return shapely.polygons(_rect(U(16, 21), U(8, 10)))
    if kind == "villa":
        return shapely.polygons(_rect(U(10, 14), U(9, 13)))
    if kind == "l_small":
        return shapely.polygons(_flip(_ell(U(14, 18), U(12, 15), U(7, 8), U(7, 8)), rng))
    if kind == "courtyard":
        w, d = U(44, 52), U(34, 40)
        inset = U(10, 12)
        outer = shapely.polygons(_rect(w, d))
        return shapely.difference(outer, shapely.polygons(_rect(w - 2 * inset, d - 2 * inset)))
    if kind == "podium":
        return shapely.polygons(_rect(U(38, 52), U(26, 40)))
    if kind == "l_big":
        return shapely.polygons(_flip(_ell(U(40, 52), U(32, 40), U(14, 17), U(14, 17)), rng))
    if kind == "shed":
        return shapely.polygons(_rect(U(60, 112), U(26, 38)))
    if kind == "shed_l":
        return shapely.polygons(_flip(_ell(U(70, 112), U(32, 38), U(30, 40), U(16, 20)), rng))
    if kind == "office_small":
        return shapely.polygons(_rect(U(25, 35), U(14, 18)))
    raise KeyError(kind)


def _place(f: _Frame, shapes: np.ndarray, centres_uv: np.ndarray) -> np.ndarray:
    """Move grid-frame shapes to their centres and into district coordinates."""
    coords, index = shapely.get_coordinates(shapes, return_index=True)
    world = f.from_grid(coords + centres_uv[index])
    return shapely.set_coordinates(shapes.copy(), world)


def _heights(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    _, (lo, hi), storey = _KINDS[kind]
    if kind in ("shed", "shed_l"):
        storeys = rng.integers(1, 3, n)
        height = np.round(rng.uniform(lo, hi, n), 1)
    else:
        storeys = np.round(rng.uniform(lo, hi, n) / storey).astype(int).clip(min=1)
        height = np.round(storeys * storey + rng.uniform(0.3, 1.5, n), 1)
    return height, storeys


def _lots(f: _Frame, blocks: gpd.GeoDataFrame, spacing: tuple[float, float],
          setback: float) -> tuple[np.ndarray, np.ndarray]:
    """Lot centres (grid frame) filling each block's grid-aligned bounding box, centred."""
    coords, index = shapely.get_coordinates(blocks.geometry.values, return_index=True)
    uv = f.to_grid(coords)
    starts = np.searchsorted(index, np.arange(len(blocks)))
    lo = np.stack([np.minimum.reduceat(uv[:, k], starts) for k in (0, 1)], -1) + setback
    hi = np.stack([np.maximum.reduceat(uv[:, k], starts) for k in (0, 1)], -1) - setback
    span = np.maximum(hi - lo, 0.0)
    n = np.floor(span / spacing).astype(int)
    total = n[:, 0] * n[:, 1]
    block = np.repeat(np.arange(len(blocks)), total)
    k = np.arange(total.sum()) - np.repeat(np.cumsum(total) - total, total)
    iu, iv = k % np.maximum(n[block, 0], 1), k // np.maximum(n[block, 0], 1)
    margin = (span - n * spacing) / 2
    centre = lo[block] + margin[block] + (np.column_stack([iu, iv]) + 0.5) * spacing
    return centre, block


def _lattice_buildings(f: _Frame, blocks: gpd.GeoDataFrame,
                       rng: np.random.Generator) -> gpd.GeoDataFrame:
    frames = []
    for zone, (spacing, setback, mix) in _ZONES.items():
        uv, j = _lots(f, blocks, spacing, setback)
        keep = blocks["zone"].values[j] == zone
        uv, j = uv[keep] + rng.uniform(-1.0, 1.0, (keep.sum(), 2)), j[keep]
        kinds = rng.choice(list(mix), size=len(j), p=list(mix.values()))
        for kind in mix:
            sel = kinds == kind
            if not sel.any():
                continue
            shapes = _place(f, _footprints(kind, int(sel.sum()), rng), uv[sel])
            inner = shapely.buffer(blocks.geometry.values[j[sel]], -setback, quad_segs=2)
            ok = shapely.within(shapes, inner)
            height, storeys = _heights(kind, int(ok.sum()), rng)
            frames.append(pd.DataFrame({"name": "", "use": _KINDS[kind][0], "height": height,
                                        "storeys": storeys, "block": j[sel][ok],
                                        "geometry": shapes[ok]}))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry")


def _landmark(f: _Frame, centre_uv, coords_uv: np.ndarray, hole_uv=None):
    shell = shapely.Polygon(f.from_grid(coords_uv + centre_uv))
    if hole_uv is None:
        return shell
    return shapely.difference(shell, shapely.Polygon(f.from_grid(hole_uv + centre_uv)))


def _landmarks(f: _Frame, sites: dict, w: dict) -> tuple[list[dict], dict]:
    """Named buildings on their sites; returns them and the BIM school's footprint."""
    k = min(1.0, _scale_of(f) / 0.5)
    one = np.ones(1)

    def at(site, du=0.0, dv=0.0):
        return sites[site]["centre_uv"] + np.array([du, dv]) * k

    school = dict(width=64.0, depth=18.0, storeys=3, storey_height=3.6, roof=0.3)
    school_centre = at("school", 0.0, 25.0)
    out = [
        dict(name="Fenghuang Sports Centre Stadium", use="stadium", height=32.0, storeys=3,
             geometry=_landmark(f, at("stadium"), _ellipse(115 * k * one, 92 * k * one, 48)[0],
                                _ellipse(72 * k * one, 50 * k * one, 48)[0])),
        dict(name="Lakeside People's Hospital", use="hospital", height=42.6, storeys=11,
             geometry=_landmark(f, at("hospital"),
                                _ell(110 * k * one, 75 * k * one, 22 * k * one,
                                     22 * k * one)[0])),
        dict(name="Xishan Road Primary School", use="school",
             height=school["storeys"] * school["storey_height"] + school["roof"],
             storeys=school["storeys"],
             geometry=_landmark(f, school_centre, _rect([school["width"]],
                                                        [school["depth"]])[0])),
        dict(name="Xishan Road Primary School Gymnasium", use="school", height=9.5, storeys=1,
             geometry=_landmark(f, at("school", -60.0, -40.0), _rect([36 * k], [22 * k])[0])),
        dict(name="Yanglan Middle School", use="school", height=16.4, storeys=4,
             geometry=_landmark(f, at("middle_school"), _rect([72 * k], [52 * k])[0],
                                _rect([44 * k], [26 * k])[0])),
        dict(name="Echeng Intercity Station", use="station", height=20.5, storeys=2,
             geometry=_landmark(f, at("station", 0.0, -20.0), _rect([160 * k], [42 * k])[0])),
        dict(name="Echeng Bus Terminal", use="station", height=8.0, storeys=1,
             geometry=_landmark(f, at("station", 95.0, 45.0), _rect([60 * k], [30 * k])[0])),
        dict(name="Echeng Civic Culture Centre", use="public", height=24.8, storeys=5,
             geometry=_landmark(f, at("civic"), _u_shape(90 * k * one, 60 * k * one,
                                                         20 * k * one, 20 * k * one)[0])),
        dict(name="Lakeview Plaza Mall", use="commercial", height=28.0, storeys=5,
             geometry=_landmark(f, at("mall"), _rect([150 * k], [95 * k])[0])),
    ]
    pump_uv = f.to_grid(w["pump"] + [25.0, -5.0])
    out.append(dict(name="Yanglan Drainage Pumping Station", use="utility", height=9.0,
                    storeys=2, geometry=_landmark(f, pump_uv, _rect([24.0], [14.0])[0])))
    school.update(centre=f.from_grid(school_centre), rotation_deg=THETA_DEG)
    return out, school


def _buildings(f: _Frame, blocks: gpd.GeoDataFrame, sites: dict, w: dict,
               rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, dict]:
    marks, school = _landmarks(f, sites, w)
    marks = gpd.GeoDataFrame(pd.DataFrame(marks), geometry="geometry")
    marks["block"] = -1
    rest = _lattice_buildings(f, blocks, rng)
    clear = shapely.union_all(shapely.buffer(marks.geometry.values, 8.0))
    rest = rest[~shapely.intersects(rest.geometry.values, clear)]
    c = shapely.get_coordinates(shapely.centroid(rest.geometry.values))
    rest = rest.iloc[np.lexsort((c[:, 0].round(1), -c[:, 1].round(1)))]
    b = pd.concat([marks, rest], ignore_index=True)
    b["geometry"] = shapely.orient_polygons(b.geometry.values)
    area = shapely.area(b.geometry.values) * b["storeys"].values
    rate = b["use"].map(_PEOPLE_PER_M2).fillna(0.0).values
    people = np.round(area * rate).astype(int)
    people[b["use"].values == "hospital"] = 700
    people[b["use"].values == "utility"] = 3
    b["population"] = people
    b["low_block"] = blocks["low"].values[b["block"].values.clip(min=0)] & (b["block"] >= 0)
    res = np.flatnonzero((b["use"] == "residential").values)
    missing = rng.choice(res, size=min(12, len(res)), replace=False)
    b.loc[missing, "height"] = np.nan
    b.insert(0, "id", [f"B{k + 1:06d}" for k in range(len(b))])
    school["id"] = b["id"].iloc[2]
    return b, school


# -- points of interest and sensors -----------------------------------------
def _xy(g) -> np.ndarray:
    return shapely.get_coordinates(shapely.point_on_surface(g))[0]


def _places(f: _Frame, w: dict, sites: dict, school: dict) -> dict:
    """Named camera targets in local metres (shifted to the CRS on writing)."""
    places = {
        "lake": w["lake_centre"],
        "venue": f.from_grid(sites["stadium"]["centre_uv"]),
        "station": f.from_grid(sites["station"]["centre_uv"]),
        "hospital": f.from_grid(sites["hospital"]["centre_uv"]),
        "school": school["centre"],
        "town_centre": np.array([0.52 * f.width, 0.73 * f.height]),
        "pump_station": w["pump"],
        "levee": np.array([0.5 * f.width, _levee_y(f, np.array([0.5 * f.width]))[0]]),
    }
    return {k: np.asarray(v, float) for k, v in places.items()}


def _junctions(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Points where two or more arterial pieces meet a third street, in local metres."""
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(roads.geometry.values, 0)),
                      shapely.get_coordinates(shapely.get_point(roads.geometry.values, -1))])
    art = np.tile((roads["class"] == "arterial").values, 2)
    key = ends.round(2)
    nodes, inv, deg = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    n_art = np.bincount(inv.ravel(), weights=art, minlength=len(nodes))
    return nodes[(deg >= 3) & (n_art >= 2)]


def _spread(points: np.ndarray, n: int, first: np.ndarray) -> np.ndarray:
    """Pick ``n`` points far apart (farthest-point sampling from ``first``)."""
    chosen = [int(np.argmin(np.hypot(*(points - first).T)))]
    dist = np.hypot(*(points - points[chosen[0]]).T)
    while len(chosen) < min(n, len(points)):
        k = int(np.argmax(dist))
        chosen.append(k)
        dist = np.minimum(dist, np.hypot(*(points - points[k]).T))
    return points[chosen]


def _stations(f: _Frame, w: dict, roads: gpd.GeoDataFrame, sites: dict,
              rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    gauges = [(0.12, 0.18), (0.42, 0.30), (0.80, 0.14), (0.36, 0.82), (0.86, 0.62), (0.60, 0.55)]
    for k, (fx, fy) in enumerate(gauges):
        rows.append((f"RG{k + 1:02d}", f"Rain gauge {k + 1}", "rain_gauge", "mm/h",
                     fx * f.width, fy * f.height, 30.0, 50.0))
    lake = w["lake"].exterior
    canal_mid = shapely.line_interpolate_point(w["canal_line"], 0.5, normalized=True)
    px = w["pump"][0]
    levels = [
        ("WL01", "Yangtze gauge at the pumping station", (px + 30, _bank_y(f, np.array([px]))[0]
                                                          + 15), 25.0, 27.0),
        ("WL02", "Yanglan Lake north gauge", _xy(shapely.line_interpolate_point(
            lake, 0.25, normalized=True)), 19.5, 20.5),
        ("WL03", "Yanglan Lake south gauge", _xy(shapely.line_interpolate_point(
            lake, 0.75, normalized=True)), 19.5, 20.5),
        ("WL04", "Drainage canal gauge", _xy(canal_mid), 19.5, 20.5),
        ("WL05", "Pumping station forebay", tuple(w["pump"] - [0.0, 6.0]), 19.3, 20.0),
    ]
    for sid, name, (x, y), warn, alarm in levels:
        rows.append((sid, name, "water_level", "m", x, y, warn, alarm))
    junctions = _spread(_junctions(roads), 16, np.array([0.5 * f.width, 0.5 * f.height]))
    for k, (x, y) in enumerate(junctions):
        rows.append((f"TC{k + 1:02d}", f"Traffic counter {k + 1}", "traffic_counter", "veh/h",
                     x, y, 3600.0, 4500.0))
    uv = sites["stadium"]["centre_uv"]
    a, b = np.array(sites["stadium"]["size"]) / 2
    crowd = [("CC01", "Stadium north gate", uv + [0, 0.72 * b], 1500.0, 2500.0),
             ("CC02", "Stadium east gate", uv + [0.72 * a, 0], 1500.0, 2500.0),
             ("CC03", "Stadium south gate", uv + [0, -0.72 * b], 1500.0, 2500.0),
             ("CC04", "Station plaza", sites["station"]["centre_uv"] + [0, 45.0 * _scale_of(f)],
              1200.0, 2000.0),
             ("CC05", "Station concourse", sites["station"]["centre_uv"] - [0, 20 * _scale_of(f)],
              800.0, 1500.0)]
    for sid, name, p, warn, alarm in crowd:
        x, y = f.from_grid(p)
        rows.append((sid, name, "crowd_counter", "persons", x, y, warn, alarm))
    return pd.DataFrame(rows, columns=["id", "name", "kind", "unit", "x", "y", "warning",
                                       "alarm"])


# -- 72 hours of readings -----------------------------------------------------
def _hour(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((hours - centre + 12) % 24 - 12) / width) ** 2)


def _rain(stations: pd.DataFrame, t_h: np.ndarray, rng: np.random.Generator
          ) -> dict[str, np.ndarray]:
    """Per-gauge rain (mm/h over the 5 min ending at each time): the Chicago storm."""
    _, storm = chicago_hyetograph(STORM_RETURN_PERIOD, STORM_DURATION_S, STEP_S,
                                  peak_ratio=0.4, formula=WUHAN)
    gauges = stations[stations["kind"] == "rain_gauge"]
    x = gauges["x"].values
    shift = np.round((x - x.min()) / max(np.ptp(x), 1.0) * 4).astype(int)   # 0-20 min, W->E
    k0 = int(round(STORM_START_H * 3600 / STEP_S))
    out = {}
    for sid, sh, gain in zip(gauges["id"], shift, rng.uniform(0.78, 1.12, len(gauges))):
        r = np.zeros(len(t_h))
        k = k0 + sh + 1 + np.arange(len(storm))
        r[k] = gain * storm
        r += gain * 2.5 * np.exp(-((t_h - (STORM_START_H - 0.3)) / 0.25) ** 2)    # leading drizzle
        r += gain * 6.0 * np.exp(-((t_h - 54.5) / 0.5) ** 2)                     # morning shower
        r *= np.clip(1 + 0.06 * rng.standard_normal(len(t_h)), 0.7, 1.3)
        out[sid] = np.round(np.where(r < 0.2, 0.0, r), 1)
    return out


def _lake(rain_mm_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lake level (m) and catchment runoff (mm/h) under ``rain_mm_h``.

    Runoff (coefficient 0.65) from a catchment 21 times the lake's area passes
    a linear reservoir (k = 1.2 h) into the lake; the pumping station lowers
    the lake by up to 0.10 m/h, throttled as the level nears 18.5 m.
    """
    dt, k_s, ratio, coeff = float(STEP_S), 1.2 * 3600, 21.0, 0.65
    pump = 0.10 / 3600
    store, level = 0.0, LAKE_LEVEL - 0.05
    out, runoff = np.empty(len(rain_mm_h)), np.empty(len(rain_mm_h))
    for k, r in enumerate(rain_mm_h):          # 864 steps: a tiny serial recursion
        store += coeff * r / 1000 / 3600 * dt
        q = store / k_s * dt
        store -= q
        level += ratio * q - pump * dt * np.clip((level - LAKE_LEVEL) / 0.3, 0.0, 1.0)
        runoff[k] = q / dt * 3600 * 1000
        out[k] = level
    return out, runoff


def _readings(stations: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = HOURS * 3600 // STEP_S
    t_h = np.arange(n) * STEP_S / 3600.0
    clock = (t_h % 24)
    weekend = t_h >= 48                    # 2024-07-06 is a Saturday
    values = _rain(stations, t_h, rng)
    mean_rain = np.mean(list(values.values()), axis=0)
    lake, runoff = _lake(mean_rain)
    for sid in stations.loc[stations["kind"] == "water_level", "id"]:
        if sid == "WL01":
            v = 24.6 + 0.95 * t_h / HOURS + 0.05 * np.sin(2 * np.pi * (t_h - 5) / 24)
        elif sid in ("WL02", "WL03"):
            v = lake + (0.01 if sid == "WL03" else 0.0)
        elif sid == "WL04":
            v = lake + 0.004 * runoff
        else:
            v = lake + 0.004 * runoff - 0.4 * np.clip((lake - LAKE_LEVEL) / 0.3, 0.0, 1.0)
        values[sid] = np.round(v + 0.006 * rng.standard_normal(n), 2)

    storm = ndimage.uniform_filter1d(mean_rain, 7)
    dip = 1 - 0.55 * np.clip(storm / 60.0, 0, 1)
    weekday_p = (0.07 + 0.9 * _hour(clock, 8.0, 1.1) + 0.85 * _hour(clock, 18.0, 1.3)
                 + 0.45 * _hour(clock, 12.5, 3.0))
    weekend_p = 0.07 + 0.55 * _hour(clock, 11.0, 3.0) + 0.55 * _hour(clock, 17.0, 2.5)
    profile = np.where(weekend, weekend_p, weekday_p) * dip
    ingress = np.exp(-((t_h - (CONCERT_H[0] - 0.6)) / 0.7) ** 2)
    egress = np.exp(-((t_h - (CONCERT_H[1] + 0.15)) / 0.25) ** 2)
    tc = stations[stations["kind"] == "traffic_counter"]
    venue = stations.loc[stations["id"] == "CC01", ["x", "y"]].values[0]
    near_venue = np.hypot(tc["x"].values - venue[0], tc["y"].values - venue[1])
    near_venue = near_venue <= np.sort(near_venue)[min(2, len(near_venue) - 1)]
    for sid, peak, close in zip(tc["id"], rng.uniform(2200, 3600, len(tc)), near_venue):
        lam = peak * profile + (1500 * egress + 700 * ingress if close else 0)
        values[sid] = rng.poisson(lam).astype(float)

    commute = np.where(weekend, 0.6 * _hour(clock, 12.0, 3.0),
                       _hour(clock, 7.8, 0.8) + 1.1 * _hour(clock, 18.0, 1.0))
    shelter = 0.5 * np.clip(storm / 40.0, 0, 1)
    night = (clock > 0.5) & (clock < 5.5)
    for sid, base, scale in (("CC04", 60, 900), ("CC05", 40, 650)):
        lam = np.where(night, 5, base + scale * (commute + shelter))
        values[sid] = rng.poisson(lam).astype(float)
    for sid, share in (("CC01", 0.45), ("CC02", 0.30), ("CC03", 0.25)):
        lam = 20 + share * (2600 * ingress + 5200 * egress)
        values[sid] = rng.poisson(lam).astype(float)

    times = (START + pd.to_timedelta(np.arange(n) * STEP_S, unit="s")).strftime(
        "%Y-%m-%dT%H:%M:%S+08:00")
    frames = []
    for sid in stations["id"]:
        keep = rng.random(n) > 0.002
        if sid == "RG05":             # a 30-minute outage during the storm
            keep &= ~((t_h >= STORM_START_H + 2.2) & (t_h < STORM_START_H + 2.7))
        v = values[sid]
        text = (np.char.mod("%d", v.astype(int)) if sid[:2] in ("TC", "CC")
                else np.char.mod("%.2f" if sid.startswith("WL") else "%.1f", v))
        frames.append(pd.DataFrame({"sensor_id": sid, "time": times[keep], "value": text[keep]}))
    return pd.concat(frames, ignore_index=True)


# -- land use and water -------------------------------------------------------
_ZONE_CLASS = {"residential_high": "residential", "residential_mid": "residential",
               "residential_low": "residential", "commercial": "commercial",
               "industrial": "industrial", "park": "park", "campus": "public"}


def _landuse(f: _Frame, w: dict, hill, roads: gpd.GeoDataFrame,
             blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    water = shapely.union_all([w["river"], w["lake"], w["canal"]])
    road = shapely.difference(shapely.intersection(shapely.union_all(shapely.buffer(
        roads.geometry.values, roads["class"].map(ROAD_WIDTH).values / 2, quad_segs=2)),
        f.box()), water)
    forest = shapely.difference(hill, shapely.union_all([water, road]))
    block_geoms = shapely.difference(blocks.geometry.values, shapely.union_all([road, forest]))
    covered = shapely.union_all([water, road, forest, *block_geoms])
    rest = shapely.difference(f.box(), covered)
    pieces = ([("water", water), ("road", road), ("forest", forest), ("park", rest)]
              + [(_ZONE_CLASS[z], g) for z, g in zip(blocks["zone"], block_geoms)])
    cls, geoms = [], []
    for c, g in pieces:
        parts = shapely.get_parts(shapely.get_parts(g))
        parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 1.0)]
        cls += [c] * len(parts)
        geoms += list(parts)
    return gpd.GeoDataFrame({"class": cls, "manning": [MANNING[c] for c in cls]},
                            geometry=geoms)


def _water_layer(w: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["W001", "W002", "W003"],
                             "kind": ["river", "lake", "canal"],
                             "name": ["Yangtze River (Chang Jiang)", "Yanglan Lake",
                                      "Yanglan Drainage Canal"],
                             "level": [RIVER_LEVEL, LAKE_LEVEL, CANAL_LEVEL]},
                            geometry=[w["river"], w["lake"], w["canal"]])


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
def _to_crs(gdf: gpd.GeoDataFrame, f: _Frame) -> gpd.GeoDataFrame:
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


def _write_district(root: Path, d: _District, seed: int, scale: float) -> None:
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
    _write_school_ifc(root / "bim" / "school.ifc", d.school, placement, seed)
    low = d.buildings.loc[d.buildings["low_block"], "geometry"]
    places = {k: {"x": round(float(v[0] + f.x0), 2), "y": round(float(v[1] + f.y0), 2)}
              for k, v in d.places.items()}
    if len(low):
        x, y = _xy(low.iloc[0])
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
    (root / "PROVENANCE.md").write_text(_provenance(d, seed, scale), encoding="utf-8")


# -- the IFC school ----------------------------------------------------------
def _write_school_ifc(path: Path, school: dict, placement: dict, seed: int) -> None:
    """A two-or-more storey school block: walls, slabs, roof, windows and doors.

    The model's origin is the centre of the footprint at ground level; the
    site carries an IfcMapConversion to EPSG:4547 matching ``placement``.
    """
    import ifcopenshell.api.aggregate
    import ifcopenshell.api.context
    import ifcopenshell.api.feature
    import ifcopenshell.api.geometry
    import ifcopenshell.api.georeference
    import ifcopenshell.api.root
    import ifcopenshell.api.spatial
    import ifcopenshell.api.unit
    import ifcopenshell.guid

    api = ifcopenshell.api

    model = ifcopenshell.file(schema="IFC4")
    project = api.root.create_entity(model, ifc_class="IfcProject",
                                     name="Ezhou sample district: school")
    units = [api.unit.add_si_unit(model, unit_type=kind)
             for kind in ("LENGTHUNIT", "AREAUNIT", "VOLUMEUNIT")]
    assignment = api.unit.assign_unit(model, units=units)
    assignment.Units = units          # a SET in IFC: fix its order so files are reproducible
    model3d = api.context.add_context(model, context_type="Model")
    body = api.context.add_context(model, context_type="Model", context_identifier="Body",
                                   target_view="MODEL_VIEW", parent=model3d)
    site = api.root.create_entity(model, ifc_class="IfcSite", name="School site")
    building = api.root.create_entity(model, ifc_class="IfcBuilding",
                                      name="Xishan Road Primary School")
    api.aggregate.assign_object(model, relating_object=project, products=[site])
    api.aggregate.assign_object(model, relating_object=site, products=[building])
    api.georeference.add_georeferencing(model, name=f"EPSG:{CRS_EPSG}")
    rot = math.radians(placement["rotation_deg"])
    api.georeference.edit_georeferencing(
        model, projected_crs={"Name": f"EPSG:{CRS_EPSG}",
                              "Description": "CGCS2000 / 3-degree Gauss-Kruger CM 114E"},
        coordinate_operation={"Eastings": placement["x"], "Northings": placement["y"],
                              "OrthogonalHeight": placement["z"],
                              "XAxisAbscissa": math.cos(rot), "XAxisOrdinate": math.sin(rot),
                              "Scale": 1.0})

    w, d, h = school["width"], school["depth"], school["storey_height"]
    t = 0.3
    for level in range(school["storeys"]):
        z = level * h
        storey = api.root.create_entity(model, ifc_class="IfcBuildingStorey",
                                        name=f"Level {level}")
        api.geometry.edit_object_placement(model, product=storey, matrix=_matrix(0, 0, z))
        storey.Elevation = z
        api.aggregate.assign_object(model, relating_object=building, products=[storey])
        _slab(api, model, body, storey, w, d, z, t, f"Floor slab L{level}", "FLOOR")
        walls = [(-w / 2, -d / 2, 0.0, w), (w / 2, -d / 2, 90.0, d),
                 (w / 2, d / 2, 180.0, w), (-w / 2, d / 2, 270.0, d)]
        for k, (x, y, angle, length) in enumerate(walls):
            wall = api.root.create_entity(model, ifc_class="IfcWall", name=f"Wall L{level}-{k}")
            rep = api.geometry.add_wall_representation(model, context=body, length=length,
                                                       height=h, thickness=t)
            api.geometry.assign_representation(model, product=wall, representation=rep)
            api.geometry.edit_object_placement(model, product=wall,
                                               matrix=_matrix(x, y, z, angle))
            api.spatial.assign_container(model, relating_structure=storey, products=[wall])
            if k % 2 == 0:              # the long walls: windows, and a door on the ground
                n_win = int(length // 4.0) - 1
                for j in range(n_win):
                    along = 2.0 + 4.0 * j
                    door = level == 0 and j in (n_win // 2,) and k == 0
                    _opening(api, model, body, storey, wall, along, z, angle, x, y, t, door)
    roof_z = school["storeys"] * h
    _slab(api, model, body, storey, w, d, roof_z, t, "Roof", "ROOF", ifc_class="IfcRoof")
    for rel in model.by_type("IfcRelAggregates"):         # sets come back in any order
        rel.RelatedObjects = sorted(rel.RelatedObjects, key=lambda e: e.id())
    for rel in model.by_type("IfcRelContainedInSpatialStructure"):
        rel.RelatedElements = sorted(rel.RelatedElements, key=lambda e: e.id())
    rng = np.random.default_rng(seed)
    for entity in model.by_type("IfcRoot"):
        entity.GlobalId = ifcopenshell.guid.compress(rng.bytes(16).hex())
    model.header.file_name.time_stamp = FILE_DATE.replace("Z", "")
    tmp = path.with_name(path.name + ".partial")
    model.write(str(tmp))
    os.replace(tmp, path)


def _matrix(x: float, y: float, z: float, angle_deg: float = 0.0) -> np.ndarray:
    m = np.eye(4)
    a = math.radians(angle_deg)
    m[:2, :2] = [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]
    m[:3, 3] = [x, y, z]
    return m


def _slab(api, model, body, storey, w, d, z, t, name, kind, ifc_class="IfcSlab"):
    slab = api.root.create_entity(model, ifc_class=ifc_class, name=name, predefined_type=kind
                                  if ifc_class == "IfcSlab" else "FLAT_ROOF")
    rep = api.geometry.add_slab_representation(
        model, context=body, depth=t,
        polyline=[(-w / 2, -d / 2), (w / 2, -d / 2), (w / 2, d / 2), (-w / 2, d / 2)])
    api.geometry.assign_representation(model, product=slab, representation=rep)
    api.geometry.edit_object_placement(model, product=slab, matrix=_matrix(0, 0, z))
    api.spatial.assign_container(model, relating_structure=storey, products=[slab])
    return slab


def _opening(api, model, body, storey, wall, along, z, angle, x, y, t, door):
    """Cut an opening in ``wall`` at ``along`` metres and fill it with a window or door."""
    width, height, sill = (1.8, 2.4, 0.0) if door else (2.0, 1.5, 0.9)
    a = math.radians(angle)
    ox, oy = x + math.cos(a) * along, y + math.sin(a) * along
    hole = api.root.create_entity(model, ifc_class="IfcOpeningElement")
    rep = api.geometry.add_wall_representation(model, context=body, length=width,
                                               height=height, thickness=t + 0.1, offset=-0.05)
    api.geometry.assign_representation(model, product=hole, representation=rep)
    api.geometry.edit_object_placement(model, product=hole,
                                       matrix=_matrix(ox, oy, z + sill, angle))
    api.feature.add_feature(model, feature=hole, element=wall)
    cls = "IfcDoor" if door else "IfcWindow"
    fill = api.root.create_entity(model, ifc_class=cls, name="Main door" if door else "Window")
    if door:
        rep = api.geometry.add_door_representation(model, context=body, overall_height=height,
                                                   overall_width=width)
    else:
        rep = api.geometry.add_window_representation(model, context=body,
                                                     overall_height=height,
                                                     overall_width=width)
    api.geometry.assign_representation(model, product=fill, representation=rep)
    api.geometry.edit_object_placement(model, product=fill,
                                       matrix=_matrix(ox, oy, z + sill, angle))
    api.spatial.assign_container(model, relating_structure=storey, products=[fill])
    api.feature.add_filling(model, opening=hole, element=fill)


# -- provenance ----------------------------------------------------------------
def _provenance(d: _District, seed: int, scale: float) -> str:
    f = d.frame
    b = d.buildings
    command = "python -m geodata.synthetic data_samples/ezhou"
    if seed != DEFAULT_SEED:
        command += f" --seed {seed}"
    if scale != 1.0:
        command += f" --scale {scale}"
    _, storm = chicago_hyetograph(STORM_RETURN_PERIOD, STORM_DURATION_S, STEP_S)
    n_low = int(b.loc[b["low_block"], "block"].nunique())
    return f"""# Provenance of the Ezhou sample district

**These data are synthetic.** They are inspired by central Ezhou (Echeng district, Hubei,
on the south bank of the Yangtze), not copied from any map, survey or dataset. Names are
made up in the style of the place; any match with a real building or street is chance.

- Generator: `geodata/synthetic.py`, seed **{seed}**, scale {scale}.
- Regenerate with: `{command}` (the same seed gives the same data).
- CRS: EPSG:{CRS_EPSG} (CGCS2000 / 3-degree Gauss-Kruger, central meridian 114 E); heights
  in metres on a Yellow-Sea-like datum. Extent {f.width:.0f} m x {f.height:.0f} m, south-west
  corner ({f.x0:.0f}, {f.y0:.0f}), centred near {CENTRE_LONLAT[1]} N, {CENTRE_LONLAT[0]} E.

## Layers
- `terrain.tif`: {CELL:.0f} m float32 grid ({d.terrain.shape[1]} x {d.terrain.shape[0]}).
  Town ground slopes from ~23 m (south) to ~20 m (north), with smoothed Gaussian noise.
  The Yangtze (bed ~10 m, normal level {RIVER_LEVEL} m) fills the north strip behind a
  continuous levee (crest ~{LEVEE_CREST} m, 12 m crest, 1:2.5 sides) with a berm at 17-18 m
  on the river side. Yanglan-like lake in the centre (bed ~15 m, normal level {LAKE_LEVEL} m,
  shallow shores); a drainage canal (bed 16 m) runs from the lake to the pumping station at
  the levee toe (the levee is not cut). A Xishan-like hill (~90 m) rises by the river on the
  west. Road beds are raised 0.2 m; {n_low} residential blocks are sunk ~1.8 m below
  their surroundings so that they pond (`[places] low_block` points at one).
- `roads.gpkg` ({len(d.roads)} links): a street grid rotated {THETA_DEG} degrees
  (arterials every 600 m x 480 m, collectors between, local streets every 150 m x 120 m,
  some gently curved), the riverfront arterial, a ring road round the lake, a diagonal
  arterial and a road round the hill. Lines are split at every junction (shared end points).
  `lanes` counts all lanes; `capacity_vph` is the link's total capacity (lanes x 1800, 1500
  or 900 veh/h per lane for arterial, collector, local); `oneway` links run in their
  digitised direction.
- `buildings.gpkg` ({len(b)} buildings): footprints from a per-zone lattice (towers, point
  blocks, slabs, L and U blocks, courtyards with holes, row houses, villas, sheds) rotated
  to the grid and kept only when inside a block set back from the streets; named landmarks
  on their own sites. Height from a use-dependent range; `storeys` from the storey height;
  {int(b['height'].isna().sum())} buildings have no height (use storeys x 3 m).
  `population` is people present at night: residential floor area x 0.9 / 38 m2, hospital
  700, small numbers in other uses.
- `water.gpkg`: river, lake and canal polygons with their normal water level (`level`, m).
- `landuse.gpkg`: polygons covering the district with Manning's n per class
  ({', '.join(f'{k} {v}' for k, v in MANNING.items())}); the levee and the
  riverside berm count as park.
- `sensors/`: {len(d.stations)} stations; 5-minute readings for {HOURS} h from
  {START.isoformat()} (value = mean over the 5 minutes ending at the time stamp). Rain
  gauges record a {STORM_DURATION_S // 3600} h Chicago design storm (peak ratio 0.4,
  return period {STORM_RETURN_PERIOD:.0f} years, {STEP_S // 60}-min steps; peak
  {storm.max():.0f} mm/h, depth {storm.sum() * STEP_S / 3600:.0f} mm at the storm centre)
  starting {(START + pd.Timedelta(hours=STORM_START_H)).isoformat()}, scaled 0.78-1.12 and
  delayed 0-20 min west to east per gauge, with 6 % noise; one gauge has a 30-minute
  outage. Lake and canal levels follow a linear-reservoir runoff model (catchment 21 x the lake,
  runoff coefficient 0.65, k = 1.2 h) with pumping of up to 0.10 m/h above {LAKE_LEVEL} m; the
  Yangtze rises slowly through the flood season; traffic counts follow weekday/weekend
  daily cycles with a dip in the storm; crowd counters see commuters at the station and a
  concert at the stadium ({CONCERT_H[0] - 24:.1f} h to {CONCERT_H[1] - 24:.1f} h on day 2).
  About 0.2 % of readings are missing at random.
- `bim/school.ifc`: IFC4 written with ifcopenshell.api: {d.school['storeys']} storeys of
  walls, floor slabs, a roof, windows and a door, {d.school['width']:.0f} m x
  {d.school['depth']:.0f} m, origin at the footprint centre, with an IfcMapConversion to
  EPSG:{CRS_EPSG} matching the `[[bim]]` placement in `city.toml` (building
  {d.school['id']}).

## Storm formula
Wuhan storm-intensity formula (Ezhou uses Wuhan's): q = {WUHAN.A:g} (1 + {WUHAN.C:g} lg P) /
(t + {WUHAN.b:g})^{WUHAN.n:g} L/(s ha), t in minutes; 1 L/(s ha) = 0.36 mm/h. See
`geodata/storm.py`.
"""


if __name__ == "__main__":
    raise SystemExit(main())
