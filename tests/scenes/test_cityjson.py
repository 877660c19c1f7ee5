"""CityJSON 2.0 export: structure by the specification, the official JSON
schema (from the official validator, see tests/conftest.py), cjio as reference reader, and a round trip
of counts, heights and solid volumes computed from the integer vertices."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from pyproj import CRS

from geodata.errors import DataError
from scenes.cityjson import reference_system_url, write_cityjson

# CityJSON 2.0, section "City Objects": geometry types each object type may hold
ALLOWED = {"Building": {"MultiSurface", "Solid", "CompositeSolid"},
           "BuildingPart": {"MultiSurface", "Solid", "CompositeSolid"},
           "Road": {"MultiLineString", "MultiSurface", "CompositeSurface"},
           "WaterBody": {"MultiLineString", "MultiSurface", "CompositeSurface", "Solid",
                         "CompositeSolid"},
           "LandUse": {"MultiSurface", "CompositeSurface"},
           "TINRelief": {"CompositeSurface"}}
DEPTH = {"MultiSurface": 3, "CompositeSurface": 3, "Solid": 4}


@pytest.fixture
def exported(city, tmp_path):
    path = write_cityjson(city, tmp_path / "tiny.city.json")
    return path, json.loads(path.read_text())


def _depth(x) -> int:
    return 1 + _depth(x[0]) if isinstance(x, list) else 0


def _flatten(x):
    return [v for item in x for v in _flatten(item)] if isinstance(x, list) else [x]


def _world(doc) -> np.ndarray:
    t = doc["transform"]
    return np.asarray(doc["vertices"], float) * t["scale"] + t["translate"]


def _solid_volume(shell, xyz) -> float:
    """Divergence theorem on planar rings: fan triangles from each ring's first vertex
    (inner rings run the other way, so they subtract)."""
    total = 0.0
    for surface in shell:
        for ring in surface:
            p = xyz[ring]
            total += np.einsum("ij,ij->i", np.broadcast_to(p[0], p[1:-1].shape),
                               np.cross(p[1:-1], p[2:])).sum() / 6
    return total


def test_structure_follows_the_specification(exported):
    path, doc = exported
    assert doc["type"] == "CityJSON" and doc["version"] == "2.0"
    assert doc["transform"]["scale"] == [0.001] * 3
    assert doc["metadata"]["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/4547"
    vertices = np.asarray(doc["vertices"])
    assert vertices.dtype.kind == "i" and vertices.shape[1] == 3
    assert len(np.unique(vertices, axis=0)) == len(vertices)          # deduplicated
    used = set()
    for key, obj in doc["CityObjects"].items():
        for geom in obj.get("geometry", []):
            assert geom["type"] in ALLOWED[obj["type"]], (key, geom["type"])
            assert geom["lod"] == "1"
            assert _depth(geom["boundaries"]) == DEPTH[geom["type"]]
            used.update(_flatten(geom["boundaries"]))
    assert used == set(range(len(vertices)))                           # no orphans, in range
    extent = doc["metadata"]["geographicalExtent"]
    xyz = _world(doc)
    assert np.allclose(extent, [*xyz.min(axis=0), *xyz.max(axis=0)], atol=1e-6)


def test_round_trip_counts_heights_and_volumes(city, exported):
    _, doc = exported
    objs = doc["CityObjects"]
    kinds = [o["type"] for o in objs.values()]
    assert kinds.count("Building") == 3 and kinds.count("BuildingPart") == 2
    assert kinds.count("Road") == 2 and kinds.count("WaterBody") == 1
    assert kinds.count("LandUse") == 1 and kinds.count("TINRelief") == 1
    xyz = _world(doc)
    expected_volume = {"court": 800 * 30.0, "vee": 600 * 15.0}
    for _, row in city.buildings.iterrows():
        b = objs[row["id"]]
        assert b["attributes"]["measuredHeight"] == row["height"]
        assert b["attributes"]["function"] == row["use"]
        solids = ([b] if "geometry" in b else [objs[c] for c in b["children"]])
        zs = np.concatenate([xyz[_flatten(s["geometry"][0]["boundaries"])][:, 2] for s in solids])
        assert zs.min() == pytest.approx(row["base"]) and zs.max() == pytest.approx(
            row["base"] + row["height"])
        volume = sum(_solid_volume(s["geometry"][0]["boundaries"][0], xyz) for s in solids)
        assert volume == pytest.approx(expected_volume.get(row["id"], 300 * 6.0), rel=1e-6)
    court = objs["court"]["geometry"][0]
    floor, roof = court["boundaries"][0][:2]
    assert len(floor) == len(roof) == 2                                # outer ring and hole
    assert court["semantics"]["values"][0][:3] == [0, 1, 2]
    surfaces = [s["type"] for s in court["semantics"]["surfaces"]]
    assert surfaces == ["GroundSurface", "RoofSurface", "WallSurface"]
    assert objs["pair-part1"]["parents"] == ["pair"]


def test_road_surface_area_and_water_level(city, exported):
    _, doc = exported
    xyz = _world(doc)
    tris = np.asarray(doc["CityObjects"]["r1"]["geometry"][0]["boundaries"])[:, 0]
    p = xyz[tris]
    d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    area = 0.5 * np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]).sum()
    assert area == pytest.approx(380 * 4 * 3.5, rel=1e-4)
    lake = doc["CityObjects"]["lake"]
    z = xyz[_flatten(lake["geometry"][0]["boundaries"])][:, 2]
    assert np.allclose(z, lake["attributes"]["waterLevel"], atol=1e-3)


CJIO_SCRIPT = """
import json, sys
from cjio import cityjson
with open(sys.argv[1]) as f:
    model = cityjson.reader(f)
