"""The view-model: frames of a run -> water mesh, colours, KPIs, clock, cameras."""
import numpy as np
import pytest

from scenes import style
from scenes.meshes import city_scene
from viewer import palette
from viewer.viewmodel import ViewModel

from .conftest import X0, Y0


@pytest.fixture
def vm(tiny_city, tiny_run):
    return ViewModel(tiny_city, city_scene(tiny_city), tiny_run)


def test_clock_shows_local_time_in_ezhou(vm):
    assert vm.n_frames == 3
    assert vm.clock(0) == "2024-07-05 14:00:00 CST"   # 06:00 UTC + 8 h
    assert vm.clock(2) == "2024-07-05 15:00:00 CST"
    assert vm.frame_at("2024-07-05T14:45+08:00") == 1
    assert vm.frame_at("2030-01-01") == 2
    with pytest.raises(IndexError):
        vm.clock(3)


def test_water_of_a_frame_sits_on_the_wet_cell(vm, tiny_city):
    assert vm.water(0).n_cells == 0
    mesh = vm.water(1)                                 # row 2, col 3: x 30..40, y -20..-30
    assert mesh.n_cells == 1
    world = np.asarray(mesh.points, float) + vm.origin
    np.testing.assert_allclose(sorted(set(world[:, 0])), [X0 + 30, X0 + 40])
    np.testing.assert_allclose(sorted(set(world[:, 1])), [Y0 - 30, Y0 - 20])
    np.testing.assert_allclose(world[:, 2], 20.0 - 0.3 + 0.5, atol=1e-4)
    assert mesh.area == pytest.approx(100.0)
    assert vm.water(2).area == pytest.approx(2 * 10 * 100.0, rel=1e-4)  # two rows, 1 % slope


def test_buildings_coloured_by_impact_use_height_and_highlight(vm):
    impact = vm.building_colors(2, "impact")
    assert impact[0].tolist() == [200, 200, 200]                # dry: grey
    # 1.2 m: 20 % of the way from (220, 40, 40) at 1 m to (130, 0, 60) at 2 m
    assert impact[1].tolist() == [202, 32, 44]
    assert vm.building_colors(0, "use").tolist() == [list(style.BUILDING_USE_COLORS["residential"]),
                                                     list(style.BUILDING_USE_COLORS["commercial"])]
    height = vm.building_colors(0, "height")                    # 10 m, 30 m
    assert height[0].tolist() == [177, 197, 233] and height[1].tolist() == [96, 126, 212]
    assert vm.building_colors(0, highlight=1)[1].tolist() == list(palette.HIGHLIGHT)
    with pytest.raises(ValueError, match="colour mode"):
        vm.building_colors(0, "age")


def test_cell_colours_follow_the_building_index(vm):
    per_building = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)
    cells = vm.cell_colors("buildings", per_building)
    index = np.asarray(vm.scene.blocks["buildings"].cell_data["building_index"])
    assert (cells[index == 1] == [4, 5, 6]).all() and (cells[index == 0] == [1, 2, 3]).all()


def test_roads_close_at_the_scenario_threshold(vm):
    assert not vm.roads_closed(1).any()
    assert vm.roads_closed(2).tolist() == [True]               # 0.4 m >= 0.3 m
    assert vm.road_colors(2)[0].tolist() == list(palette.ROAD_CLOSED)
    assert vm.road_colors(0)[0].tolist() == list(style.ROAD_CLASS_COLORS["primary"])


def test_kpis_in_display_units_and_differences(vm, tiny_city, tiny_run):
    k = vm.kpis(2)
    assert k["flooded_area_m2"] == pytest.approx(0.2)           # 2000 m2 = 0.2 ha
    assert k["roads_closed"] == 1 and k["rain_mm_h"] == 5.0
    worse = tiny_run.__class__(**{**vars(tiny_run), "kpis": tiny_run.kpis.assign(
        max_depth_m=tiny_run.kpis.max_depth_m + 0.25)})
    other = ViewModel(tiny_city, vm.scene, worse)
    assert vm.kpi_difference(other, 1)["max_depth_m"] == pytest.approx(0.25)
    assert vm.kpi_difference(other, 1)["buildings_flooded"] == 0


def test_events_get_local_times(vm):
    ev = vm.events()
    assert ev["local"].tolist() == ["07-05 14:30", "07-05 15:00"]
    assert ev["where"].tolist() == ["Home", "Lake Road"]


def test_cameras_look_down_at_45_degrees_onto_the_place(vm):
    cam = vm.camera_presets()["venue"]
    focal = np.array(cam.focal_point) + vm.origin
    np.testing.assert_allclose(focal[:2], [X0 + 75, Y0 - 65])
    assert focal[2] == pytest.approx(20.0 - 0.7)                # ground at column 7
    offset = np.array(cam.position) - np.array(cam.focal_point)
    assert np.linalg.norm(offset) == pytest.approx(600.0)
    assert offset[2] == pytest.approx(-offset[1]) and offset[0] == 0
    assert set(vm.camera_presets()) == {"district", "venue"}


def test_without_a_run_the_city_is_dry(tiny_city):
    vm = ViewModel(tiny_city, city_scene(tiny_city), None)
    assert vm.n_frames == 1 and vm.kpis(0) == {} and vm.water(0).n_cells == 0
    assert not vm.roads_closed(0).any() and len(vm.events()) == 0
    assert vm.clock(0) == "no run loaded"


def test_real_run_water_and_kpis(real_run):
    import twin
    city = twin.load_city(real_run.scenario.city)
    vm = ViewModel(city, city_scene(city), real_run)
    last = vm.n_frames - 1
    depth = real_run.flood["depth"].isel(time=last).to_numpy()
    cell = float(abs(real_run.flood["x"][1] - real_run.flood["x"][0]))
    flat = vm.water(last).copy()
    flat.points[:, 2] = 0.0                                    # plan area, not the sloping surface
    assert flat.area == pytest.approx(np.sum(depth > 0.01) * cell ** 2, rel=1e-6)
    expected = float(real_run.kpis["max_depth_m"].iloc[last])
    assert vm.kpis(last)["max_depth_m"] == pytest.approx(expected)
    assert vm.building_depth(last).shape == (len(city.buildings),)
