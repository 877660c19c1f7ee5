"""A hand-made venue: a 40 x 30 m stadium with one gate on a 120 x 120 m square."""
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

X0, Y0, CELL = 500000.0, 3360000.0, 2.0
START = "2024-07-05T22:00:00+08:00"


def venue_city(folder, river_level: float | None = None) -> City:
    """Flat ground at 10 m on 60 x 60 cells of 2 m; the stadium S (use stadium) at
    x 40..80, y 45..75 m from the south-west corner, its gate counter G1 at the middle
    of its south wall; a house H; a 10 m wide river strip along the east edge
    (bed at 8 m) when ``river_level`` is given. The manifest is written to ``folder``."""
    z = np.full((60, 60), 10.0)
    if river_level is not None:
        z[:, -5:] = 8.0
    terrain = Raster(z, Affine(CELL, 0, X0, 0, -CELL, Y0), "EPSG:4547")
    sx0, sy0 = X0 + 40, Y0 - 120 + 45
    stadium = shapely.box(sx0, sy0, sx0 + 40, sy0 + 30)
    house = shapely.box(X0 + 10, Y0 - 30, X0 + 20, Y0 - 20)
    buildings = gpd.GeoDataFrame(
        {"id": ["S", "H"], "name": ["Test Stadium", "House"], "use": ["stadium", "residential"],
         "height": [20.0, 6.0], "base": [10.0, 10.0], "population": [0, 4]},
        geometry=[stadium, house], crs="EPSG:4547")
    stations = gpd.GeoDataFrame(
        {"id": ["G1"], "name": ["South gate"], "kind": ["crowd_counter"], "unit": ["persons"],
         "warning": [100.0], "alarm": [200.0]},
        geometry=[shapely.Point(sx0 + 20, sy0 - 2)], crs="EPSG:4547")
    times = pd.date_range("2024-07-05T13:00Z", "2024-07-05T16:00Z", freq="5min")
    value = np.where((times >= pd.Timestamp("2024-07-05T14:00Z"))
                     & (times < pd.Timestamp("2024-07-05T14:30Z")), 60.0, 10.0)
    readings = pd.DataFrame({"sensor_id": "G1", "time": times, "value": value})
    water = gpd.GeoDataFrame({"id": [], "kind": []}, geometry=[], crs="EPSG:4547")
    if river_level is not None:
        water = gpd.GeoDataFrame({"id": ["W1"], "kind": ["river"]},
                                 geometry=[shapely.box(X0 + 110, Y0 - 120, X0 + 120, Y0)],
                                 crs="EPSG:4547")
    manifest = folder / "city.toml"
    manifest.write_text('name = "venue"\n[terrain]\npath = "terrain.tif"\n')
    terrain.write(folder / "terrain.tif")
    return City("Venue", "EPSG:4547", terrain=terrain, buildings=buildings, water=water,
                sensors=SensorTable(stations, readings),
                places={"venue": (sx0 + 20, sy0 + 15)}, source=str(manifest))


def scenario_text(folder, crowd: str, extra: str = "", duration: str = "6min") -> str:
    return (f'name = "egress"\ncity = "{folder / "city.toml"}"\nstart = "{START}"\n'
            f'duration = "{duration}"\noutput_every = "1min"\n{extra}\n[crowd]\n{crowd}\n')


@pytest.fixture
def venue(tmp_path):
    return venue_city(tmp_path), tmp_path
