"""OpenStreetMap roads and buildings: a real extract (pyrosm's test.osm.pbf) and hand-made .osm files."""
from __future__ import annotations

import warnings

import numpy as np
import pyogrio
import pytest
import shapely

from geodata.buildings import read_buildings
from geodata.errors import DataError, DataWarning
from geodata.osm import HIGHWAY_DEFAULTS, is_osm, osm_tag, read_osm_buildings, read_osm_roads

FINNISH_TM = 3067  # the pyrosm test extract lies in south-east Finland


@pytest.fixture(scope="module")
def pbf():
    pyrosm = pytest.importorskip(
        "pyrosm", reason="pyrosm (test extra) ships the small real extract test.osm.pbf")
    return pyrosm.get_data("test_pbf")


@pytest.fixture(scope="module")
def raw_lines(pbf):
    lines = pyogrio.read_dataframe(pbf, layer="lines", where="highway IS NOT NULL")
    return lines[lines["highway"].isin(list(HIGHWAY_DEFAULTS))].reset_index(drop=True)


@pytest.fixture(scope="module")
def roads(pbf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return read_osm_roads(pbf, crs=FINNISH_TM)


def _osm_file(tmp_path, body: str):
    path = tmp_path / "hand.osm"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
                    + body + "\n</osm>\n", encoding="utf-8")
    return path


# -- roads from the real extract ---------------------------------------------------

def test_roads_columns_crs_and_motor_ways_only(roads, raw_lines):
    assert list(roads.columns[:9]) == ["id", "name", "class", "highway", "lanes", "speed_kmh",
                                       "capacity_vph", "oneway", "osm_id"]
    assert roads.crs.to_epsg() == FINNISH_TM
    assert (roads.geom_type == "LineString").all() and roads["id"].is_unique
    assert set(roads["highway"]) <= set(HIGHWAY_DEFAULTS)
    assert not {"footway", "cycleway", "path"} & set(roads["highway"])
    assert set(roads["osm_id"]) == set(raw_lines["osm_id"].astype(str))


def test_splitting_keeps_the_length_and_cuts_only_at_shared_nodes(pbf, raw_lines):
    # length: the pieces add up to the ways, reprojected independently with geopandas
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        projected = read_osm_roads(pbf, crs=FINNISH_TM)
        lonlat = read_osm_roads(pbf, crs=4326)
    expected = raw_lines.to_crs(FINNISH_TM).length.sum()
    assert projected.length.sum() == pytest.approx(expected, rel=1e-9)
    # nodes used by two or more motor ways (or twice by one), counted in plain Python
    uses: dict[tuple, int] = {}
    for geom in raw_lines.geometry:
        for xy in map(tuple, shapely.get_coordinates(geom)):
            uses[xy] = uses.get(xy, 0) + 1
    shared = {xy for xy, n in uses.items() if n > 1}
    for geom in lonlat.geometry:
        interior = map(tuple, shapely.get_coordinates(geom)[1:-1])
        assert not shared & set(interior)
    pieces = lonlat.groupby("osm_id").size()
    for osm_id, geom in zip(raw_lines["osm_id"].astype(str), raw_lines.geometry):
        xy = shapely.get_coordinates(geom)
        cuts = sum(tuple(p) in shared for p in xy[1:-1])
        assert pieces[osm_id] == cuts + 1, osm_id


