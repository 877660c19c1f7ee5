"""Tests for geodata.roads: classes, defaults, one-way roads."""
from __future__ import annotations

import pytest
import shapely

from geodata.errors import DataError, DataWarning
from geodata.roads import ROAD_DEFAULTS, read_roads
from tests.geodata.test_vector import X0, box, line, no_warnings, write


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
    # lanes count both directions of these two-way roads: twice the per-direction default
    assert roads["lanes"].tolist() == [6, 1, 2, 2]
    assert roads["speed_kmh"].tolist() == [60.0, 50.0, 30.0, 30.0]
    assert roads["capacity_vph"].tolist() == [6 * 1800.0, 1 * 1500.0, 2 * 900.0, 2 * 900.0]
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
    with pytest.raises(DataError, match="lanes must be between 1 and 24"):
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




def test_one_way_roads_get_the_lanes_of_one_direction(tmp_path):
    path = write(tmp_path, "roads.gpkg", [line((0, 0), (100, 0))] * 2, id=["one", "two"],
                 **{"class": ["collector", "collector"]}, oneway=["yes", "no"])
    with pytest.warns(DataWarning, match="lack lanes"):
        roads = read_roads(path, crs=4547).set_index("id")
    assert roads.loc["one", "lanes"] == ROAD_DEFAULTS["collector"]["lanes"]
    assert roads.loc["two", "lanes"] == 2 * ROAD_DEFAULTS["collector"]["lanes"]
    assert roads.loc["two", "capacity_vph"] == 2 * roads.loc["one", "capacity_vph"]
