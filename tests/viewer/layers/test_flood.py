"""The flood layer: water of a frame, depth classes, impacts, map image, info, what-ifs."""
import numpy as np
import pytest

from scenes.meshes import city_scene
from viewer import palette
from viewer.layers.flood import FloodLayer, variant_changes
from viewer.viewmodel import ViewModel

from ..conftest import SAMPLE, X0, Y0


@pytest.fixture
def flood(tiny_city, tiny_run):
    return ViewModel(tiny_city, city_scene(tiny_city), tiny_run).layers["flood"]


def test_the_flood_layer_is_found_by_the_engine_name(flood):
    assert isinstance(flood, FloodLayer) and flood.title == "Flood water"


def test_water_of_a_frame_sits_on_the_wet_cell(flood):
    assert flood.water(0).n_cells == 0
    mesh = flood.water(1)                                  # row 2, col 3: x 30..40, y -20..-30
    assert mesh.n_cells == 1
    world = np.asarray(mesh.points, float) + flood.model.origin
    np.testing.assert_allclose(sorted(set(world[:, 0])), [X0 + 30, X0 + 40])
    np.testing.assert_allclose(sorted(set(world[:, 1])), [Y0 - 30, Y0 - 20])
    np.testing.assert_allclose(world[:, 2], 20.0 - 0.3 + 0.5, atol=1e-4)
    assert mesh.area == pytest.approx(100.0)
    assert flood.water(2).area == pytest.approx(2 * 10 * 100.0, rel=1e-4)  # two rows, 1 % slope
    assert mesh.cell_data["rgb"][0].tolist() == list(palette.DEPTH_COLORS[3])   # 0.5-1 m


def test_surface_frame_covers_the_ever_wet_cells(flood):
    s = flood.surface()
    assert s.cells.size == 21                               # one cell, then rows 4-5
    shown, level, rgb = flood.surface_frame(2)
    assert shown.sum() == 20 and rgb.shape == (100, 3)
    assert np.isfinite(level).sum() == 3 * 11               # corner rows 4, 5, 6


def test_map_image_classes_the_depth_of_the_frame(flood):
    img, (x, y, w, h), pal = flood.map_image(2)
    assert img.shape == (4, 10)                             # rows 2..5 (ever wet), all columns
    assert (x, y, w, h) == (X0, Y0 - 60, 100.0, 40.0)
    # row 0 of the image is south: rows 5 and 4 of the grid, 0.4 m is class 3 of the palette
    assert (img[:2] == 3).all() and (img[2:] == 0).all()
    assert len(pal) == len(palette.DEPTH_COLORS) + 1 and pal[0].endswith("00")


def test_building_info_tells_the_flood_over_the_run(flood):
    info = flood.building_info(0, 2)                       # Home: 0.5 m at 14:30, dry after
    assert "flooded from 14:30" in info and "now 0.00 m" in info and "highest 0.50 m" in info
    assert "<svg" in info
    assert "flooded from 15:00" in flood.building_info(1, 0)      # the mall, 1.2 m at 15:00
    assert flood.feature_at(X0 + 35, Y0 - 25, 1) == "water depth 0.50 m"
    assert flood.feature_at(X0 - 500, Y0, 1) == ""


def test_legends_name_units_and_class_breaks(flood):
    depth = next(lg for lg in flood.legends("use") if lg.key == "flood-depth")
    labels = [label for label, _ in depth.classes]
    assert labels[1] == "0.15–0.3 m" and labels[-1] == "≥ 2 m"
    assert [c for _, c in depth.classes] == list(palette.DEPTH_COLORS)
    roads = next(lg for lg in flood.legends("use") if lg.key == "flood-roads")
    assert "0.3 m" in roads.classes[0][0]


@pytest.fixture
def demo():
    from twin.scenario import load_scenario
    path = SAMPLE / "scenarios" / "demo.toml"
    if not path.exists():
        pytest.skip("data_samples/ezhou/scenarios/demo.toml has not been generated")
    return load_scenario(path)


def test_only_changed_controls_become_changes(demo):
    same = variant_changes(demo, rain_scale=1.0, return_period=None, pumps=True, breach=False)
    assert same == {}                                   # the demo has no breach to switch
    changes = variant_changes(demo, rain_scale=1.5, return_period=None, pumps=False, breach=False)
    assert changes == {"rain_scale": 1.5, "pumps": False}
    assert variant_changes(demo, rain_scale=1.0, return_period=50, pumps=True,
                           breach=False) == {"return_period": 50.0}


def test_controls_say_why_they_are_off(demo, flood):
    controls = {c.widget.label: c for c in flood.whatif_controls(demo)}
    assert not controls["Rain scale"].widget.disabled
    assert controls["Levee breach"].widget.disabled
    assert "no levee breach" in controls["Levee breach"].why_disabled
    period = controls["Design storm return period"]
    assert period.widget.disabled and "design storms" in period.why_disabled
    assert period.why_disabled in period.widget.description
    controls["Rain scale"].widget.value = 2.0
    assert controls["Rain scale"].changes() == {"rain_scale": 2.0}
    assert flood.whatif_controls(None) == []
