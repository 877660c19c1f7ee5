"""Tests for geodata.vector: reading, checking and attributing vector layers."""
from __future__ import annotations

import contextlib
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Transformer

from geodata.errors import DataError, DataWarning
from geodata.raster import Raster
from geodata.vector import (MANNING, ROAD_DEFAULTS, check_overlap, read_buildings,
                            read_landuse, read_layer, read_roads, read_water)

X0, Y0 = 500_000.0, 3_360_000.0  # EPSG:4547 near Ezhou


def box(x: float, y: float, size: float = 10.0):
    return shapely.box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def line(*xy):
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in xy])


def write(tmp_path, filename: str, geometry, /, *, crs=4547, layer=None, **columns):
    path = tmp_path / filename
    gdf = gpd.GeoDataFrame(columns, geometry=list(geometry), crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyogrio: "crs was not provided"
        gdf.to_file(path, layer=layer)
    return path


@contextlib.contextmanager
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        yield


# -- read_layer: files and layers --------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.gpkg: file not found"):
        read_layer(tmp_path / "nope.gpkg", crs=4547)


@pytest.mark.filterwarnings("ignore:GPKG:RuntimeWarning")
def test_corrupt_file(tmp_path):
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x13garbage" * 200)
    with pytest.raises(DataError, match="broken.gpkg: cannot be read"):
        read_layer(path, crs=4547)


def test_layer_without_crs(tmp_path):
    path = write(tmp_path, "nocrs.gpkg", [box(0, 0)], crs=None, id=["a"])
    with pytest.raises(DataError, match="layer 'nocrs': layer has no CRS. Fix: assign one"):
        read_layer(path, crs=4547)


def test_empty_layer(tmp_path):
    path = write(tmp_path, "empty.gpkg", [], id=[])
    with pytest.raises(DataError, match="layer is empty: no buildings"):
        read_layer(path, crs=4547, kind="buildings")


def test_layer_names(tmp_path):
    path = write(tmp_path, "two.gpkg", [box(0, 0)], layer="houses", id=["a"])
    write(tmp_path, "two.gpkg", [box(0, 0)], layer="sheds", id=["s"])
    with pytest.raises(DataError, match="holds 2 layers \\(houses, sheds\\)"):
        read_layer(path, crs=4547)
    with pytest.raises(DataError, match="has no layer 'barns'"):
        read_layer(path, crs=4547, layer="barns")
    assert read_layer(path, crs=4547, layer="sheds")["id"].tolist() == ["s"]


@pytest.mark.parametrize("name", ["layer.geojson", "layer.shp", "layer.gpkg"])
def test_any_ogr_format(tmp_path, name):
    path = write(tmp_path, name, [box(0, 0), box(20, 0)], id=["a", "b"])
    gdf = read_layer(path, crs=4547)
    assert gdf["id"].tolist() == ["a", "b"]
    assert gdf.area.tolist() == pytest.approx([100.0, 100.0])


# -- read_layer: reprojection, ids, geometries -------------------------------

def test_reprojection_matches_pyproj(tmp_path):
    lonlat = [(114.89, 30.39), (114.95, 30.41)]
    path = write(tmp_path, "pts.geojson", [shapely.Point(p) for p in lonlat], crs=4326,
                 id=["p1", "p2"])
    gdf = read_layer(path, crs="EPSG:4547", geometry=("Point",))
    assert gdf.crs.to_epsg() == 4547
    x, y = Transformer.from_crs(4326, 4547, always_xy=True).transform(*zip(*lonlat))
    np.testing.assert_allclose(gdf.geometry.x, x, atol=1e-3)
    np.testing.assert_allclose(gdf.geometry.y, y, atol=1e-3)
    # and back again
    back = read_layer(_save(gdf, tmp_path / "pts4547.gpkg"), crs=4326, geometry=("Point",))
    np.testing.assert_allclose(np.c_[back.geometry.x, back.geometry.y], lonlat, atol=1e-8)


def _save(gdf, path):
    gdf.to_file(path)
    return path


def test_generated_ids(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], name=["x", "y"])
    gdf = read_layer(path, crs=4547, id_prefix="b")
    assert gdf["id"].tolist() == ["b000000", "b000001"]
    assert gdf["name"].tolist() == ["x", "y"]


