"""The flood layer: water of a frame, depth classes, impacts, map image, info, what-ifs,
and permanent water (a lake) shown only where it rises above its normal level."""
import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr

from geodata.raster import Raster

from scenes.meshes import city_scene
from viewer import palette
from viewer.layers.flood import FloodLayer, variant_changes
from viewer.viewmodel import ViewModel

from ..conftest import CELL, SAMPLE, X0, Y0


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


# -- permanent water ------------------------------------------------------------------
LAKE_LEVEL, LAKE_BED = 19.0, 16.0         # a lake 3 m deep at its normal level


@pytest.fixture
def lake(tiny_city, tiny_run):
    """The tiny city with a lake on cells rows 7-9, cols 0-3 (bed 16 m, normal level
    19 m, from its ``level`` column) and a run: frame 0 the lake at its normal level,
    frame 1 risen 0.5 m, frame 2 risen 3 cm with 0.4 m of water on the land row 4."""
    return _lake_layer(tiny_city, tiny_run, LAKE_LEVEL)


def _lake_layer(tiny_city, tiny_run, mapped_level):
    ground = tiny_city.terrain.data.copy()
    ground[7:, :4] = LAKE_BED
    terrain = Raster(ground, tiny_city.terrain.transform, "EPSG:4547")
    water = gpd.GeoDataFrame({"id": ["W1"], "kind": ["lake"], "name": ["Test Lake"],
                              "level": [mapped_level]},
                             geometry=[shapely.box(X0 + 1, Y0 - 99, X0 + 39, Y0 - 71)],
                             crs="EPSG:4547")
    city = dataclasses.replace(tiny_city, terrain=terrain, water=water)
    depth = np.zeros((3, 10, 10), "float32")
    depth[:, 7:, :4] = LAKE_LEVEL - LAKE_BED + np.array([0.0, 0.5, 0.03])[:, None, None]
    depth[2, 4, :] = 0.4
    flood = tiny_run.flood.copy()
    flood["depth"] = xr.DataArray(depth, dims=("time", "y", "x"))
    run = dataclasses.replace(tiny_run, flood=flood)
    layer = ViewModel(city, city_scene(city), run).layers["flood"]
    inside = shapely.contains_xy(water.geometry.values[0], layer.drape().x, layer.drape().y)
    return layer, inside


def test_a_lake_at_its_normal_level_draws_no_flood(lake):
    layer, inside = lake
    body, normal = layer.water_bodies()
    assert (body[7:, :4] == 0).all() and (body >= 0).sum() == 12
    assert (normal[7:, :4] == LAKE_LEVEL).all()
    assert inside.sum() == 12                               # a vertex at each lake cell's centre
    frame = layer.drape_frame(0)
    assert (frame.height[inside] <= 0).all() and frame.cells == 0
    # the static lake shows: the drape's vertices there are under the lake bed
    z = layer.drape().heights(frame.height) + layer.model.origin[2]
    assert (z[inside] < LAKE_BED).all()
    assert layer.map_image(0)[0].max() == 0                 # no flood colour on the map
    # 3 cm above the normal level is still the lake, not a flood
    frame = layer.drape_frame(2)
    assert (frame.height[inside] <= 0).all()
    img = layer.map_image(2)[0]                             # rows 4..9, row 0 south
    assert (img[:3] == 0).all() and (img[-1] == 3).all()    # the lake rows; the land row 0.4 m


def test_a_risen_lake_draws_at_its_level_classed_by_the_rise(lake):
    layer, inside = lake
    frame = layer.drape_frame(1)
    drape = layer.drape()
    z = drape.heights(frame.height) + layer.model.origin[2]
    np.testing.assert_allclose(z[inside], LAKE_LEVEL + 0.5, atol=1e-6)
    # 0.5 m above the normal level is the class "0.5–1 m", not the 3.5 m of its depth
    assert palette.class_labels(palette.DEPTH_BREAKS, "m")[3] == "0.5–1 m"
    assert (frame.cls[inside] == 3).all() and frame.cells == 12
    img = layer.map_image(1)[0]                             # rows 4..9, row 0 south
    assert (img[:3, :4] == 3 + 1).all()                     # the map palette's class 3
    assert (img[:3, 4:] == 0).all() and (img[3:] == 0).all()
    assert "Test Lake: water +0.50 m against its normal level (19.00 m)" == \
        layer.feature_at(X0 + 15, Y0 - 85, 1)
    assert layer.feature_at(X0 + 15, Y0 - 85, 0).startswith("Test Lake: water +0.00 m")


def test_a_lake_starting_above_its_mapped_level_is_not_a_flood_at_the_start(tiny_city,
                                                                             tiny_run):
    """The scenario starts the lake at 19 m (a gauge's reading), 1.5 m above the 17.5 m
    of its polygon: the run's starting level is its normal level, so frame 0 shows no
    flood and frame 1 shows the 0.5 m rise, not 2 m."""
    layer, inside = _lake_layer(tiny_city, tiny_run, LAKE_LEVEL - 1.5)
    assert (layer.water_bodies()[1][7:, :4] == LAKE_LEVEL).all()
    assert (layer.drape_frame(0).height[inside] <= 0).all()
    assert (layer.drape_frame(1).cls[inside] == 3).all()
    assert layer.map_image(0)[0].max() == 0
