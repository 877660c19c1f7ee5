"""Terrain of the district: slope, noise, hill, lake and river beds, levee, road beds."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from scipy import ndimage

from geodata.synthetic.frame import (Frame, cell_centres, local_transform, rasterize_mask,
                                      scale_of, smooth_noise)
from geodata.synthetic.parameters import CELL, LAKE_LEVEL, LEVEE_CREST, RIVER_LEVEL, ROAD_WIDTH
from geodata.synthetic.water import bank_y, levee_y, riverfront_y

__all__ = ["natural_terrain", "hill_zone", "final_terrain"]


def natural_terrain(f: Frame, w: dict, rng: np.random.Generator) -> dict:
    """Ground without roads and depressions: slope, noise, hill, lake, river, levee."""
    x, y = cell_centres(f)
    s = scale_of(f)
    yn, xn = y / f.height, x / f.width
    ground = 19.9 + 3.4 * (1 - yn) ** 1.3 + 0.6 * xn
    ground += 0.45 * smooth_noise(x.shape, rng, 18) + 0.06 * smooth_noise(x.shape, rng, 2)

    # the hill (Xishan-like): two lobes and a ridge, by the river on the west
    hx, hy = 0.15 * f.width, 0.72 * f.height
    u, v = (x - hx) / (230 * s), (y - hy) / (160 * s)
    ridge = 0.35 * np.exp(-(((x - hx - 180 * s) / (180 * s)) ** 2 + ((y - hy + 40 * s)
                                                                      / (90 * s)) ** 2))
    hill = 70.0 * (np.exp(-(u ** 2 + v ** 2)) * (1 + 0.08 * smooth_noise(x.shape, rng, 10))
                   + ridge)
    ground = ground + hill

    # the lake: shallow shores, bed ~15 m; the ground around dips to the shore
    lake = rasterize_mask(f, w["lake"])
    d_in = ndimage.distance_transform_edt(lake) * CELL
    d_out = ndimage.distance_transform_edt(~lake) * CELL
    shore = 19.0 + 0.006 * d_out
    reach = np.clip(1 - d_out / (400 * s), 0, 1)
    ground = np.where(lake, LAKE_LEVEL - 0.3 - 3.2 * np.minimum(1, d_in / (150 * s)) ** 0.8,
                      ground - np.maximum(0, ground - shore) * reach)

    # the Yangtze: bed 10 m; berm between bank and levee; the levee
    river = rasterize_mask(f, w["river"])
    d_river = ndimage.distance_transform_edt(river) * CELL
    bank = bank_y(f, x)
    berm = 17.0 + 1.2 * np.clip((bank - y) / 45.0, 0, 1)
    ground = np.where(y > riverfront_y(f, x) + 20, np.minimum(ground, berm + 1.5), ground)
    ground = np.where(river, RIVER_LEVEL - 0.5 - 5.5 * np.minimum(1, d_river / 120.0), ground)
    ground = np.where((~river) & (y > levee_y(f, x)), np.minimum(ground, berm), ground)
    d_levee = np.abs(y - levee_y(f, x)) * np.cos(np.arctan(np.gradient(levee_y(f, x[0]),
                                                                         x[0])))[None, :]
    crest = LEVEE_CREST + 0.3 * np.sin(2 * np.pi * x / (1500.0 + f.width))
    levee = crest - np.maximum(0.0, d_levee - 6.0) / 2.5
    ground = np.maximum(ground, levee)

    # the canal: bed 16 m, 2.5 m below the lake's normal level
    canal = rasterize_mask(f, w["canal"], all_touched=True)
    ground = np.where(canal, 16.0, ground)
    near = ndimage.distance_transform_edt(~canal) * CELL
    ground = np.where(~canal & (near < 12), np.minimum(ground, 18.8 + 0.1 * near), ground)
    return dict(ground=ground, hill=hill)


def hill_zone(f: Frame, hill: np.ndarray) -> shapely.Geometry:
    """Polygon of the hill where it rises over 3 m above the town (no building there)."""
    mask = (hill > 3.0).astype("uint8")
    shapes = [shapely.geometry.shape(g) for g, v in
              rasterio.features.shapes(mask, mask=mask.astype(bool),
                                       transform=local_transform(f)) if v == 1]
    if not shapes:
        return shapely.Polygon()
    zone = shapely.union_all(shapes)
    return shapely.simplify(shapely.buffer(zone, 8.0), 4.0)


def final_terrain(f: Frame, ground: np.ndarray, w: dict, roads: gpd.GeoDataFrame,
                   blocks: gpd.GeoDataFrame) -> np.ndarray:
    """Raise road beds by 0.2 m and sink the low blocks by 1.8 m."""
    water = rasterize_mask(f, [w["river"], w["lake"], w["canal"]], all_touched=True)
    road_area = rasterize_mask(f, shapely.buffer(roads.geometry.values,
                                        roads["class"].map(ROAD_WIDTH).values / 2 - 1))
    low = blocks.loc[blocks["low"], "geometry"].values
    dip = ndimage.gaussian_filter(rasterize_mask(f, shapely.buffer(low, -4.0)).astype(float), 2.0)
    out = ground + np.where(road_area & ~water, 0.2, 0.0) - 1.8 * dip * ~water
    return out.astype("float32")
