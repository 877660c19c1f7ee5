"""VTK multiblock export read back with pyvista: blocks, counts, data, origin."""
from __future__ import annotations

import numpy as np
import pyvista as pv

from scenes.meshes import city_scene
from scenes.vtk import read_vtm, write_vtm


def test_vtm_round_trip(city, tmp_path):
    scene = city_scene(city)
    path = write_vtm(scene, tmp_path / "city.vtm")
    assert path.exists() and (tmp_path / "city").is_dir()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]
    multi = pv.read(path)
    assert list(multi.keys()) == list(scene.blocks)
    for name, block in scene.blocks.items():
        back = multi[name]
        assert (back.n_points, back.n_cells) == (block.n_points, block.n_cells)
        assert set(block.cell_data) <= set(back.cell_data)
    b = multi["buildings"]
    assert np.array_equal(b.cell_data["building_index"],
                          scene.blocks["buildings"].cell_data["building_index"])
    assert np.allclose(multi.field_data["origin"], scene.origin)
    assert multi.field_data["origin"].dtype == np.float64
    assert np.allclose(b.field_data["origin"], scene.origin)
    again = read_vtm(path)
    assert again.origin == scene.origin and again.crs.to_epsg() == 4547
    assert np.allclose(again.to_world(again.blocks["terrain"].points),
                       scene.to_world(scene.blocks["terrain"].points))


def test_vtm_overwrites_and_drops_old_blocks(city, tmp_path):
    write_vtm(city_scene(city), tmp_path / "city.vtm")
    write_vtm(city_scene(city, layers=("buildings",)), tmp_path / "city.vtm")
    assert list(pv.read(tmp_path / "city.vtm").keys()) == ["buildings"]
    assert len(list((tmp_path / "city").iterdir())) == 1
