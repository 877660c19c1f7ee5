"""The view-model: frames of a run -> colours, KPIs, clock, names, cameras, merged
over the run's engine layers."""
import numpy as np
import pytest

from scenes import style
from scenes.meshes import city_scene
from viewer import palette
from viewer.layers import Kpi, Layer, Legend, register
from viewer.viewmodel import RunView, ViewModel

from .conftest import X0, Y0


@pytest.fixture
def vm(tiny_city, tiny_run):
    return ViewModel(tiny_city, city_scene(tiny_city), tiny_run)


def test_the_hand_made_run_and_the_real_run_follow_the_protocol(tiny_run, real_run):
    assert isinstance(tiny_run, RunView)
    missing = [name for name in ("engines", "times", "kpis", "events", "impacts", "scenario",
                                 "name", "path", "__getitem__") if not hasattr(real_run, name)]
    if missing:
        pytest.xfail(f"twin.Run does not have {missing} yet (the generic Run is landing)")
    assert isinstance(real_run, RunView)


def test_clock_shows_local_time_in_ezhou(vm):
    assert vm.n_frames == 3
    assert vm.clock(0) == "2024-07-05 14:00:00 CST"   # 06:00 UTC + 8 h
    assert vm.clock(2) == "2024-07-05 15:00:00 CST"
    with pytest.raises(IndexError):
        vm.clock(3)


def test_a_time_goes_to_the_first_frame_at_or_after_it(vm):
    assert vm.frame_at("2024-07-05T14:05+08:00") == 1      # not back to 14:00
    assert vm.frame_at("2024-07-05T14:30+08:00") == 1      # exactly on a frame
    assert vm.frame_at("2024-07-05T14:31+08:00") == 2
    assert vm.frame_at("2000-01-01") == 0 and vm.frame_at("2030-01-01") == 2


def test_buildings_coloured_by_use_height_impact_and_highlight(vm):
    assert vm.building_colors(0, "use").tolist() == [list(style.BUILDING_USE_COLORS["residential"]),
                                                     list(style.BUILDING_USE_COLORS["commercial"])]
    height = vm.building_colors(0, "height")                    # 10 m, 30 m
    # 10 m is 2/3 of the way between the 0 m and 15 m stops; 30 m 60 % of 15 -> 40 m
    lo, mid, hi = (np.array(c, float) for _, c in palette.HEIGHT_STOPS[:3])
    assert height[0].tolist() == np.rint(lo + (mid - lo) * 10 / 15).astype(int).tolist()
    assert height[1].tolist() == np.rint(mid + (hi - mid) * 15 / 25).astype(int).tolist()
    impact = vm.building_colors(2, "impact")                    # dry; 1.2 m (1-2 m class)
    assert impact[0].tolist() == list(palette.IMPACT_COLORS[0])
    assert impact[1].tolist() == list(palette.IMPACT_COLORS[4])
    assert vm.building_colors(0, highlight=1)[1].tolist() == list(palette.HIGHLIGHT)
    with pytest.raises(ValueError, match="colour mode"):
        vm.building_colors(0, "age")
    assert vm.building_modes == {"Use": "use", "Height": "height", "Flood impact": "impact"}


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
    assert vm.road_colors(0, highlight=0)[0].tolist() == list(palette.HIGHLIGHT)


def test_kpis_in_display_units_and_differences(vm, tiny_city, tiny_run):
    k = vm.kpis(2)
    assert k["flooded_area_m2"] == pytest.approx(0.2)           # 2000 m2 = 0.2 ha
    assert k["roads_closed"] == 1 and k["rain_mm_h"] == 5.0
    assert [s.key for s in vm.kpi_specs][:2] == ["flooded_area_m2", "max_depth_m"]
    worse = tiny_run.__class__(**{**vars(tiny_run), "kpis": tiny_run.kpis.assign(
        max_depth_m=tiny_run.kpis.max_depth_m + 0.25)})
    other = ViewModel(tiny_city, vm.scene, worse)
    assert vm.kpi_difference(other, 1)["max_depth_m"] == pytest.approx(0.25)
    assert vm.kpi_difference(other, 1)["buildings_flooded"] == 0


def test_events_speak_with_names_and_readable_kinds(vm):
    ev = vm.events()
    assert ev["local"].tolist() == ["14:05", "15:00"]          # one day: the clock is enough
    assert ev["place"].tolist() == ["Home (B1)", "Lake Road (R1)"]
    assert ev["kind"].tolist() == ["Building flooded", "Road closed"]
    assert ev["message"].tolist() == ["Home (B1) wet", "road Lake Road (R1) closed"]
    assert ev["target_kind"].tolist() == ["buildings", "roads"]
    assert ev["target_row"].tolist() == [0, 0] and ev["engine"].tolist() == ["flood", "flood"]


