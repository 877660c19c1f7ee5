"""Tile GLB content: y-up positions, feature ids and a property table that
decode back to what went in, and pass the Khronos validator."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scenes.tilecontent import TileMesh, box_volume, encode_glb, property_table, smooth_normals
from tests.scenes.test_tiles3d import accessor, property_column, read_glb


def _two_triangles():
    p = np.array([[0, 0, 0], [10, 0, 0], [10, 5, 0], [20, 0, 3], [30, 0, 3], [30, 5, 3]], float)
    return p, np.array([[0, 1, 2], [3, 4, 5]])


def test_glb_round_trip_with_features_and_properties(tmp_path, validate_glb):
    p, t = _two_triangles()
    props = pd.DataFrame({"id": ["a", "bé"], "height": [3.5, 12.0], "name": ["", ""],
                          "flooded": [True, False]})
    mesh = TileMesh(p, t, normals=smooth_normals(p, t), colors=np.full((6, 3), 200, np.uint8),
                    feature=np.repeat([0, 1], 3), properties=props, class_name="building")
    path = tmp_path / "t.glb"
    path.write_bytes(encode_glb(mesh))
    report = validate_glb(path)
    assert report["numErrors"] == 0
    tree, binary = read_glb(path)
    prim = tree["meshes"][0]["primitives"][0]
    y_up = accessor(tree, binary, prim["attributes"]["POSITION"])
    assert np.allclose(y_up, np.column_stack([p[:, 0], p[:, 2], -p[:, 1]]))   # (x, z, -y)
    assert accessor(tree, binary, prim["attributes"]["_FEATURE_ID_0"]).tolist() == [0] * 3 + [1] * 3
    assert property_column(tree, binary, "id") == ["a", "bé"]
    assert property_column(tree, binary, "height") == [3.5, 12.0]
    table = tree["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    assert "name" not in table["properties"]             # empty strings: left out
    assert set(tree["extensionsUsed"]) == {"EXT_mesh_features", "EXT_structural_metadata"}
    for view in tree["bufferViews"]:
        assert view["byteOffset"] % 8 == 0                # metadata buffers 8-byte aligned


def test_property_table_types():
    cls, cols = property_table(pd.DataFrame({"n": [1, 2], "b": [True, False], "s": ["x", None]}))
    assert cls["properties"] == {"n": {"type": "SCALAR", "componentType": "FLOAT64"},
                                 "b": {"type": "BOOLEAN"}, "s": {"type": "STRING"}}
    assert np.frombuffer(cols["n"]["values"], np.float64).tolist() == [1.0, 2.0]
    assert cols["b"]["values"] == bytes([0b01])
    assert np.frombuffer(cols["s"]["stringOffsets"], np.uint32).tolist() == [0, 1, 1]


def test_smooth_normals_of_a_closed_box_point_outwards():
    import trimesh
    box = trimesh.creation.box((2, 2, 2))
    n = smooth_normals(box.vertices, box.faces)
    assert (np.sum(n * box.vertices, axis=1) > 0).all()
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0)


def test_box_volume_is_never_flat():
    b = box_volume([0, 0, 5], [10, 4, 5])
    assert b[:3] == [5.0, 2.0, 5.0] and b[11] == pytest.approx(0.01)