def test_numeric_ids_become_text(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=[7, 8])
    assert read_layer(path, crs=4547)["id"].tolist() == ["7", "8"]


def test_duplicate_ids(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0), box(40, 0)], id=["a", "b", "a"])
    with pytest.raises(DataError, match="duplicate ids: a"):
        read_layer(path, crs=4547)


def test_missing_ids(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=["a", None])
    with pytest.raises(DataError, match="1 features have no id \\(rows 1\\)"):
        read_layer(path, crs=4547)


def test_multipart_is_split(tmp_path):
    multi = shapely.MultiPolygon([box(0, 0), box(20, 0, 5)])
    path = write(tmp_path, "b.gpkg", [multi, box(40, 0)], id=["m", "s"], name=["two", "one"])
    gdf = read_layer(path, crs=4547)
    assert gdf["id"].tolist() == ["m-0", "m-1", "s"]
    assert gdf["name"].tolist() == ["two", "two", "one"]
    assert (gdf.geom_type == "Polygon").all()
    assert gdf.area.tolist() == pytest.approx([100.0, 25.0, 100.0])


def test_wrong_geometry_type_lists_ids(tmp_path):
    path = write(tmp_path, "roads.gpkg", [line((0, 0), (10, 0)), box(0, 0), box(20, 0)],
                 id=["r1", "bad1", "bad2"])
    with pytest.raises(DataError, match="2 features are Polygon, not LineString: ids bad1, bad2"):
        read_layer(path, crs=4547, geometry=("LineString",))


def test_self_intersecting_polygon_is_repaired(tmp_path):
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    path = write(tmp_path, "b.gpkg", [bowtie, box(20, 0)], id=["tie", "ok"])
    with pytest.warns(DataWarning, match="repaired 1 invalid polygons.*: tie"):
        gdf = read_layer(path, crs=4547)
    assert shapely.is_valid(gdf.geometry.values).all()
    tie = gdf[gdf["id"].str.startswith("tie")]
    assert tie["id"].tolist() == ["tie-0", "tie-1"]
    assert tie.area.sum() == pytest.approx(50.0)  # two triangles of 25 m2


def test_null_and_empty_geometries_dropped(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), None, shapely.Polygon()], id=["a", "b", "c"])
    with pytest.warns(DataWarning, match="dropped 2 features without geometry: b, c"):
        gdf = read_layer(path, crs=4547)
    assert gdf["id"].tolist() == ["a"]


def test_all_geometries_null(tmp_path):
    path = write(tmp_path, "b.gpkg", [None], id=["a"])
    with pytest.raises(DataError, match="b.gpkg: layer .b.: none of the features has a geometry"):
        read_layer(path, crs=4547)


# -- buildings -----------------------------------------------------------------

def test_height_fallback_order(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0), box(40, 0)],
                 id=["h", "s", "d"], height=[12.5, None, None], storeys=[5, 4, None])
    with pytest.warns(DataWarning, match="1 buildings have no height.*default 9 m: d"):
        b = read_buildings(path, crs=4547, storey_height=3.5)
    assert b["height"].tolist() == [12.5, 14.0, 9.0]
    assert b["height_source"].tolist() == ["attribute", "storeys", "default"]
    assert b["storeys"].tolist() == [5, 4, 3]


def test_height_from_surface_models(tmp_path):
    # terrain: plane rising 1 m per 100 m to the east; roofs 12 m above it
    cell = 1.0
    transform = Affine(cell, 0, X0 - 10, 0, -cell, Y0 + 30)
    x = X0 - 10 + (np.arange(80) + 0.5) * cell
    ground = np.tile(5.0 + 0.01 * (x - X0), (40, 1)).astype("float32")
    dtm = Raster(ground, transform, 4547)
    surface = ground.copy()
    surface[10:20, 10:20] += 12.0  # footprint of building "roof": x 0..10, y 10..20
    surface[15, 12] += 30.0  # an antenna: one cell, must not set the height
    dsm = Raster(surface, transform, 4547)
    path = write(tmp_path, "b.gpkg", [box(0, 10), box(40, 0), box(200, 200)],
                 id=["roof", "flat", "outside"], height=[None, None, None])
    with pytest.warns(DataWarning) as record:
        b = read_buildings(path, crs=4547, dsm=dsm, dtm=dtm)
    messages = [str(w.message) for w in record]
    assert any("2 buildings have no height" in m and m.endswith(": flat, outside")
               for m in messages)
    assert any("1 buildings have no terrain" in m and m.endswith(": outside") for m in messages)
    assert b["height_source"].tolist() == ["dsm", "default", "default"]
    assert b["height"].tolist() == pytest.approx([12.0, 9.0, 9.0], abs=1e-4)
    # base: median of the terrain at the footprint's corners and centre
    assert b["base"].iloc[0] == pytest.approx(5.05, abs=0.011)
    assert b["base"].iloc[1] == pytest.approx(5.45, abs=0.011)


