"""Terrain tiles: the leaves cover every valid cell at full resolution and the
decimation error is the true largest height difference."""
from __future__ import annotations

import json

import numpy as np
import pytest

from scenes.frame import LocalFrame
from scenes.terraintiles import decimation_error, terrain_tileset
from tests.scenes.test_tiles3d import accessor, read_glb, tiles


def test_decimation_error_of_a_plane_and_a_spike():
    z = np.tile(np.arange(9.0), (9, 1))
    assert decimation_error(z, 1) == 0.0
    assert decimation_error(z, 2) == pytest.approx(1.0)
    z[3, 3] = 100.0
    assert decimation_error(z, 2) == pytest.approx(96.0)       # kept sample nearest it: (4, 4), 4 m


def test_terrain_leaves_hold_every_cell_centre(terrain, tmp_path):
    frame = LocalFrame.at(4547, (terrain.x.mean(), terrain.y.mean(), 0.0))
    root = terrain_tileset(terrain, frame, tmp_path, tile_cells=16)
    (tmp_path / "tileset.json").write_text(json.dumps(root))
    leaves = [t for t in tiles(root) if "children" not in t]
    assert len(leaves) > 4 and all(t["geometricError"] == 0 for t in leaves)
    count = 0
    for leaf in leaves:
        tree, binary = read_glb(tmp_path / leaf["content"]["uri"])
        count += tree["accessors"][tree["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]["count"]
        pos = accessor(tree, binary, 0)
        assert np.isfinite(pos).all()
    valid = np.isfinite(terrain.data).sum()
    assert count >= valid                       # shared edges are counted twice
    # the plane rises 0.05 m per cell: a parent keeping every 2nd cell errs by 0.05 m
    parents = [t for t in tiles(root) if "children" in t]
    assert min(t["geometricError"] for t in parents) == pytest.approx(0.05, abs=1e-4)
