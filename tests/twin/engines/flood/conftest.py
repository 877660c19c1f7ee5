"""A hand-made city with known answers for the flood adapter's tests."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from geodata.raster import Raster
from geodata.sensors import SensorTable
from twin.city import City

X0, Y0, CELL = 500000.0, 3360000.0, 10.0
START = pd.Timestamp("2024-07-05T12:00:00+08:00")


def cell_box(r0, c0, r1, c1):
    """Polygon covering cells rows r0..r1-1, cols c0..c1-1."""
    return shapely.box(X0 + c0 * CELL, Y0 - r1 * CELL, X0 + c1 * CELL, Y0 - r0 * CELL)


def sensors(stations: list[dict], readings: pd.DataFrame) -> SensorTable:
    st = gpd.GeoDataFrame(stations, geometry=[shapely.Point(s.pop("x"), s.pop("y"))
                                              for s in stations], crs="EPSG:4547")
    return SensorTable(st.assign(warning=np.nan, alarm=np.nan), readings)


@pytest.fixture
def city() -> City:
    """10 x 10 cells of 10 m, ground 20 m falling 0.1 m per column eastwards;
    building A on cells (1..2, 1..2), a 2 m shed B inside cell (5, 8) by the lake, a
    river on row 9, a road along row 4 crossing a lake cell at (4, 8), parks on cols 0..4."""
    z = (20.0 - 0.1 * np.arange(10))[None, :].repeat(10, axis=0)
    terrain = Raster(z, Affine(CELL, 0, X0, 0, -CELL, Y0), "EPSG:4547")
    buildings = gpd.GeoDataFrame(
        {"id": ["A", "B"], "height": [12.0, 3.0], "base": [19.85, 19.3], "use": ["res", "shed"],
         "population": [40, 0]},
        geometry=[cell_box(1, 1, 3, 3),
                  shapely.box(X0 + 84, Y0 - 56, X0 + 86, Y0 - 54)], crs="EPSG:4547")
    roads = gpd.GeoDataFrame({"id": ["R1"], "class": ["primary"], "lanes": [2]},
                             geometry=[shapely.LineString([(X0 + 5, Y0 - 45), (X0 + 95, Y0 - 45)])],
                             crs="EPSG:4547")
    water = gpd.GeoDataFrame({"id": ["W1", "W2"], "kind": ["river", "lake"], "name": ["Y", "L"]},
                             geometry=[cell_box(9, 0, 10, 10), cell_box(4, 8, 5, 9)],
                             crs="EPSG:4547")
    landuse = gpd.GeoDataFrame({"id": ["L1", "L2"], "class": ["park", "residential"],
                                "manning": [0.1, 0.015]},
                               geometry=[cell_box(0, 0, 10, 5), cell_box(0, 5, 10, 10)],
                               crs="EPSG:4547")
    return City("Tiny", "EPSG:4547", terrain=terrain, buildings=buildings, roads=roads,
                water=water, landuse=landuse, places={"gap": (X0 + 55, Y0 - 85)})