def test_height_from_surface_models_small_footprint(tmp_path):
    transform = Affine(2.0, 0, X0, 0, -2.0, Y0 + 20)
    dtm = Raster(np.full((10, 10), 3.0, "float32"), transform, 4547)
    surface = np.full((10, 10), 3.0, "float32")
    surface[5, 5] = 9.0  # cell x 10..12, y 8..10
    dsm = Raster(surface, transform, 4547)
    # a 0.5 m kiosk inside that cell, away from its centre: no cell centre inside
    path = write(tmp_path, "b.gpkg", [box(10.1, 8.1, 0.5)], id=["kiosk"])
    b = read_buildings(path, crs=4547, dsm=dsm, dtm=dtm)
    assert b["height"].tolist() == [6.0] and b["height_source"].tolist() == ["dsm"]
    assert b["base"].tolist() == [3.0]


@pytest.mark.parametrize(("value", "message"), [
    (-3.0, "height must be above 0 and at most 1000 m.*bad: -3"),
    (0.0, "height must be above 0"),
    (1500.0, "height must be above 0 and at most 1000 m.*bad: 1500"),
])
def test_bad_heights_name_the_ids(tmp_path, value, message):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=["good", "bad"],
                 height=[10.0, value])
    with pytest.raises(DataError, match=message) as info:
        read_buildings(path, crs=4547)
    assert info.value.feature == "bad"
    assert "b.gpkg" in str(info.value)


def test_text_height_is_an_error(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0), box(40, 0)], id=["a", "b", "c"],
                 height=["10", "tall", ""])
    with pytest.raises(DataError, match="height is not a number for 1 features \\(b: 'tall'\\)"):
        read_buildings(path, crs=4547)


def test_text_and_bad_storeys(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0)], id=["a"], storeys=["three"])
    with pytest.raises(DataError, match="storeys is not a number"):
        read_buildings(path, crs=4547)
    path = write(tmp_path, "c.gpkg", [box(0, 0)], id=["a"], storeys=[-2])
    with pytest.raises(DataError, match="storeys must be between 1 and 300"):
        read_buildings(path, crs=4547)


def test_custom_height_column_and_use(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=["a", "b"],
                 h_roof=[21.0, 6.0], use=[" Residential", None], population=[40, 3])
    with no_warnings():
        b = read_buildings(path, crs=4547, height="h_roof")
    assert b.columns.tolist()[:6] == ["id", "height", "base", "use", "storeys", "height_source"]
    assert b["height"].tolist() == [21.0, 6.0]
    assert b["use"].tolist() == ["residential", "unknown"]
    assert b["population"].tolist() == [40, 3]
    assert b["base"].tolist() == [0.0, 0.0]
    assert "h_roof" not in b


def test_base_column_without_dtm(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=["a", "b"],
                 height=[9.0, 9.0], base=[21.5, None])
    b = read_buildings(path, crs=4547)
    assert b["base"].tolist() == [21.5, 0.0]


def test_base_outside_dtm_warns(tmp_path):
    dtm = Raster(np.full((10, 10), 4.0, "float32"), Affine(1, 0, X0, 0, -1, Y0 + 10), 4547)
    path = write(tmp_path, "b.gpkg", [box(0, 0, 5), box(500, 500)], id=["in", "far"],
                 height=[9.0, 9.0])
    with pytest.warns(DataWarning, match="1 buildings have no terrain under them.*: far"):
        b = read_buildings(path, crs=4547, dtm=dtm)
    assert b["base"].tolist() == [4.0, 0.0]


