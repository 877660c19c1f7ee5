"""The 2D map: measurement in metres, aspect-true extent, building picking."""
import numpy as np
import pytest

from viewer.mapview import MapView, map_extent, measure


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


def test_clicking_a_building_shows_it_and_tells_the_3d_view(tiny_city):
    picked = []
    mv = MapView(tiny_city, on_building=picked.append)
    mv.select_building(1)           # as a tap in the browser sets the selection
    assert picked == [1]
    assert "Mall" in mv.info.object and "commercial" in mv.info.object and "30.00" in mv.info.object
    mv.select_building(None)
    assert picked == [1, None] and "Click a building" in mv.info.object


def test_footprints_are_drawn_where_the_buildings_are(tiny_city):
    mv = MapView(tiny_city, on_building=lambda i: None)
    xs = mv.building_source.data["xs"][1]
    ys = mv.building_source.data["ys"][1]
    np.testing.assert_allclose([min(xs), min(ys), max(xs), max(ys)],
                               [500060, 3359920, 500090, 3359950])   # the Mall's box


def test_drawn_line_and_polygon_are_measured(tiny_city):
    mv = MapView(tiny_city, on_building=lambda i: None)
    mv.line_source.data = {"xs": [[0, 300, 300]], "ys": [[0, 0, 400]]}
    mv.area_source.data = {"xs": [[0, 100, 100, 0]], "ys": [[0, 0, 100, 100]]}
    assert "distance 700.0 m" in mv.measurement.object
    assert "area 10,000 m²" in mv.measurement.object and "1.00 ha" in mv.measurement.object


def test_closed_roads_turn_red(tiny_city):
    mv = MapView(tiny_city, on_building=lambda i: None)
    mv.set_states(np.array([True]), None)
    assert mv.road_source.data["color"] == ["#e61e1e"]


def test_a_building_with_a_bim_model_lists_its_storeys(sample_city_path):
    import twin
    city = twin.load_city(sample_city_path)
    if not city.bim:
        pytest.skip("the sample city has no BIM model")
    bid, model = next(iter(city.bim.items()))
    row = int(np.flatnonzero(city.buildings["id"].astype(str).to_numpy() == bid)[0])
    mv = MapView(city, on_building=lambda i: None)
    mv.show_building(row)
    assert "BIM storeys" in mv.info.object
    for name in model.storeys["name"]:
        assert str(name) in mv.info.object