print(json.dumps({"version": model.get_version(), "epsg": model.get_epsg(),
                  "info": model.get_info(long=True),
                  "duplicates": model.remove_duplicate_vertices(),
                  "orphans": model.remove_orphan_vertices(),
                  "bbox": [float(v) for v in model.calculate_bbox()]}))
"""


def test_cjio_reads_it(exported):
    # in a child process: importing cjio patches the json module's float output globally
    pytest.importorskip("cjio")
    path, doc = exported
    out = subprocess.run([sys.executable, "-c", CJIO_SCRIPT, str(path)], capture_output=True,
                         text=True, check=True, timeout=120)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["version"] == "2.0" and report["epsg"] == 4547
    info = "\n".join(report["info"])
    assert "Building (3)" in info and "TINRelief (1)" in info
    assert report["duplicates"] == 0 and report["orphans"] == 0
    assert np.allclose(report["bbox"], doc["metadata"]["geographicalExtent"], atol=1e-3)


@pytest.fixture
def coarse_export(city, tmp_path):
    """The export with a coarser terrain TIN: the schema's validator takes ~3 ms per triangle."""
    coarse = dataclasses.replace(city, terrain=city.terrain.resample(city.terrain.cell_size * 4))
    return json.loads(write_cityjson(coarse, tmp_path / "coarse.city.json").read_text())


def test_official_json_schema(coarse_export, validate_cityjson):
    assert {o["type"] for o in coarse_export["CityObjects"].values()} >= {
        "Building", "BuildingPart", "Road", "WaterBody", "LandUse", "TINRelief"}
    validate_cityjson(coarse_export)


def test_broken_document_fails_the_schema(coarse_export, validate_cityjson):
    doc = coarse_export
    first = next(iter(doc["CityObjects"].values()))
    first["geometry"][0]["lod"] = []                                   # lod must be a string
    with pytest.raises(AssertionError, match="schema errors"):
        validate_cityjson(doc)


def test_bad_inputs(city, tmp_path):
    city.buildings.loc[1, "id"] = "court"
    with pytest.raises(DataError, match="feature court: ids repeat"):
        write_cityjson(city, tmp_path / "dup.city.json")
    assert not list(tmp_path.iterdir())                                # nothing half-written
    custom = CRS.from_proj4("+proj=tmerc +lon_0=114.3 +x_0=500000 +ellps=GRS80 +units=m")
    with pytest.raises(DataError, match="EPSG"):
        reference_system_url(custom)
