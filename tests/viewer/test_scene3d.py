"""The 3D view: replay updates only grids and colours; layers; picking; cameras."""
import base64
import zlib

import numpy as np
import pytest

from scenes.meshes import city_scene
from viewer import palette
from viewer.scene3d import Scene3D
from viewer.viewmodel import ViewModel

from .conftest import X0, Y0


@pytest.fixture
def view(tiny_city, tiny_run):
    return Scene3D(ViewModel(tiny_city, city_scene(tiny_city), tiny_run))


def test_flood_water_appears_with_the_frame(view):
    assert not view.actors["flood"].GetVisibility()           # frame 0 is dry
    view.show_frame(2)
    assert view.actors["flood"].GetVisibility() and view.water_cells == 20
    assert view.toggles()["flood"] == "Flood water"
    # a surface on the terrain's vertices (the cell centres here): those of rows 4-5 are
    # 0.4 m under water, at the level of their cell; the others under the ground
    drape = view.surfaces["flood"]
    z = np.asarray(view.meshes["flood"].points[:, 2], float) + view.model.origin[2]
    wet = z > drape.ground
    assert wet.sum() == 20
    assert set(np.round(Y0 - drape.y[wet], 3)) == {45.0, 55.0}
    np.testing.assert_allclose(z[wet] - drape.ground[wet], 0.4, atol=0.006)   # centimetres


def test_frame_change_keeps_static_geometry_and_recolours(view):
    terrain_points = view.meshes["terrain"].points
    building_points = view.meshes["buildings"].points
    view.color_mode = "impact"
    view.show_frame(2)
    assert np.shares_memory(view.meshes["terrain"].points, terrain_points)
    assert np.shares_memory(view.meshes["buildings"].points, building_points)
    rgb = view.meshes["buildings"].cell_data["rgb"]
    index = view.meshes["buildings"].cell_data["building_index"]
    assert (rgb[index == 0] == palette.IMPACT_COLORS[0]).all()          # dry house
    assert (rgb[index == 1] == palette.IMPACT_COLORS[4]).all()          # mall under 1.2 m
    assert (view.meshes["roads"].cell_data["rgb"] == palette.ROAD_CLOSED).all()


def test_select_highlights_one_feature_and_layers_toggle(view):
    view.highlight(0)
    rgb = view.meshes["buildings"].cell_data["rgb"]
    index = view.meshes["buildings"].cell_data["building_index"]
    assert (rgb[index == 0] == palette.HIGHLIGHT).all()
    view.select("roads", 0)                                   # the building goes back
    assert not (view.meshes["buildings"].cell_data["rgb"] == palette.HIGHLIGHT).all(axis=1).any()
    assert (view.meshes["roads"].cell_data["rgb"] == palette.HIGHLIGHT).all()
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
    seq = view.stream.delta.get("seq", 0)
    view.show_frame(2)
    delta = view.stream.delta
    assert delta["seq"] == seq + 1 and delta["frame"] == 2
    (water,) = delta["surfaces"]
    grid = view.stream.grids[water["actor"]]

    def inflate(key, dtype):
        return np.frombuffer(zlib.decompress(base64.b64decode(water[key])), dtype)

    n = grid["n"]
    changed = np.unpackbits(inflate("changed", np.uint8))[:n].astype(bool)
    up = np.unpackbits(inflate("up", np.uint8))[:n].astype(bool)
    assert up.sum() == 20 and (changed >= up).all()                # rows 4-5 came up
    z = grid["floor"] + inflate("z", "<u2") * grid["scale"]        # only the changed vertices
    np.testing.assert_allclose(z, view.meshes["flood"].points[changed, 2], atol=1e-4)
    colours = np.frombuffer(base64.b64decode(grid["palette"]), np.uint8).reshape(-1, 3)
    cls = inflate("cls", np.uint8)
    assert colours.tolist() == [list(c) for c in palette.DEPTH_COLORS]
    assert (colours[cls[up[changed]]] == palette.DEPTH_COLORS[2]).all()   # 0.4 m
    roads = [c for c in delta["colors"] if c["actor"] == view.actors["roads"].__this__]
    rgb = np.frombuffer(base64.b64decode(roads[0]["rgb"]), np.uint8).reshape(-1, 3)
    assert (rgb == palette.ROAD_CLOSED).all() and len(rgb) == view.meshes["roads"].n_cells
    view.show_frame(2)                                             # nothing new to send
    assert view.stream.delta["colors"] == []
    water = view.stream.delta["surfaces"][0]
    assert inflate("z", "<u2").size == 0 and water["base"] == delta["surfaces"][0]["id"]


def test_a_ray_picks_the_building_under_it(view):
    o = np.array([X0 + 75, Y0 - 65, 200.0]) - view.model.origin    # above the mall
    assert view.pick(o, (0, 0, -1)) == ("buildings", 1)
    o = np.array([X0 + 50, Y0 - 45, 200.0]) - view.model.origin    # above the road
    assert view.pick(o, (0, 0, -1)) == ("roads", 0)
    o = np.array([X0 + 5, Y0 - 95, 200.0]) - view.model.origin     # bare ground
    assert view.pick(o, (0, 0, -1)) == (None, None)
    slanted = np.array([X0 + 20, Y0 - 220, 200.0]) - view.model.origin  # from the south
    target = np.array([X0 + 20, Y0 - 20, 25.0]) - view.model.origin     # the house's wall/roof
    assert view.pick(slanted, target - slanted) == ("buildings", 0)


def test_a_click_comes_back_as_a_pick(view):
    picked = []
    view.on_pick = lambda kind, row: picked.append((kind, row))
    cam = view.model.camera_on(X0 + 75, Y0 - 65, distance=300)
    view._clicked({"position": cam.position, "focal": cam.focal_point, "up": cam.view_up,
                   "angle": 30, "aspect": 1.5, "x": 0.0, "y": 0.0})
    assert picked == [("buildings", 1)]
