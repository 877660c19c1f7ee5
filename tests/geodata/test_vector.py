"""Tests for geodata.vector: reading, checking, repairing and reprojecting vector layers."""
from __future__ import annotations

import contextlib
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geodata.errors import DataError, DataWarning
from geodata.vector import check_overlap, read_layer

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


# -- geometries GEOS cannot build; names that moved -------------------------------------

def test_ring_too_short_for_geos_is_dropped_and_named(tmp_path):
    import struct

    import pyogrio.raw

    def polygon_wkb(points):                                 # little-endian WKB, one ring
        head = struct.pack("<BIII", 1, 3, 1, len(points))
        return head + b"".join(struct.pack("<dd", X0 + x, Y0 + y) for x, y in points)

    bad = polygon_wkb([(0, 0), (5, 5)])                      # two points: not a ring
    good = polygon_wkb([(0, 0), (9, 0), (9, 9), (0, 0)])
    path = tmp_path / "rings.gpkg"
    pyogrio.raw.write(path, geometry=np.array([bad, good], dtype=object),
                      field_data=[np.array(["bad", "ok"], dtype=object)], fields=["id"],
                      geometry_type="Polygon", crs="EPSG:4547", driver="GPKG")
    with pytest.raises(shapely.errors.GEOSException):        # what a plain read does
        gpd.read_file(path)
    with pytest.warns(DataWarning, match="1 features whose geometry cannot be built.*: bad"):
        gdf = read_layer(path, crs=4547)
    assert gdf["id"].tolist() == ["ok"]


def test_moved_names_still_resolve_from_geodata_vector():
    import geodata.buildings
    import geodata.landcover
    import geodata.roads
    import geodata.vector as vector
    assert vector.read_buildings is geodata.buildings.read_buildings
    assert vector.ROAD_DEFAULTS is geodata.roads.ROAD_DEFAULTS
    assert vector.MANNING is geodata.landcover.MANNING
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vector.nope
