"""The synthetic sample district: determinism of the generator, and the committed sample."""
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geodata.raster import read_raster
from geodata.synthetic import generate_district, main
from geodata.storm import chicago_hyetograph, storm_depth

ROAD_WIDTH = {"arterial": 30.0, "collector": 20.0, "local": 12.0}


# -- the generator ---------------------------------------------------------------
@pytest.fixture(scope="module")
def small_pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("districts")
    a = generate_district(root / "a", seed=7, scale=0.25)
    main([str(root / "b"), "--seed", "7", "--scale", "0.25"])
    return a, root / "b"


def test_same_seed_gives_identical_files(small_pair):
    a, b = small_pair
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert {str(p) for p in files} >= {
        "terrain.tif", "buildings.gpkg", "roads.gpkg", "water.gpkg", "landuse.gpkg",
        "sensors/stations.csv", "sensors/readings.csv", "bim/school.ifc", "city.toml",
        "PROVENANCE.md"}
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_small_district_has_the_requested_size(small_pair):
    terrain = read_raster(small_pair[0] / "terrain.tif")
    assert terrain.cell_size == 4.0
    assert terrain.shape == (188, 250)                    # 0.75 km x 1 km


def test_another_seed_gives_another_district(small_pair, tmp_path):
    other = generate_district(tmp_path / "c", seed=8, scale=0.25)
    a = pd.read_csv(small_pair[0] / "sensors" / "readings.csv")
    c = pd.read_csv(other / "sensors" / "readings.csv")
    assert not a.equals(c)


def test_regenerating_keeps_other_files(tmp_path):
    out = tmp_path / "d"
    (out / "scenarios").mkdir(parents=True)
    (out / "scenarios" / "storm.toml").write_text("kept = true\n")
    (out / "city.toml").write_text("stale")
    generate_district(out, scale=0.2)
    assert (out / "scenarios" / "storm.toml").read_text() == "kept = true\n"
    assert tomllib.loads((out / "city.toml").read_text())["crs"] == "EPSG:4547"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temp left


