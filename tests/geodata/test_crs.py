"""CRS codes and coordinates that do not fit their CRS (GeoJSON without crs, lon/lat as metres)."""
from __future__ import annotations

import json

import pytest
from pyproj import CRS, Transformer

from geodata.crs import check_coordinates, looks_like_lonlat, parse_crs
from geodata.errors import DataError
from geodata.roads import read_roads

LON, LAT = 114.89, 30.39
X, Y = Transformer.from_crs(4326, 4547, always_xy=True).transform(LON, LAT)


def _geojson(path, coords, crs_member=None):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "r1"},
         "geometry": {"type": "LineString", "coordinates": coords}}]}
    if crs_member:
        doc["crs"] = {"type": "name", "properties": {"name": crs_member}}
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("value", [4547, "EPSG:4547", "epsg:4547", CRS.from_epsg(4547)])
def test_parse_crs(value):
    assert parse_crs(value).to_epsg() == 4547


@pytest.mark.parametrize("value, match", [
    ("EPSG:45470", "not a CRS pyproj knows"), ("UTM 50", "not a CRS pyproj knows"),
    ("", "must be a CRS code"), (None, "must be a CRS code"), (True, "must be a CRS code"),
    ([4547], "must be a CRS code")])
def test_unreadable_crs(value, match):
    with pytest.raises(DataError, match=match) as err:
        parse_crs(value, file="city.toml", key="crs")
    assert str(err.value).startswith("city.toml: crs")


def test_geojson_without_crs_holding_metres_is_named(tmp_path):
    path = _geojson(tmp_path / "roads.geojson", [[X, Y], [X + 100, Y]])
    with pytest.raises(DataError) as err:
        read_roads(path, crs=4547)
    msg = str(err.value)
    assert "roads.geojson" in msg and "not longitude/latitude" in msg
    assert "look like projected metres" in msg and "ogr2ogr -a_srs" in msg


def test_geojson_claiming_a_projected_crs_but_holding_lonlat_is_named(tmp_path):
    path = _geojson(tmp_path / "roads.geojson", [[LON, LAT], [LON + 0.001, LAT]],
                    crs_member="urn:ogc:def:crs:EPSG::4547")
    with pytest.raises(DataError, match="far outside the area where EPSG:4547 is used.*"
                                        "look like longitude/latitude"):
        read_roads(path, crs=4547)


def test_matching_coordinates_pass(tmp_path):
    ok = _geojson(tmp_path / "ok.geojson", [[LON, LAT], [LON + 0.001, LAT]])
    roads = read_roads(ok, crs=4547)
    assert roads.geometry.iloc[0].coords[0] == pytest.approx((X, Y), abs=1e-3)
    check_coordinates((X, Y, X + 10, Y + 10), CRS.from_epsg(4547))
    check_coordinates((float("nan"),) * 4, CRS.from_epsg(4547))     # nothing to check


def test_wrong_zone_is_named():
    # EPSG:4547 coordinates read as if they were Web Mercator near the equator: fine there;
    # but as EPSG:2154 (France, Lambert 93) they lie far outside France
    with pytest.raises(DataError, match="EPSG:2154.*CRS is probably wrong"):
        check_coordinates((X, Y, X + 10, Y + 10), CRS.from_epsg(2154))


def test_looks_like_lonlat():
    assert looks_like_lonlat((LON, LAT, LON, LAT))
    assert not looks_like_lonlat((X, Y, X, Y))
