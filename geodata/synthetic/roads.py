"""Streets of the district: the rotated grid, ring roads and the noded network."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from geodata.synthetic.frame import Frame
from geodata.synthetic.parameters import (ART_U, ART_V, ARTERIAL_NAMES, CRS_EPSG,
                                           LANE_CAPACITY, LOC_U, LOC_V, ROAD_LANES,
                                           ROAD_RANK, ROAD_SPEED, STREET_STEMS)

__all__ = ["make_roads"]


def _grid_lines(f: Frame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Straight and gently curved grid streets over the whole district."""
    r = math.hypot(f.width, f.height) / 2 + 200
    t = np.linspace(-r, r, 121)
    rows = []
    for axis, step, art in (("u", LOC_U, ART_U), ("v", LOC_V, ART_V)):
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


def make_roads(f: Frame, w: dict, hill, sites: dict, rng: np.random.Generator
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


def _network(src: gpd.GeoDataFrame, f: Frame) -> gpd.GeoDataFrame:
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
