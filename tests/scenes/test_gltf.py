"""GLB export: the official Khronos glTF validator reports no error; layers,
colours, axes and georeference survive a read-back."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh

from scenes import style
from scenes.gltf import write_glb
from scenes.meshes import city_scene

def _gltf_json(path: Path) -> dict:
    data = path.read_bytes()
    magic, version, _ = struct.unpack("<4sII", data[:12])
    assert magic == b"glTF" and version == 2
    length, kind = struct.unpack("<I4s", data[12:20])
    assert kind == b"JSON"
    return json.loads(data[20:20 + length])


def test_glb_passes_the_khronos_validator(city, tmp_path, validate_glb):
    report = validate_glb(write_glb(city_scene(city), tmp_path / "city.glb"))
    assert report["numWarnings"] == 0, report["messages"][:5]


def test_sample_city_glb_passes_the_khronos_validator(sample_city_path, tmp_path, validate_glb):
    from twin.manifest import load_city
    report = validate_glb(write_glb(city_scene(load_city(sample_city_path)), tmp_path / "e.glb"))
    assert report["numWarnings"] == 0, report["messages"][:5]


def test_delft_cityjson_exports_a_valid_glb(delft_cityjson, delft_dtm, tmp_path, validate_glb):
    from twin.manifest import load_city
    manifest = tmp_path / "delft.toml"
    manifest.write_text(f'name = "Delft"\ncrs = "EPSG:28992"\n'
                        f'[cityjson]\npath = "{delft_cityjson.as_posix()}"\n'
                        f'[terrain]\npath = "{delft_dtm.as_posix()}"\n')
    with pytest.warns(UserWarning):                                   # terrain holes filled
        city = load_city(manifest)
    scene = city_scene(city)
    assert scene.blocks["buildings"].n_cells > 0 and "terrain" in scene.blocks
    validate_glb(write_glb(scene, tmp_path / "delft.glb"))


def test_fzk_haus_ifc_exports_a_valid_glb(fzk_haus_ifc, tmp_path, validate_glb):
    from twin.manifest import load_city
    manifest = tmp_path / "fzk.toml"
    manifest.write_text('name = "FZK"\ncrs = "EPSG:25832"\n'
                        f'[[bim]]\nbuilding = "fzk"\npath = "{fzk_haus_ifc.as_posix()}"\n')
    scene = city_scene(load_city(manifest))
    assert scene.blocks["bim"].n_cells > 1000
    path = validate_glb(write_glb(scene, tmp_path / "fzk.glb")) and tmp_path / "fzk.glb"
    extras = _gltf_json(path)["asset"]["extras"]
    assert extras["crs"] == "EPSG:25832" and 440_000 < extras["origin"][0] < 470_000


def test_glb_layers_axes_colours_and_georeference(city, tmp_path):
    scene = city_scene(city)
    path = write_glb(scene, tmp_path / "out" / "city.glb")
    assert path.exists() and not list(path.parent.glob("*.partial"))
    tree = _gltf_json(path)
    assert {n["name"] for n in tree["nodes"]} >= set(scene.blocks)
    extras = tree["asset"]["extras"]
    assert extras["crs"] == "EPSG:4547"
    assert extras["origin"] == list(scene.origin)
    assert tree["scenes"][0]["extras"] == extras

    loaded = trimesh.load(path, force="scene")
    buildings = loaded.geometry["buildings"]
    local = scene.blocks["buildings"]
    # y-up: glTF y is local z, glTF z is minus local y
    assert buildings.bounds[1, 1] == pytest.approx(local.bounds[5], abs=1e-4)
    assert buildings.bounds[0, 2] == pytest.approx(-local.bounds[3], abs=1e-4)
    # world coordinates of a roof corner come back through the recorded origin
    g = buildings.vertices[np.argmax(buildings.vertices[:, 1])]
    world_z = g[1] + extras["origin"][2]
    assert world_z == pytest.approx(22.0 + 30.0, abs=1e-3)
    colours = {tuple(c[:3]) for c in buildings.visual.vertex_colors}
    assert colours == {style.BUILDING_USE_COLORS[u] for u in ("office", "residential",
                                                              "industrial")}
    # all triangles kept, none lost when vertices were split by colour
    assert sum(len(g.faces) for g in loaded.geometry.values()) == sum(
        b.n_cells for b in scene.blocks.values())


def test_face_colours_split_shared_vertices(tmp_path):
    import pyvista as pv
    from scenes.meshes import Scene
    square = pv.PolyData.from_regular_faces(
        np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32),
        np.array([[0, 1, 2], [0, 2, 3]]))
    square.cell_data["rgb"] = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    path = write_glb(Scene((0, 0, 0), 4547, {"square": square}), tmp_path / "sq.glb")
    mesh = trimesh.load(path, force="scene").geometry["square"]
    assert len(mesh.vertices) == 6                           # 0 and 2 are shared by both colours
    for face, rgb in zip(mesh.faces, ([255, 0, 0], [0, 0, 255])):
        assert (mesh.visual.vertex_colors[face][:, :3] == rgb).all()