def test_road_tags_and_class_defaults(roads, raw_lines):
    tags = raw_lines.assign(maxspeed=osm_tag(raw_lines, "maxspeed"),
                            lanes_tag=osm_tag(raw_lines, "lanes"),
                            oneway_tag=osm_tag(raw_lines, "oneway"))
    by_way = roads.groupby("osm_id").first()
    fast = tags.loc[tags["maxspeed"] == "80", "osm_id"].astype(str)
    assert len(fast) and (by_way.loc[fast, "speed_kmh"] == 80.0).all()
    plain = tags[(tags["highway"] == "residential") & tags["maxspeed"].isna()
                 & tags["lanes_tag"].isna() & tags["oneway_tag"].isna()]
    row = by_way.loc[plain["osm_id"].astype(str)]
    assert (row["speed_kmh"] == 30.0).all() and (row["lanes"] == 2).all()   # 1 each way
    assert (row["capacity_vph"] == 1800.0).all() and not row["oneway"].any()
    two = tags.loc[tags["lanes_tag"] == "2", "osm_id"].astype(str)
    assert len(two) and (by_way.loc[two, "lanes"] == 2).all()     # the tag counts all lanes
    one_way = tags.loc[tags["oneway_tag"] == "yes", "osm_id"].astype(str)
    assert by_way.loc[one_way, "oneway"].all()
    motorway = tags.loc[tags["highway"] == "motorway", "osm_id"].astype(str)
    assert by_way.loc[motorway, "oneway"].all()          # one way by default


# -- buildings from the real extract --------------------------------------------------

def test_buildings_drop_broken_rings_and_name_their_osm_ids(pbf):
    where = "building IS NOT NULL AND building <> 'no'"
    meta, _, wkb, fields = pyogrio.raw.read(pbf, layer="multipolygons", where=where,
                                            columns=["osm_way_id"])
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    broken = {f"way/{w}" for w, g, b in zip(fields[0], geoms, wkb) if g is None and b is not None}
    assert broken, "the extract holds buildings whose rings GEOS cannot build"
    with pytest.warns(DataWarning) as record:
        b = read_osm_buildings(pbf, crs=FINNISH_TM)
    text = " ".join(str(w.message) for w in record)
    assert "cannot be built" in text and all(i in text for i in broken)
    base_ids = {i.split("-")[0] for i in b["id"]}
    assert not broken & base_ids
    assert b.crs.to_epsg() == FINNISH_TM and (b.geom_type == "Polygon").all()
    assert b.geometry.is_valid.all() and (b.area > 0).all() and b["id"].is_unique