def test_buildings_from_wgs84_with_dtm_in_city_crs(tmp_path):
    """Footprints in lon/lat are reprojected before sampling the terrain."""
    to_geo = Transformer.from_crs(4547, 4326, always_xy=True)
    square = shapely.transform(box(102, 102), lambda xy: np.c_[to_geo.transform(*xy.T)])
    path = write(tmp_path, "b.geojson", [square], crs=4326, id=["a"], height=[10.0])
    transform = Affine(5, 0, X0, 0, -5, Y0 + 200)
    rows = np.arange(40)[:, None]
    dtm = Raster(np.broadcast_to(rows * 1.0, (40, 40)), transform, 4547)  # z = row index
    b = read_buildings(path, crs=4547, dtm=dtm)
    assert b.area.iloc[0] == pytest.approx(100.0, rel=1e-3)
    assert b["base"].iloc[0] == 18.0  # median of rows 17 (north), 18 (centre), 19 (south)


# -- roads -----------------------------------------------------------------------

def test_road_defaults_by_class(tmp_path):
    geoms = [line((0, 0), (100, 0)), line((0, 0), (0, 100)), line((0, 0), (50, 50)),
             line((0, 0), (-50, 0))]
    path = write(tmp_path, "roads.gpkg", geoms, id=["a", "c", "l", "x"],
                 **{"class": ["Arterial", "collector", "local", None]},
                 lanes=[None, 1, None, None], name=["Wuchang Ave", None, "Lane 3", None])
    with pytest.warns(DataWarning, match="4 roads lack lanes.*: a, c, l, x"):
        roads = read_roads(path, crs=4547)
    assert roads.columns.tolist()[:7] == ["id", "name", "class", "lanes", "speed_kmh",
                                          "capacity_vph", "oneway"]
    assert roads["class"].tolist() == ["arterial", "collector", "local", "other"]
    assert roads["lanes"].tolist() == [3, 1, 1, 1]
    assert roads["speed_kmh"].tolist() == [60.0, 50.0, 30.0, 30.0]
    assert roads["capacity_vph"].tolist() == [3 * 1800.0, 1 * 1500.0, 900.0, 900.0]
    assert roads["name"].tolist() == ["Wuchang Ave", "", "Lane 3", ""]
    assert not roads["oneway"].any()
    assert (roads.geom_type == "LineString").all()


def test_roads_with_all_attributes_need_no_defaults(tmp_path):
    path = write(tmp_path, "roads.gpkg", [line((0, 0), (100, 0))], id=["a"],
                 highway=["primary"], lanes=[2], speed_kmh=[70], capacity_vph=[3000],
                 oneway=["yes"])
    with no_warnings():
        roads = read_roads(path, crs=4547)
    row = roads.iloc[0]
    assert (row["class"], row["lanes"], row["speed_kmh"], row["capacity_vph"], row["oneway"]) == \
        ("arterial", 2, 70.0, 3000.0, True)


def test_osm_highway_and_unknown_class(tmp_path):
    path = write(tmp_path, "roads.gpkg", [line((0, 0), (1, 0))] * 3, id=["s", "r", "f"],
                 highway=["secondary", "residential", "footway"])
    with pytest.warns(DataWarning) as record:
        roads = read_roads(path, crs=4547)
    assert roads["class"].tolist() == ["collector", "local", "other"]
    assert any("unknown class (footway)" in str(w.message) and str(w.message).endswith(": f")
               for w in record)


def test_oneway_values_and_reverse(tmp_path):
    path = write(tmp_path, "roads.gpkg", [line((0, 0), (10, 0))] * 4, id=list("abcd"),
                 oneway=["yes", "no", "-1", None], lanes=[1] * 4, speed_kmh=[30] * 4,
                 capacity_vph=[900] * 4)
    roads = read_roads(path, crs=4547)
    assert roads["oneway"].tolist() == [True, False, True, False]
    starts = shapely.get_coordinates(shapely.get_point(roads.geometry.values, 0))[:, 0] - X0
    assert starts.tolist() == [0.0, 0.0, 10.0, 0.0]


