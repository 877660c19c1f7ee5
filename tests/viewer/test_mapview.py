"""The 2D map: measurement in metres, aspect-true extent, picking with names,
the frame's water and road states."""
import numpy as np
import pytest

from scenes.meshes import city_scene
from viewer import palette
from viewer.mapview import MapView, map_extent, measure
from viewer.viewmodel import ViewModel


def _map(city, run=None, on_pick=None):
    picked = []
    mv = MapView(ViewModel(city, city_scene(city), run),
                 on_pick=on_pick or (lambda kind, row: picked.append((kind, row))))
    mv.picked = picked
    return mv


def test_measure_distance_and_area_of_a_right_triangle():
    length, area = measure([0, 30, 30], [0, 0, 40])
    assert length == pytest.approx(70.0) and area == pytest.approx(600.0)
    assert measure([5], [5]) == (0.0, 0.0)
    assert measure([0, 3], [0, 4]) == (5.0, 0.0)


def test_extent_keeps_one_metre_equal_both_ways():
    x0, x1, y0, y1 = map_extent((1000, 2000, 1400, 2100), (520, 420))
    assert (x1 - x0) / 520 == pytest.approx((y1 - y0) / 420)
    assert x0 < 1000 and x1 > 1400 and y0 < 2000 and y1 > 2100
    assert (x0 + x1) / 2 == pytest.approx(1200) and (y0 + y1) / 2 == pytest.approx(2050)


def test_tapping_a_building_shows_it_by_name_and_tells_the_3d_view(tiny_city, tiny_run):
    mv = _map(tiny_city, tiny_run)
    mv.select_building(1)           # as a tap in the browser sets the selection
    assert mv.picked == [("buildings", 1)]
    info = mv.info.object
    assert "<h4>Mall</h4>" in info and "commercial" in info and "30.00 m" in info
    assert "Flood" in info                                  # its flood state over the run
    mv.select_building(None)
    assert mv.picked[-1] == (None, None) and "Tap a building" in mv.info.object


def test_one_tap_tool_picks_roads_and_sensors_too(tiny_city, tiny_run):
    mv = _map(tiny_city, tiny_run)
    taps = [t for t in mv.figure.tools if type(t).__name__ == "TapTool"]
    assert len(taps) == 1 and len(taps[0].renderers) == 2     # roads, buildings (no sensors)
    mv.road_source.selected.indices = [0]
    assert mv.picked == [("roads", 0)] and "<h4>Lake Road</h4>" in mv.info.object
    mv.select("buildings", 0)                                 # from 3D: no call back
    assert mv.picked == [("roads", 0)] and mv.road_source.selected.indices == []
    assert mv.building_source.selected.indices == [0]
    assert mv.road_source.data["name"] == ["Lake Road (R1)"]
    assert mv.building_source.data["name"] == ["Home (B1)", "Mall (B2)"]


def test_footprints_are_drawn_where_the_buildings_are(tiny_city):
    mv = _map(tiny_city)
    xs = mv.building_source.data["xs"][1]
    ys = mv.building_source.data["ys"][1]
    np.testing.assert_allclose([min(xs), min(ys), max(xs), max(ys)],
                               [500060, 3359920, 500090, 3359950])   # the Mall's box


def test_drawn_line_and_polygon_are_measured(tiny_city):
    mv = _map(tiny_city)
    assert "double-click to start" in mv.measurement.object          # the hint
    mv.line_source.data = {"xs": [[0, 300, 300]], "ys": [[0, 0, 400]]}
    mv.area_source.data = {"xs": [[0, 100, 100, 0]], "ys": [[0, 0, 100, 100]]}
    assert "distance 700.0 m" in mv.measurement.object
    assert "area 10,000 m²" in mv.measurement.object and "1.00 ha" in mv.measurement.object


def test_a_frame_shows_its_water_and_closed_roads(tiny_city, tiny_run):
    mv = _map(tiny_city, tiny_run)
    mv.set_frame(2)
    assert mv.road_source.data["color"] == [palette.hex_color(palette.ROAD_CLOSED)]
    assert mv.road_source.data["state"] == ["closed"]
    img = mv.flood_source.data["image"][0]
    assert mv.flood_image.visible and (img > 0).sum() == 20      # the 20 wet cells
    assert mv.flood_source.data["x"] == [500000.0]
    mv.set_frame(0)
    assert (mv.flood_source.data["image"][0] > 0).sum() == 0
    assert mv.road_source.data["state"] == ["open"]


def test_footprints_follow_the_building_colours(tiny_city):
    mv = _map(tiny_city)
    mv.set_building_colors(np.array([[255, 0, 16], [0, 0, 0]], np.uint8))
    assert mv.building_source.data["color"] == ["#ff0010", "#000000"]


def test_a_building_with_a_bim_model_lists_its_storeys(sample_city_path):
    import twin
    city = twin.load_city(sample_city_path)
    if not city.bim:
        pytest.skip("the sample city has no BIM model")
    bid, model = next(iter(city.bim.items()))
    row = int(np.flatnonzero(city.buildings["id"].astype(str).to_numpy() == bid)[0])
    mv = _map(city)
    mv.show_building(row)
    assert "BIM storeys" in mv.info.object
    for name in model.storeys["name"]:
        assert str(name) in mv.info.object