def test_building_heights_from_levels_and_default(pbf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        b = read_osm_buildings(pbf, crs=FINNISH_TM, storey_height=3.5, default_height=7.0)
    levels = b["height_source"] == "storeys"
    assert levels.any()
    np.testing.assert_allclose(b.loc[levels, "height"], b.loc[levels, "storeys"] * 3.5)
    assert (b.loc[b["height_source"] == "default", "height"] == 7.0).all()
    assert {"residential", "unknown"} <= set(b["use"])


def test_generic_building_reader_survives_the_osm_extract(pbf):
    """The GEOS traceback on a two-point ring is now a DataWarning naming the rows."""
    with pytest.warns(DataWarning, match="cannot be built"):
        b = read_buildings(pbf, crs=FINNISH_TM, layer="multipolygons")
    assert b.geometry.is_valid.all()


# -- hand-made .osm files: tag parsing ---------------------------------------------------

NODES = """
  <node id="1" lat="30.3900" lon="114.8900" version="1"/>
  <node id="2" lat="30.3900" lon="114.8910" version="1"/>
  <node id="3" lat="30.3900" lon="114.8920" version="1"/>
  <node id="4" lat="30.3910" lon="114.8910" version="1"/>
  <node id="5" lat="30.3910" lon="114.8920" version="1"/>"""


def test_hand_made_roads(tmp_path):
    path = _osm_file(tmp_path, NODES + """
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/>
    <tag k="maxspeed" v="30 mph"/><tag k="lanes" v="4"/></way>
  <way id="11"><nd ref="2"/><nd ref="4"/><tag k="highway" v="residential"/>
    <tag k="oneway" v="-1"/></way>
  <way id="12"><nd ref="3"/><nd ref="5"/><tag k="highway" v="footway"/></way>
  <way id="13"><nd ref="4"/><nd ref="5"/><tag k="highway" v="tertiary"/>
    <tag k="lanes:forward" v="2"/><tag k="lanes:backward" v="1"/><tag k="maxspeed" v="fast"/>
  </way>""")
    with pytest.warns(DataWarning, match="maxspeed that cannot be read.*way/13"):
        r = read_osm_roads(path, crs=4547).set_index("id")
    # way 10 is cut at node 2 (shared with way 11), not at node 3 (only a footway uses it)
    assert sorted(r.index) == ["way/10-0", "way/10-1", "way/11", "way/13"]
    assert r.loc["way/10-0", "speed_kmh"] == pytest.approx(30 * 1.609344)
    assert r.loc["way/10-0", "lanes"] == 4 and r.loc["way/10-0", "capacity_vph"] == 4 * 1800
    assert r.loc["way/11", "oneway"]
    start, end = shapely.get_coordinates(r.loc["way/11", "geometry"])[[0, -1]]
    assert start[1] > end[1]                      # -1: drawn south to north, runs north to south
    assert r.loc["way/13", "lanes"] == 3 and r.loc["way/13", "speed_kmh"] == 40.0
    assert r.loc["way/11", "lanes"] == 1                # residential one way: 1 lane


def test_hand_made_buildings(tmp_path):
    square = '<nd ref="1"/><nd ref="2"/><nd ref="5"/><nd ref="4"/><nd ref="1"/>'
    path = _osm_file(tmp_path, NODES + f"""
  <way id="20">{square}<tag k="building" v="apartments"/><tag k="height" v="40 ft"/></way>
  <way id="21">{square}<tag k="building" v="yes"/><tag k="height" v="12 m"/></way>
  <way id="22">{square}<tag k="building" v="school"/><tag k="building:levels" v="many"/></way>
  <way id="23">{square}<tag k="building" v="no"/></way>
  <way id="24"><nd ref="1"/><nd ref="2"/><nd ref="1"/><tag k="building" v="yes"/></way>""")
    with pytest.warns(DataWarning) as record:
        b = read_osm_buildings(path, crs=4547).set_index("id")
    text = " ".join(str(w.message) for w in record)
    assert "building:levels tag that cannot be read" in text and "way/22" in text
    assert "way/24" in text                       # a ring of two nodes: dropped, named
    assert sorted(b.index) == ["way/20", "way/21", "way/22"]
    assert b.loc["way/20", "height"] == pytest.approx(40 * 0.3048)
    assert b.loc["way/21", "height"] == 12.0 and b.loc["way/21", "use"] == "unknown"
    assert b.loc["way/22", "height_source"] == "default" and b.loc["way/22", "use"] == "school"


# -- bad input ---------------------------------------------------------------------------

def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_osm_roads(tmp_path / "none.osm.pbf", crs=4547)
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not a protobuf at all")
    with pytest.raises(DataError, match="junk.osm.pbf"):
        read_osm_roads(junk, crs=4547)


def test_extract_without_roads_or_buildings(tmp_path):
    path = _osm_file(tmp_path, NODES + """
  <way id="12"><nd ref="3"/><nd ref="5"/><tag k="highway" v="footway"/></way>""")
    with pytest.raises(DataError, match="no motor roads"):
        read_osm_roads(path, crs=4547)
    with pytest.raises(DataError, match="no buildings"):
        read_osm_buildings(path, crs=4547)


def test_is_osm():
    assert is_osm("a/b.osm.pbf") and is_osm("B.OSM") and not is_osm("roads.gpkg")


def test_bounds_read_only_the_ways_reaching_into_them(pbf, roads):
    xmin, ymin, xmax, ymax = roads.total_bounds
    box = (xmin, ymin, (xmin + xmax) / 2, (ymin + ymax) / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        part = read_osm_roads(pbf, crs=FINNISH_TM, bounds=box)
        buildings = read_osm_buildings(pbf, crs=FINNISH_TM, bounds=box)
    reaching = set(roads.loc[roads.intersects(shapely.box(*box)), "osm_id"])
    assert reaching <= set(part["osm_id"]) < set(roads["osm_id"])
    assert buildings.intersects(shapely.box(*box).buffer(50)).all()
