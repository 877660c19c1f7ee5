"""Tests for geodata.cityjson: the real Delft file and small hand-written files."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS, Transformer

from geodata.cityjson import CityJSONLayers, read_cityjson
from geodata.errors import DataError, DataWarning


# -- the real Delft block ---------------------------------------------------------------
@pytest.fixture(scope="module")
def delft(delft_cityjson):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)     # the real file must read cleanly
        return read_cityjson(delft_cityjson)


@pytest.fixture(scope="module")
def raw(delft_cityjson):
    return json.loads(delft_cityjson.read_text())


def _vertices(raw):
    t = raw["transform"]
    return np.array(raw["vertices"], float) * t["scale"] + t["translate"]


def test_delft_counts_match_the_raw_json(delft, raw):
    kinds = [o["type"] for o in raw["CityObjects"].values()]
    assert isinstance(delft, CityJSONLayers)
    assert len(delft.buildings) == kinds.count("Building") == 160
    assert len(delft.roads) == kinds.count("Road")
    assert len(delft.water) == kinds.count("WaterBody")
    assert len(delft.landuse) == kinds.count("LandUse") + kinds.count("PlantCover")
    assert len(delft.other["Bridge"]) == kinds.count("Bridge")
    ids = {k for k, o in raw["CityObjects"].items() if o["type"] == "Building"}
    assert set(delft.buildings["id"]) == ids


def test_delft_crs_is_the_horizontal_part_of_7415(delft):
    assert delft.crs.to_epsg() == 28992
    for gdf in (delft.buildings, delft.roads, delft.water, delft.landuse):
        assert gdf.crs.to_epsg() == 28992


def test_delft_heights_are_measured_heights(delft, raw):
    measured = {k: o["attributes"]["measuredHeight"] for k, o in raw["CityObjects"].items()
                if o["type"] == "Building"}
    got = delft.buildings.set_index("id")["height"]
    np.testing.assert_allclose(got.to_numpy(), [measured[i] for i in got.index])


def test_delft_base_is_the_lowest_vertex(delft, raw):
    v = _vertices(raw)
    objects = raw["CityObjects"]
    for _, row in delft.buildings.iloc[::16].iterrows():
        shell = objects[row["id"]]["geometry"][0]["boundaries"]
        idx = [i for s in shell[0] for ring in s for i in ring]
        assert row["base"] == pytest.approx(v[idx, 2].min(), abs=1e-9)
    assert delft.buildings["use"].eq("unknown").all()   # Delft BGT has no function/usage


def test_delft_footprints_equal_the_shoelace_area_of_the_flat_roof(delft, raw):
    # These LoD1 solids have walls and a flat roof at the top; the roof faces
    # (all vertices at the highest z) cover exactly the footprint.
    v = _vertices(raw)
    expected = {}
    for k, o in raw["CityObjects"].items():
        if o["type"] != "Building":
            continue
        surfaces = [s[0] for s in o["geometry"][0]["boundaries"][0]]
        top = max(v[i, 2] for ring in surfaces for i in ring)
        area = 0.0
        for ring in surfaces:
            x, y, z = (v[ring] - v[ring[0]]).T          # local origin: no cancellation
            if np.allclose(z, 0.0) and np.isclose(v[ring[0], 2], top):
                area += abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2
        expected[k] = area
    b = delft.buildings
    assert shapely.is_valid(b.geometry.values).all()
    assert (b.geom_type == "Polygon").all()
    np.testing.assert_allclose(b.area.to_numpy(), [expected[i] for i in b["id"]], rtol=1e-6)
    assert 5 < b.area.min() and b.area.max() < 20_000


def test_delft_layers_lie_inside_the_terrain(delft, delft_dtm):
    with rasterio.open(delft_dtm) as src:
        left, bottom, right, top = src.bounds
        assert CRS.from_user_input(src.crs).to_epsg() == 28992
    x0, y0, x1, y1 = delft.buildings.total_bounds
    assert left <= x0 and x1 <= right and bottom <= y0 and y1 <= top
    for gdf in (delft.roads, delft.water, delft.landuse):   # these reach beyond the DTM
        assert gdf.intersects(shapely.box(left, bottom, right, top)).mean() > 0.5


def test_delft_roads_water_landuse_columns(delft, raw):
    assert set(delft.roads["class"]) >= {"voetpad", "parkeervlak", "rijbaan lokale weg"}
    assert (delft.roads.geom_type.isin(["Polygon", "MultiPolygon"])).all()
    assert set(delft.water["kind"]) == {"waterloop"}
    assert delft.landuse["manning"].between(0.01, 0.2).all()
    paved = delft.landuse["class"] == "gesloten verharding"
    assert paved.any() and (delft.landuse.loc[paved, "manning"] == 0.015).all()
    assert delft.metadata["referenceSystem"].endswith("/7415")


def test_delft_reprojected_to_utm(delft_cityjson, delft):
    utm = read_cityjson(delft_cityjson, crs="EPSG:32631")
    assert utm.crs.to_epsg() == 32631 and utm.buildings.crs.to_epsg() == 32631
    # Areas survive the change of projection to within the scale-factor change (< 0.1 %).
    np.testing.assert_allclose(utm.buildings.area.sum(), delft.buildings.area.sum(), rtol=1e-3)
    rd = delft.buildings.geometry.centroid
    utm_centres = utm.buildings.geometry.centroid
    x, y = Transformer.from_crs(28992, 32631, always_xy=True).transform(rd.x, rd.y)
    np.testing.assert_allclose(utm_centres.x, x, atol=0.01)
    np.testing.assert_allclose(utm_centres.y, y, atol=0.01)


# -- small hand-written files -------------------------------------------------------------
def _cube(x0, y0, size, z0, z1, base):
    """Vertices and a Solid shell (outward normals) of an axis-aligned box."""
    v = [(x0, y0, z0), (x0 + size, y0, z0), (x0 + size, y0 + size, z0), (x0, y0 + size, z0),
         (x0, y0, z1), (x0 + size, y0, z1), (x0 + size, y0 + size, z1), (x0, y0 + size, z1)]
    b = np.array([[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6],
                  [3, 0, 4, 7]]) + base
    return v, [[[list(map(int, f))] for f in b]]


def _doc(objects, vertices, **extra):
    doc = {"type": "CityJSON", "version": "2.0",
           "transform": {"scale": [0.01, 0.01, 0.01], "translate": [100000.0, 400000.0, 0.0]},
           "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
           "CityObjects": objects,
           "vertices": [[round(x * 100), round(y * 100), round(z * 100)] for x, y, z in vertices]}
    doc.update(extra)
    return doc


def _write(tmp_path, doc, name="t.city.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _solid(boundaries, lod="1"):
    return [{"type": "Solid", "lod": lod, "boundaries": boundaries}]


def test_l_shaped_building_with_part_and_no_measured_height(tmp_path):
    # An L: a 10 m cube of the building plus a 10 m cube part beside it and one
    # on top of that: the footprint is 20 x 10 m, the height 30 m - 0 m.
    v1, s1 = _cube(0, 0, 10, 0, 10, 0)
    v2, s2 = _cube(10, 0, 10, 0, 10, 8)
    v3, s3 = _cube(10, 10, 10, 2, 30, 16)
    objects = {
        "B1": {"type": "Building", "attributes": {"yearOfConstruction": 1990},
               "geometry": _solid(s1), "children": ["P1", "P2"]},
        "P1": {"type": "BuildingPart", "parents": ["B1"], "geometry": _solid(s2)},
        "P2": {"type": "BuildingPart", "parents": ["B1"], "geometry": _solid(s3)},
    }
    layers = read_cityjson(_write(tmp_path, _doc(objects, v1 + v2 + v3)))
    b = layers.buildings
    assert list(b["id"]) == ["B1"]
    geom = b.geometry.iloc[0]
    assert geom.area == pytest.approx(300.0)                 # the L: 3 squares of 100 m2
    assert geom.convex_hull.area == pytest.approx(350.0)     # not its convex hull
    assert b["height"].iloc[0] == pytest.approx(30.0)
    assert b["base"].iloc[0] == pytest.approx(0.0)
    assert b["yearOfConstruction"].iloc[0] == 1990
    assert b["use"].iloc[0] == "unknown"
    x0, y0, _, _ = geom.bounds
    assert (x0, y0) == pytest.approx((100000.0, 400000.0))


def test_courtyard_from_semantic_ground_surface(tmp_path):
    # A MultiSurface with a ground face holding a hole and a larger roof
    # overhang: the footprint is the ground face, hole kept, overhang ignored.
    v = [(0, 0, 0), (20, 0, 0), (20, 20, 0), (0, 20, 0),
         (5, 5, 0), (5, 15, 0), (15, 15, 0), (15, 5, 0),
         (-2, -2, 8), (22, -2, 8), (22, 22, 8), (-2, 22, 8)]
    geometry = {"type": "MultiSurface", "lod": "2.2",
                "boundaries": [[[0, 3, 2, 1], [4, 7, 6, 5]], [[8, 9, 10, 11]]],
                "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}],
                              "values": [0, 1]}}
    objects = {"B": {"type": "Building", "attributes": {"function": "school",
                                                        "measuredHeight": 8.0},
                     "geometry": [geometry]}}
    b = read_cityjson(_write(tmp_path, _doc(objects, v))).buildings
    assert b.geometry.iloc[0].area == pytest.approx(400 - 100)
    assert b["use"].iloc[0] == "school" and b["height"].iloc[0] == 8.0


def test_lowest_lod_is_used(tmp_path):
    v1, s1 = _cube(0, 0, 10, 0, 10, 0)
    v2, s2 = _cube(0, 0, 30, 0, 10, 8)
    objects = {"B": {"type": "Building", "geometry": _solid(s2, "2.2") + _solid(s1, "1.2")}}
    b = read_cityjson(_write(tmp_path, _doc(objects, v1 + v2))).buildings
    assert b.geometry.iloc[0].area == pytest.approx(100.0)


def test_other_types_roads_and_landuse_manning(tmp_path):
    v, s = _cube(0, 0, 10, 0, 3, 0)
    square = {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2, 3]]]}
    objects = {"Br": {"type": "Bridge", "attributes": {"class": "deck"}, "geometry": _solid(s)},
               "R": {"type": "TransportSquare", "geometry": [square]},
               "L1": {"type": "LandUse", "attributes": {"class": "forest"}, "geometry": [square]},
               "L2": {"type": "PlantCover", "attributes": {"manning": 0.2}, "geometry": [square]},
               "W": {"type": "WaterBody", "geometry": [square]}}
    layers = read_cityjson(_write(tmp_path, _doc(objects, v)))
    assert list(layers.other) == ["Bridge"] and layers.other["Bridge"]["class"].iloc[0] == "deck"
    assert layers.other["Bridge"]["height"].iloc[0] == pytest.approx(3.0)
    assert layers.roads["class"].iloc[0] == "TransportSquare"
    assert layers.roads.geometry.iloc[0].area == pytest.approx(100.0)
    assert dict(zip(layers.landuse["id"], layers.landuse["manning"])) == {"L1": 0.1, "L2": 0.2}
    assert layers.water["kind"].iloc[0] == "water"


def test_broken_and_empty_objects_are_dropped_with_a_warning(tmp_path):
    v, s = _cube(0, 0, 10, 0, 10, 0)
    bad = [[[[0, 1, 99]]]]                                   # vertex 99 does not exist
    objects = {"ok": {"type": "Building", "geometry": _solid(s)},
               "bad": {"type": "Building", "geometry": _solid(bad)},
               "none": {"type": "Building", "geometry": []},
               "points": {"type": "CityFurniture",
                          "geometry": [{"type": "MultiPoint", "lod": "1", "boundaries": [0]}]}}
    with pytest.warns(DataWarning) as record:
        layers = read_cityjson(_write(tmp_path, _doc(objects, v)))
    text = " ".join(str(w.message) for w in record)
    assert "bad" in text and "out of range" in text
    assert "none" in text and "points" in text
    assert list(layers.buildings["id"]) == ["ok"]


def test_no_reference_system_uses_the_given_crs(tmp_path):
    v, s = _cube(0, 0, 10, 0, 10, 0)
    doc = _doc({"B": {"type": "Building", "geometry": _solid(s)}}, v, metadata={})
    path = _write(tmp_path, doc)
    with pytest.raises(DataError, match="referenceSystem"):
        read_cityjson(path)
    layers = read_cityjson(path, crs="EPSG:28992")
    assert layers.crs.to_epsg() == 28992
    assert layers.buildings.geometry.iloc[0].bounds[0] == pytest.approx(100000.0)


@pytest.mark.parametrize("content, match", [
    ("{not json", "not JSON"),
    ('{"type": "FeatureCollection", "features": []}', "not CityJSON"),
    ('{"type": "CityJSON", "version": "1.1", "CityObjects": {}, "vertices": []}', "cjio"),
    ('{"type": "CityJSON", "version": "3.0", "CityObjects": {}, "vertices": []}', "version"),
])
def test_bad_files(tmp_path, content, match):
    path = tmp_path / "bad.city.json"
    path.write_text(content)
    with pytest.raises(DataError, match=match) as err:
        read_cityjson(path)
    assert "bad.city.json" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_cityjson(tmp_path / "nope.city.json")


def test_geographic_crs_is_refused(tmp_path):
    v, s = _cube(0, 0, 1, 0, 1, 0)
    doc = _doc({"B": {"type": "Building", "geometry": _solid(s)}}, v,
               metadata={"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/4326"})
    with pytest.raises(DataError, match="not projected"):
        read_cityjson(_write(tmp_path, doc))
    doc["metadata"] = {}
    with pytest.raises(DataError, match="not projected"):
        read_cityjson(_write(tmp_path, doc), crs="EPSG:4326")


def test_degenerate_ring_is_dropped_and_bad_indices_refused(tmp_path):
    v, s = _cube(0, 0, 10, 0, 10, 0)
    flat = {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 0]]]}   # 2 vertices
    objects = {"ok": {"type": "Building", "geometry": _solid(s)},
               "thin": {"type": "Building", "geometry": [flat]}}
    with pytest.warns(DataWarning, match="thin"):
        layers = read_cityjson(_write(tmp_path, _doc(objects, v)))
    assert list(layers.buildings["id"]) == ["ok"]
    flat["boundaries"] = [[["a", 1, 2]]]
    with pytest.raises(DataError, match="integer vertex indices"):
        read_cityjson(_write(tmp_path, _doc(objects, v)))


def test_file_without_city_objects_gives_empty_layers(tmp_path):
    layers = read_cityjson(_write(tmp_path, _doc({}, [])))
    assert len(layers.buildings) == 0 and layers.buildings.crs.to_epsg() == 28992
    assert {"id", "height", "base", "use"} <= set(layers.buildings.columns)
    assert layers.other == {}
