"""Land of the district: landmark sites and the zoned blocks between streets."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geodata.synthetic.frame import Frame, scale_of
from geodata.synthetic.parameters import ART_U, ART_V, ROAD_WIDTH

__all__ = ["landmark_sites", "make_blocks"]

_SITES = {  # name: (x, y as fractions of the district, site size in m); between arterials
    "stadium": (0.70, 0.23, (420.0, 330.0)),
    "hospital": (0.33, 0.61, (240.0, 200.0)),
    "school": (0.23, 0.26, (200.0, 150.0)),
    "middle_school": (0.40, 0.15, (200.0, 160.0)),
    "station": (0.57, 0.03, (300.0, 150.0)),
    "civic": (0.48, 0.66, (200.0, 160.0)),
    "mall": (0.77, 0.74, (220.0, 170.0)),
}


def landmark_sites(f: Frame) -> dict:
    """Landmark sites: rectangles aligned with the grid, between arterials when they fit."""
    s = scale_of(f)
    out = {}
    for name, (fx, fy, (su, sv)) in _SITES.items():
        su, sv = su * s, sv * s
        uv = f.to_grid(np.array([fx * f.width, fy * f.height]))
        if su < ART_U - 60 and sv < ART_V - 60 and s >= 0.75:
            uv = np.round(uv / [ART_U, ART_V]) * [ART_U, ART_V]   # between arterials
        corners = uv + np.array([[-su, -sv], [su, -sv], [su, sv], [-su, sv]]) / 2
        out[name] = dict(centre_uv=uv, size=(su, sv),
                         polygon=shapely.Polygon(f.from_grid(corners)))
    return out


def make_blocks(f: Frame, w: dict, hill, roads: gpd.GeoDataFrame, sites: dict,
            rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Land between streets, with a zone each and a flag for the low-lying blocks."""
    s = scale_of(f)
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
