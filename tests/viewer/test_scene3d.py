"""The 3D view: replay updates only water and colours; layers; cameras."""
import numpy as np
import pytest

from scenes.meshes import city_scene
from viewer import palette
from viewer.scene3d import Scene3D
from viewer.viewmodel import ViewModel


@pytest.fixture
def view(tiny_city, tiny_run):
    return Scene3D(ViewModel(tiny_city, city_scene(tiny_city), tiny_run))


def test_flood_water_appears_with_the_frame(view):
    assert not view.actors["flood"].GetVisibility()           # frame 0 is dry
    view.show_frame(2)
    assert view.actors["flood"].GetVisibility()
    assert view.meshes["flood"].area == pytest.approx(2000.0, rel=1e-4)


def test_frame_change_keeps_static_geometry_and_recolours(view):
    terrain_points = view.meshes["terrain"].points
    building_points = view.meshes["buildings"].points
    view.color_mode = "impact"
    view.show_frame(2)
    assert np.shares_memory(view.meshes["terrain"].points, terrain_points)
    assert np.shares_memory(view.meshes["buildings"].points, building_points)
    rgb = view.meshes["buildings"].cell_data["rgb"]
    index = view.meshes["buildings"].cell_data["building_index"]
    assert (rgb[index == 0] == [200, 200, 200]).all()          # dry house
    assert (rgb[index == 1] == [202, 32, 44]).all()            # mall under 1.2 m
    assert (view.meshes["roads"].cell_data["rgb"] == palette.ROAD_CLOSED).all()


def test_highlight_and_layers(view):
    view.highlight(0)
    rgb = view.meshes["buildings"].cell_data["rgb"]
    index = view.meshes["buildings"].cell_data["building_index"]
    assert (rgb[index == 0] == palette.HIGHLIGHT).all()
    view.set_layers(["terrain"])
    assert view.actors["terrain"].GetVisibility() and not view.actors["buildings"].GetVisibility()


def test_fly_to_moves_the_pane_camera(view):
    before = view.pane.camera["focalPoint"]
    view.fly_to("venue")
    focal = np.array(view.pane.camera["focalPoint"]) + view.model.origin
    assert focal[:2].tolist() == pytest.approx([500075.0, 3359935.0])
    assert view.pane.camera["focalPoint"] != before
    with pytest.raises(KeyError):
        view.fly_to("nowhere")


def test_frame_change_streams_only_the_changes(view):
    import base64
    seq = view.stream.delta.get("seq", 0)
    view.show_frame(2)
    delta = view.stream.delta
    assert delta["seq"] == seq + 1
    cells = np.frombuffer(base64.b64decode(view.stream.grids[delta["water"]["actor"]]["cells"]),
                          "<u4")
    wet = np.unpackbits(np.frombuffer(base64.b64decode(delta["water"]["wet"]), np.uint8))
    assert wet[:cells.size].sum() == 20 == view.water_cells       # rows 4-5 of the tiny run
    level = np.frombuffer(base64.b64decode(delta["water"]["level"]), "<f4")
    assert level.size == 2 * 11 + 11                                # corner rows 4, 5, 6
    roads = [c for c in delta["colors"] if c["actor"] == view.actors["roads"].__this__]
    rgb = np.frombuffer(base64.b64decode(roads[0]["rgb"]), np.uint8).reshape(-1, 3)
    assert (rgb == palette.ROAD_CLOSED).all() and len(rgb) == view.meshes["roads"].n_cells
    view.show_frame(2)                                             # nothing new to recolour
    assert view.stream.delta["colors"] == []