def test_bad_scale_is_refused(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        generate_district(tmp_path / "e", scale=0.0)
    assert not (tmp_path / "e").exists() or not any((tmp_path / "e").iterdir())


# -- the committed sample ----------------------------------------------------------
@pytest.fixture(scope="module")
def sample(sample_city_path) -> Path:
    return sample_city_path.parent


@pytest.fixture(scope="module")
def manifest(sample_city_path) -> dict:
    return tomllib.loads(sample_city_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def buildings(sample):
    return gpd.read_file(sample / "buildings.gpkg", layer="buildings")


@pytest.fixture(scope="module")
def roads(sample):
    return gpd.read_file(sample / "roads.gpkg", layer="roads")


@pytest.fixture(scope="module")
def water(sample):
    return gpd.read_file(sample / "water.gpkg", layer="water")


@pytest.fixture(scope="module")
def terrain(sample):
    return read_raster(sample / "terrain.tif")


@pytest.fixture(scope="module")
def stations(sample):
    return pd.read_csv(sample / "sensors" / "stations.csv")


@pytest.fixture(scope="module")
def readings(sample):
    r = pd.read_csv(sample / "sensors" / "readings.csv")
    r["time"] = pd.to_datetime(r["time"], format="ISO8601")
    return r


def test_manifest_names_every_layer(manifest, sample):
    assert manifest["crs"] == "EPSG:4547" and manifest["timezone"] == "Asia/Shanghai"
    for key in ("terrain", "buildings", "roads", "water", "landuse"):
        assert (sample / manifest[key]["path"]).exists()
    for key in ("stations", "readings"):
        assert (sample / manifest["sensors"][key]).exists()
    assert {"lake", "venue", "station", "hospital"} <= set(manifest["places"])
    assert "synthetic" in (sample / "PROVENANCE.md").read_text().lower()


def test_terrain_extent_and_position(terrain):
    assert terrain.crs.to_epsg() == 4547 and terrain.cell_size == 4.0
    left, bottom, right, top = terrain.bounds
    assert right - left == pytest.approx(4000, rel=0.05)
    assert top - bottom == pytest.approx(3000, rel=0.05)
    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(114.89, 30.39)
    assert left <= x <= right and bottom <= y <= top
    assert np.hypot(x - (left + right) / 2, y - (bottom + top) / 2) < 5000
    z = terrain.data
    assert np.isfinite(z).all() and z.dtype == np.float32
    assert 8 < z.min() < 12 and 60 < z.max() < 110          # river bed, hill top


def test_levee_is_continuous_and_above_lake_and_river(terrain, water):
    z = terrain.data
    north = z[: int(0.4 * z.shape[0])]
    river_rows = np.where(north < 16.0, np.arange(len(north))[:, None], -1).max(axis=0)
    assert (river_rows > 0).all()                        # the river spans every column
    rows = river_rows[None, :] + np.arange(1, 41)[:, None]          # 160 m south of it
    crest = np.take_along_axis(z, rows, axis=0).max(axis=0)
    assert crest.min() > 29.0 and crest.max() < 30.5
    river = water[water["kind"] == "river"].geometry.iloc[0]
    xx, yy = np.meshgrid(terrain.x, terrain.y)
    lake = water[water["kind"] == "lake"].geometry.iloc[0]
    inside = z[shapely.contains_xy(shapely.buffer(lake, -4.0), xx, yy)]
    assert inside.size > 10_000
    assert np.all(inside < 18.5) and np.all(inside > 14.0)
    in_river = z[shapely.contains_xy(shapely.buffer(river, -4.0), xx, yy)]
    assert np.all(in_river < 16.0) and in_river.min() < 11.0
    # the town lies between the normal lake level and the 2020 flood stage
    town = terrain.sample(*np.array([[585500.0, 3362400.0], [584800.0, 3364000.0]]).T)
    assert np.all((town > 19.0) & (town < 27.0))


def test_buildings_count_validity_and_shapes(buildings):
    assert len(buildings) >= 3000
    assert buildings["id"].is_unique and buildings["id"].str.fullmatch(r"B\d{6}").all()
    assert buildings.crs.to_epsg() == 4547
    geom = buildings.geometry.values
    assert (shapely.get_type_id(geom) == 3).all() and shapely.is_valid(geom).all()
    vertices = shapely.get_num_coordinates(shapely.get_exterior_ring(geom)) - 1
    with_holes = shapely.get_num_interior_rings(geom) > 0
    assert ((vertices != 4) | with_holes).mean() > 0.2
    assert with_holes.sum() >= 10
    assert 30 < shapely.area(geom).min() and shapely.area(geom).max() < 30000
    i, j = shapely.STRtree(geom).query(geom, predicate="intersects")
    assert (i == j).all()                                # no two buildings touch


def test_buildings_attributes(buildings):
    h, n = buildings["height"], buildings["storeys"]
    missing = h.isna()
    assert 1 <= missing.sum() <= 50 and (n[missing] >= 1).all()
    assert n.notna().all()
    assert h[~missing].between(3, 160).all()
    tall = buildings[h > 60]
    assert len(tall) >= 50 and tall["height"].max() <= 155
    ratio = (h / n)[~missing]
    assert ratio.between(2.5, 16).all() and ratio.median() == pytest.approx(3.2, abs=0.5)
    uses = set(buildings["use"])
    assert {"residential", "commercial", "office", "industrial", "school", "hospital",
            "stadium", "station"} <= uses
    named = buildings[buildings["name"].fillna("") != ""]
    assert (named["use"] == "school").sum() >= 2 and len(named) >= 6
    assert buildings["population"].min() >= 0
    res = buildings[buildings["use"] == "residential"]
    assert 20_000 < res["population"].sum() < 400_000
    stadium = buildings[buildings["use"] == "stadium"].geometry.iloc[0]
    assert stadium.area > 10_000                      # a big oval


def test_buildings_avoid_roads_water_levee_and_hill(buildings, roads, water, terrain):
    road_area = shapely.union_all(shapely.buffer(
        roads.geometry.values, roads["class"].map(ROAD_WIDTH).values / 2 - 0.01))
    assert not shapely.intersects(buildings.geometry.values, road_area).any()
    assert not shapely.intersects(buildings.geometry.values,
                                  shapely.union_all(water.geometry.values)).any()
    xy = shapely.get_coordinates(shapely.centroid(buildings.geometry.values))
    ground = terrain.sample(xy[:, 0], xy[:, 1])
    assert ground.max() < 27.0                        # nothing on the levee or the hill
    rows, cols = terrain.index(xy[:, 0], xy[:, 1])
    slope = terrain.slope()[rows, cols]                    # degrees
    assert np.percentile(slope, 99) < 5.0 and slope.max() < 12.0


def test_low_blocks_are_depressions_with_buildings(buildings, terrain, manifest):
    p = manifest["places"]["low_block"]
    z0 = float(terrain.sample(p["x"], p["y"]))
    xx, yy = np.meshgrid(terrain.x, terrain.y)
    ring = np.hypot(xx - p["x"], yy - p["y"])
    around = terrain.data[(ring > 90) & (ring < 150)]
    assert np.median(around) > z0 + 1.0
    near = shapely.dwithin(buildings.geometry.values, shapely.Point(p["x"], p["y"]), 40.0)
    assert near.sum() >= 1


def test_roads_form_a_routable_network(roads):
    assert roads["id"].is_unique and len(roads) > 300
    assert set(roads["class"]) == {"arterial", "collector", "local"}
    assert (shapely.get_type_id(roads.geometry.values) == 1).all()
    assert roads["oneway"].any() and not roads["oneway"].all()
    assert set(roads.loc[roads["oneway"], "class"]) == {"local"}
    assert (roads["lanes"] >= 1).all() and roads["speed_kmh"].between(20, 80).all()
    assert (roads["capacity_vph"] >= 500).all()
    a = shapely.get_coordinates(shapely.get_point(roads.geometry.values, 0))
    b = shapely.get_coordinates(shapely.get_point(roads.geometry.values, -1))
    nodes, inv = np.unique(np.vstack([a, b]), axis=0, return_inverse=True)
    inv = inv.ravel()
    n = len(roads)
    graph = coo_matrix((np.ones(n), (inv[:n], inv[n:])), shape=(len(nodes), len(nodes)))
    _, label = connected_components(graph, directed=False)
    biggest = np.bincount(label[inv[:n]]).max()
    assert biggest >= 0.95 * n
    # pieces end at junctions: no piece crosses another in its interior
    tree = shapely.STRtree(roads.geometry.values)
    i, j = tree.query(roads.geometry.values, predicate="crosses")
    assert len(i) == 0
    assert {"Binjiang Avenue", "Yanglan Lake Ring Road"} <= set(roads["name"])


def test_water_and_landuse(sample, water, terrain):
    assert list(water["kind"]) == ["river", "lake", "canal"]
    assert water.geometry.is_valid.all()
    landuse = gpd.read_file(sample / "landuse.gpkg", layer="landuse")
    assert landuse.geometry.is_valid.all()
    left, bottom, right, top = terrain.bounds
    box = (right - left) * (top - bottom)
    assert landuse.area.sum() == pytest.approx(box, rel=0.005)
    assert shapely.union_all(landuse.geometry.values).area == pytest.approx(box, rel=0.005)
    n = {"road": 0.015, "residential": 0.06, "park": 0.035, "forest": 0.10, "water": 0.025,
         "industrial": 0.05}
    for cls, value in n.items():
        assert (landuse.loc[landuse["class"] == cls, "manning"] == value).all()
        assert (landuse["class"] == cls).any()


def test_stations(stations, water):
    assert len(stations) >= 30 and stations["id"].is_unique
    kinds = stations["kind"].value_counts()
    assert kinds["rain_gauge"] >= 4 and kinds["traffic_counter"] >= 12
    assert kinds["crowd_counter"] >= 4 and kinds["water_level"] >= 3
    units = stations.groupby("kind")["unit"].first()
    assert units.to_dict() == {"rain_gauge": "mm/h", "water_level": "m",
                               "traffic_counter": "veh/h", "crowd_counter": "persons"}
    assert (stations["warning"] < stations["alarm"]).all()
    river = stations[stations["name"].str.contains("Yangtze")]
    assert (river["warning"] == 25).all() and (river["alarm"] == 27).all()
    lake_gauges = stations[stations["name"].str.contains("Lake")]
    assert (lake_gauges["warning"] == 19.5).all() and (lake_gauges["alarm"] == 20.5).all()


def test_readings_cover_72_hours_every_5_minutes(readings, stations, sample):
    text = (sample / "sensors" / "readings.csv").read_text().splitlines()[1]
    assert text.split(",")[1].endswith("+08:00")
    assert set(readings["sensor_id"]) == set(stations["id"])
    span = readings["time"].max() - readings["time"].min()
    assert span >= pd.Timedelta(hours=71)
    steps = readings.groupby("sensor_id")["time"].diff().dropna()
    assert steps.min() == pd.Timedelta(minutes=5)
    assert (steps == pd.Timedelta(minutes=5)).mean() > 0.99
    assert readings["value"].notna().all()


def test_storm_in_rain_gauges_follows_the_design_storm(readings, stations):
    rain = readings[readings["sensor_id"].str.startswith("RG")]
    wide = rain.pivot(index="time", columns="sensor_id", values="value")
    assert (wide.max() > 100).all() and (wide.min() >= 0).all()
    peak_times = wide.idxmax()
    assert (peak_times.max() - peak_times.min()) <= pd.Timedelta(minutes=30)
    depth = wide.fillna(0).sum() * 5 / 60
    full = wide.loc[:, wide.isna().sum() <= 3].interpolate(limit_area="inside").fillna(0)
    assert full.shape[1] >= 4
    design = float(storm_depth(180, 50))
    assert full.sum().mean() * 5 / 60 == pytest.approx(design, rel=0.25)
    assert depth.max() < 1.3 * design
    _, hyeto = chicago_hyetograph(50, 3 * 3600, 300)
    gauge = full.iloc[:, 0].to_numpy()
    k = int(np.argmax(gauge)) - int(np.argmax(hyeto))
    assert np.corrcoef(gauge[k:k + len(hyeto)], hyeto)[0, 1] > 0.95


def test_levels_respond_to_the_storm(readings):
    wide = readings.pivot(index="time", columns="sensor_id", values="value")
    storm = wide.filter(like="RG").mean(axis=1).idxmax()
    lake = wide["WL02"].dropna()
    before = lake[lake.index < storm - pd.Timedelta(hours=2)]
    assert before.between(18.2, 18.8).all()
    assert lake.max() > before.mean() + 0.3 and lake.idxmax() > storm
    river = wide["WL01"].dropna()
    assert river.between(24.0, 26.5).all() and river.iloc[-12:].mean() > river.iloc[:12].mean()
    traffic = wide.filter(like="TC").sum(axis=1)
    assert traffic.loc[storm] < 0.8 * traffic.shift(freq=pd.Timedelta(days=-1)).get(
        storm, np.inf) or traffic.loc[storm] < traffic.max() * 0.6
    venue = wide["CC01"]
    assert venue.max() > 10 * venue.median()


def test_bim_school(sample, manifest, buildings):
    ifcopenshell = pytest.importorskip("ifcopenshell")
    entry = manifest["bim"][0]
    model = ifcopenshell.open(str(sample / entry["path"]))
    for cls, least in (("IfcProject", 1), ("IfcSite", 1), ("IfcBuilding", 1),
                       ("IfcBuildingStorey", 2), ("IfcWall", 8), ("IfcSlab", 2),
                       ("IfcRoof", 1), ("IfcWindow", 10), ("IfcDoor", 1)):
        assert len(model.by_type(cls)) >= least, cls
    conv = model.by_type("IfcMapConversion")[0]
    p = entry["placement"]
    assert (conv.Eastings, conv.Northings, conv.OrthogonalHeight) == pytest.approx(
        (p["x"], p["y"], p["z"]))
    assert np.degrees(np.arctan2(conv.XAxisOrdinate, conv.XAxisAbscissa)) == pytest.approx(
        p["rotation_deg"])
    assert model.by_type("IfcProjectedCRS")[0].Name == "EPSG:4547"
    school = buildings.set_index("id").loc[entry["building"]]
    assert school["use"] == "school"
    c = school.geometry.centroid
    assert np.hypot(c.x - p["x"], c.y - p["y"]) < 0.5
    assert school.geometry.area == pytest.approx(64 * 18, rel=0.01)


def test_python_dash_m_runs_the_package(tmp_path):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "geodata.synthetic", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "--seed" in out.stdout, out.stderr