def test_targets_and_place_names(vm):
    t = vm.target("B2")
    assert (t.kind, t.row, t.label) == ("buildings", 1, "Mall (B2)")
    assert vm.target("nothing") is None
    assert vm.place_label("district") == "Whole district"
    assert vm.place_label("venue") == "Venue – Mall"             # the mall is at the venue


def test_cameras_look_down_at_45_degrees_onto_the_place(vm):
    cam = vm.camera_presets()["venue"]
    focal = np.array(cam.focal_point) + vm.origin
    np.testing.assert_allclose(focal[:2], [X0 + 75, Y0 - 65])
    assert focal[2] == pytest.approx(20.0 - 0.7)                # ground at column 7
    offset = np.array(cam.position) - np.array(cam.focal_point)
    assert np.linalg.norm(offset) == pytest.approx(600.0)
    assert offset[2] == pytest.approx(-offset[1]) and offset[0] == 0
    assert set(vm.camera_presets()) == {"district", "venue"}


def test_legends_follow_the_colour_mode(vm):
    keys = [lg.key for lg in vm.legends("use")]
    assert keys[0] == "use" and "flood-depth" in keys and "flood-impact" not in keys
    assert [lg.key for lg in vm.legends("impact")][0] == "flood-impact"
    height = vm.legends("height")[0]
    assert height.kind == "ramp" and height.unit == "m"


def test_without_a_run_the_city_is_dry(tiny_city):
    vm = ViewModel(tiny_city, city_scene(tiny_city), None)
    assert vm.n_frames == 1 and vm.kpis(0) == {} and vm.layers == {}
    assert not vm.roads_closed(0).any() and len(vm.events()) == 0
    assert vm.clock(0) == "no run loaded"


def test_a_toy_engine_layer_adds_its_kpis_colours_and_legend(tiny_city, tiny_run):
    @register
    class Toy(Layer):
        name, title = "toy", "Toy engine"
        kpis = (Kpi("toys", "Toys", "", "{:.0f}"),)
        building_modes = {"Toys": "toys"}

        def kpi_values(self, i):
            return {"toys": 10.0 * i}

        def building_colors(self, mode, i):
            return np.full((len(self.model.city.buildings), 3), i, np.uint8) \
                if mode == "toys" else None

        def road_colors(self, i, rgb):
            return np.zeros_like(rgb) + 7

        def road_widths(self, i):
            return np.full(len(self.model.city.roads), 1.0 + i)

        def legends(self, mode):
            return [Legend("Toys", key="toys", classes=(("toy", (7, 7, 7)),))]

    run = tiny_run.__class__(**{**vars(tiny_run), "engines": ("flood", "toy", "nolayer")})
    vm = ViewModel(tiny_city, city_scene(tiny_city), run)
    assert list(vm.layers) == ["flood", "toy"]                  # no layer module: not drawn
    assert vm.kpis(2)["toys"] == 20.0 and vm.kpis(2)["max_depth_m"] == 1.2
    assert vm.building_colors(2, "toys").tolist() == [[2, 2, 2]] * 2
    assert vm.road_colors(2)[0].tolist() == [7, 7, 7]           # after flood's closed red
    assert "toys" in [lg.key for lg in vm.legends("use")]
    from viewer.mapview import MapView
    mv = MapView(vm, on_pick=lambda kind, row: None)
    mv.set_frame(2)                                             # a line layer's flow as width
    assert mv.road_source.data["width"] == [6.0]
    assert mv.road_source.data["color"] == [palette.hex_color((7, 7, 7))]


def test_real_run_kpis_and_impacts(real_run):
    import twin
    city = twin.load_city(real_run.scenario.city)
    vm = ViewModel(city, city_scene(city), real_run)
    last = vm.n_frames - 1
    expected = float(real_run.kpis["max_depth_m"].iloc[last])
    assert vm.kpis(last)["max_depth_m"] == pytest.approx(expected)
    assert vm.layers["flood"].building_depth(last).shape == (len(city.buildings),)
    named = vm.events()
    assert len(named) == len(real_run.events)
    assert not named["place"].str.fullmatch(r"[A-Z]+\d+").any()   # every place has a name
