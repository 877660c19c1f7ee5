"""Water of the district: the Yangtze bank, the levee line, the lake and the canal."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from geodata.synthetic.frame import Frame
from geodata.synthetic.parameters import CANAL_LEVEL, LAKE_LEVEL, RIVER_LEVEL

__all__ = ["bank_y", "levee_y", "riverfront_y", "water_shapes", "water_layer"]


def bank_y(f: Frame, x: np.ndarray) -> np.ndarray:
    """Northing (local) of the Yangtze's south bank at normal water level."""
    w = f.width
    return f.height * 0.87 + 0.018 * f.height * np.sin(2 * np.pi * x / w * 1.2 + 0.6) \
        + 0.008 * f.height * np.sin(2 * np.pi * x / w * 3.1 + 2.0)


def levee_y(f: Frame, x: np.ndarray) -> np.ndarray:
    """Northing (local) of the levee crest line."""
    return bank_y(f, x) - 45.0


def riverfront_y(f: Frame, x: np.ndarray) -> np.ndarray:
    """Northing (local) of the riverfront road."""
    return levee_y(f, x) - 80.0


def water_shapes(f: Frame, rng: np.random.Generator) -> dict:
    """River, levee and riverfront lines, riverside strip, lake, canal and pump site."""
    xs = np.linspace(-50, f.width + 50, 201)
    bank = np.column_stack([xs, bank_y(f, xs)])
    river = shapely.Polygon(np.vstack([bank, [[f.width + 50, f.height + 50],
                                              [-50, f.height + 50]]]))
    river = shapely.intersection(river, f.box())
    levee = shapely.LineString(np.column_stack([xs, levee_y(f, xs)]))
    front = shapely.LineString(np.column_stack([xs, riverfront_y(f, xs)]))
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
    end = np.array([top_x, levee_y(f, np.array([top_x]))[0] - 45.0])
    mid = np.array([0.63 * f.width, (start[1] + end[1]) / 2 + 0.02 * f.height])
    canal_line = shapely.LineString([start, mid, end])
    canal = shapely.difference(shapely.buffer(canal_line, 9.0, cap_style="flat"), lake)
    canal = max(shapely.get_parts(canal), key=lambda g: g.area)
    return dict(river=river, levee=levee, front=front, riverside=riverside, lake=lake,
                lake_centre=lake_c, canal=canal, canal_line=canal_line, pump=end)


def water_layer(w: dict) -> gpd.GeoDataFrame:
    """The water layer: river, lake and canal with their normal levels."""
    return gpd.GeoDataFrame({"id": ["W001", "W002", "W003"],
                             "kind": ["river", "lake", "canal"],
                             "name": ["Yangtze River (Chang Jiang)", "Yanglan Lake",
                                      "Yanglan Drainage Canal"],
                             "level": [RIVER_LEVEL, LAKE_LEVEL, CANAL_LEVEL]},
                            geometry=[w["river"], w["lake"], w["canal"]])