def test_bad_oneway(tmp_path):
    path = write(tmp_path, "roads.gpkg", [line((0, 0), (10, 0))] * 2, id=["a", "b"],
                 oneway=["yes", "sometimes"], lanes=[1, 1], speed_kmh=[30, 30],
                 capacity_vph=[900, 900])
    with pytest.raises(DataError, match="oneway must be.*got sometimes") as info:
        read_roads(path, crs=4547)
    assert info.value.feature == "b"


def test_bad_lanes_and_speed(tmp_path):
    path = write(tmp_path, "roads.gpkg", [line((0, 0), (10, 0))], id=["a"], lanes=[0])
    with pytest.raises(DataError, match="lanes must be between 1 and 12"):
        read_roads(path, crs=4547)
    path = write(tmp_path, "r2.gpkg", [line((0, 0), (10, 0))], id=["a"], speed_kmh=["fast"])
    with pytest.raises(DataError, match="speed_kmh is not a number"):
        read_roads(path, crs=4547)


def test_roads_that_are_polygons(tmp_path):
    path = write(tmp_path, "roads.gpkg", [box(0, 0)], id=["plaza"])
    with pytest.raises(DataError, match="are Polygon, not LineString: ids plaza"):
        read_roads(path, crs=4547)


def test_road_defaults_table_is_consistent():
    lanes = [ROAD_DEFAULTS[c]["lanes"] for c in ("arterial", "collector", "local")]
    speeds = [ROAD_DEFAULTS[c]["speed_kmh"] for c in ("arterial", "collector", "local")]
    assert lanes == sorted(lanes, reverse=True) and speeds == sorted(speeds, reverse=True)


# -- water and land use --------------------------------------------------------------

def test_water_kinds(tmp_path):
    path = write(tmp_path, "water.gpkg", [box(0, 0), box(20, 0), box(40, 0)],
                 id=["y", "r", "n"], water=["Reservoir", "river", None],
                 name=["Yanglan Lake", None, None])
    with pytest.warns(DataWarning, match="1 water bodies have no kind; taken as lakes: n"):
        water = read_water(path, crs=4547)
    assert water.columns.tolist()[:3] == ["id", "kind", "name"]
    assert water["kind"].tolist() == ["lake", "river", "lake"]
    assert water["name"].tolist() == ["Yanglan Lake", "", ""]


def test_unknown_water_kind(tmp_path):
    path = write(tmp_path, "water.gpkg", [box(0, 0)], id=["x"], kind=["swamp"])
    with pytest.raises(DataError, match="unknown water kind swamp.*Fix: use river, lake"):
        read_water(path, crs=4547)


def test_landuse_manning(tmp_path):
    path = write(tmp_path, "lu.gpkg", [box(0, 0), box(20, 0), box(40, 0), box(60, 0)],
                 id=["p", "f", "m", "q"], landuse=["Park", "forest", "residential", "quarry"],
                 manning=[None, None, 0.08, None])
    with pytest.warns(DataWarning, match="1 land-use areas have an unknown.*: q"):
        lu = read_landuse(path, crs=4547)
    assert lu["class"].tolist() == ["park", "forest", "residential", "other"]
    assert lu["manning"].tolist() == [0.035, 0.10, 0.08, 0.05]
    # typical Chow (1959) ranges
    assert 0.013 <= MANNING["road"] <= 0.016 and 0.025 <= MANNING["grass"] <= 0.035


def test_landuse_bad_manning(tmp_path):
    path = write(tmp_path, "lu.gpkg", [box(0, 0)], id=["a"], manning=[3.0])
    with pytest.raises(DataError, match="manning must be between 0.005 and 1"):
        read_landuse(path, crs=4547)


# -- overlap with the terrain ----------------------------------------------------

def test_check_overlap():
    terrain = (X0, Y0, X0 + 100, Y0 + 100)
    gdf = gpd.GeoDataFrame({"id": ["in", "edge", "out"]},
                           geometry=[box(10, 10), box(95, 10), box(300, 300)], crs=4547)
    with pytest.warns(DataWarning, match="1 features lie partly and 1 fully outside.*: edge, out"):
        check_overlap(gdf, terrain, file="b.gpkg", layer="b")
    with no_warnings():
        check_overlap(gdf.iloc[:1], terrain)
    with pytest.raises(DataError, match="b.gpkg: layer 'b': no feature overlaps the terrain"):
        check_overlap(gdf.iloc[2:], terrain, file="b.gpkg", layer="b")
