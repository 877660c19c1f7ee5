"""City: summary and spatial queries, checked against brute-force geometry."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from geodata.errors import DataError
from geodata.raster import Raster
from twin.city import City

CRS = "EPSG:4547"
X0, Y0 = 585000.0, 3363000.0


@pytest.fixture(scope="module")
def city() -> City:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1000, size=(300, 2)) + (X0, Y0)
    sizes = rng.uniform(5, 20, size=300)
    boxes = shapely.box(xy[:, 0], xy[:, 1], xy[:, 0] + sizes, xy[:, 1] + sizes)
    buildings = gpd.GeoDataFrame(
        {"id": [f"B{i:04d}" for i in range(300)], "height": rng.uniform(3, 90, 300),
         "base": np.full(300, 20.0), "use": rng.choice(["residential", "school"], 300)},
        geometry=boxes, crs=CRS)
    ends = rng.uniform(0, 1000, size=(40, 4)) + (X0, Y0, X0, Y0)
    roads = gpd.GeoDataFrame(
        {"id": [f"R{i:03d}" for i in range(40)], "class": "local", "lanes": 1},
        geometry=shapely.linestrings(ends.reshape(40, 2, 2)), crs=CRS)
    terrain = Raster(np.full((100, 100), 20.0, "float32"), Affine(10, 0, X0, 0, -10, Y0 + 1000), CRS)
    return City(name="test", crs=CRS, terrain=terrain, buildings=buildings, roads=roads,
                places={"centre": (X0 + 500, Y0 + 500)})


def test_geographic_crs_is_refused():
    with pytest.raises(DataError, match="not projected"):
        City(name="x", crs="EPSG:4326")


def test_summary_counts_and_heights(city):
    s = city.summary()
    assert s["buildings"]["count"] == 300
    assert s["roads"]["count"] == 40
    assert s["buildings"]["height_m"]["max"] == pytest.approx(city.buildings["height"].max())
    assert s["extent_m"]["width"] == pytest.approx(1000, abs=25)
    assert s["crs"].endswith("(EPSG:4547)")
    assert s["places"] == ["centre"]


def test_buildings_within_matches_brute_force(city):
    poly = shapely.Polygon([(X0 + 100, Y0 + 100), (X0 + 700, Y0 + 150), (X0 + 400, Y0 + 800)])
    got = set(city.buildings_within(poly)["id"])
    expected = set(city.buildings["id"][shapely.intersects(city.buildings.geometry.values, poly)])
    assert got == expected and len(got) > 10


def test_buildings_near_sorted_and_within_radius(city):
    point = (X0 + 500, Y0 + 500)
    near = city.buildings_near(point, radius=150)
    d = shapely.distance(city.buildings.geometry.values, shapely.Point(point))
    assert set(near["id"]) == set(city.buildings["id"][d <= 150])
    assert np.all(np.diff(near["distance"].to_numpy()) >= 0)


def test_nearest_road_matches_brute_force(city):
    point = (X0 + 333, Y0 + 777)
    road = city.nearest_road(point)
    d = shapely.distance(city.roads.geometry.values, shapely.Point(point))
    assert road["id"] == city.roads["id"].iloc[int(np.argmin(d))]
    assert road["distance"] == pytest.approx(d.min())


def test_building_lookup(city):
    assert city.building("B0007")["id"] == "B0007"
    with pytest.raises(KeyError, match="B9999"):
        city.building("B9999")


def test_no_sensors_gives_empty_query(city):
    assert len(city.sensors_near((X0, Y0), 100)) == 0


def test_city_module_does_not_import_the_manifest_module():
    """Saving lives in twin.manifest (which imports twin.city), never the other way round."""
    import subprocess
    import sys
    code = "import sys, twin.city; print('twin.manifest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
    assert not hasattr(City, "save")
