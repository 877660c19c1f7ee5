"""GLB export: the official Khronos glTF validator reports no error; layers,
colours, axes and georeference survive a read-back."""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import trimesh

from scenes import style
from scenes.gltf import write_glb
from scenes.meshes import city_scene

NPM_CACHE = Path(os.environ.get("CITYTWIN_NPM_CACHE", Path.home() / ".cache" / "citytwin" / "npm"))
VALIDATE_JS = """
const validator = require(process.argv[2]);
const fs = require('fs');
validator.validateBytes(new Uint8Array(fs.readFileSync(process.argv[3])))
  .then((report) => console.log(JSON.stringify(report.issues)))
  .catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.fixture(scope="module")
def gltf_validator() -> Path:
    """The npm package gltf-validator, installed once into the user cache."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the Khronos glTF validator")
    package = NPM_CACHE / "node_modules" / "gltf-validator"
    if not package.exists():
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NPM_CACHE), "--no-audit", "--no-fund",
                        "gltf-validator"], check=True, capture_output=True, timeout=300)
    return package


def _gltf_json(path: Path) -> dict:
    data = path.read_bytes()
    magic, version, _ = struct.unpack("<4sII", data[:12])
    assert magic == b"glTF" and version == 2
    length, kind = struct.unpack("<I4s", data[12:20])
    assert kind == b"JSON"
    return json.loads(data[20:20 + length])


def test_glb_passes_the_khronos_validator(city, tmp_path, gltf_validator):
    path = write_glb(city_scene(city), tmp_path / "city.glb")
    script = tmp_path / "validate.js"
    script.write_text(VALIDATE_JS)
    out = subprocess.run(["node", str(script), str(gltf_validator), str(path)],
                         capture_output=True, text=True, check=True, timeout=120)
    issues = json.loads(out.stdout)
    assert issues["numErrors"] == 0, issues["messages"][:5]
    assert issues["numWarnings"] == 0, issues["messages"][:5]


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
