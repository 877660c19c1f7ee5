"""The city network from hand-made roads: nodes, one-ways, capacity split, parts."""
from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geodata.errors import DataError, DataWarning
from twin.engines.traffic.network import city_network


def roads(rows):
    """rows: (id, coords, lanes, speed_kmh, capacity_vph, oneway, class)."""
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [f"Road {r[0]}" for r in rows],
         "lanes": [r[2] for r in rows], "speed_kmh": [r[3] for r in rows],
         "capacity_vph": [r[4] for r in rows], "oneway": [r[5] for r in rows],
         "class": [r[6] for r in rows],
         "geometry": [shapely.LineString(r[1]) for r in rows]}, crs="EPSG:4547")


SQUARE = [("a", [(0, 0), (100, 0)], 2, 36.0, 1800.0, False, "local"),
          ("b", [(100.4, 0.3), (100, 100)], 4, 54.0, 6000.0, False, "collector"),
          ("c", [(100, 100), (0, 100)], 1, 36.0, 900.0, True, "local"),
          ("d", [(0, 100), (0, 0)], 2, 36.0, 1800.0, False, "local")]


def test_nodes_snap_and_one_ways_make_one_link():
    net = city_network(roads(SQUARE))
    assert len(net.nodes) == 4                    # (100.4, 0.3) snapped onto (100, 0)
    assert net.n_links == 7                       # three two-way roads, one one-way
    c = net.links[net.links["road"] == "c"]
    assert c["direction"].tolist() == ["forward"]
    np.testing.assert_allclose(net.lines[c.index[0]][0], [100, 100])
    a = net.links[net.links["road"] == "a"].set_index("direction")
    assert a.loc["forward", "upstream"] == a.loc["backward", "downstream"]
    np.testing.assert_allclose(a["length_m"], 100.0)
    np.testing.assert_allclose(a["free_speed_ms"], 10.0)


def test_capacity_and_lanes_are_shared_between_directions():
    net = city_network(roads(SQUARE)).links.set_index(["road", "direction"])
    assert net.loc[("b", "forward"), "lanes"] == 2.0
    np.testing.assert_allclose(net.loc[("b", "backward"), "capacity_vps"], 3000.0 / 3600)
    assert net.loc[("c", "forward"), "lanes"] == 1.0          # one-way: all of them
    np.testing.assert_allclose(net.loc[("c", "forward"), "capacity_vps"], 900.0 / 3600)


def test_a_disconnected_network_is_warned_with_road_ids():
    rows = SQUARE + [("far", [(500, 500), (600, 500)], 2, 36.0, 1800.0, False, "local"),
                     ("spur", [(0, 0), (-50, 0)], 1, 36.0, 900.0, True, "local")]
    with pytest.warns(DataWarning, match=r"falls apart: 2 part.*far.*spur|falls apart.*spur.*far"):
        net = city_network(roads(rows))
    assert net.core.sum() == 4                     # demand only on the square
    far = net.links[net.links["road"] == "far"]
    assert not net.core[far["upstream"]].any()


def test_a_connected_network_is_not_warned():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        city_network(roads(SQUARE))


def test_gateways_are_arterial_dead_ends_at_the_edge():
    rows = SQUARE + [("g", [(100, 0), (200, 0)], 6, 60.0, 10800.0, False, "arterial"),
                     ("h", [(100, 0), (100, -60)], 2, 36.0, 1800.0, False, "local")]
    net = city_network(roads(rows))
    gw = net.gateways()
    assert len(gw) == 1 and np.allclose(net.nodes[gw[0]], [200, 0])


def test_an_arterial_ending_at_the_edge_on_a_lane_along_it_is_a_gateway():
    # the avenue g ends on the district's east edge, where the lane e-f runs along it
    rows = SQUARE + [("g", [(100, 0), (200, 0)], 6, 60.0, 10800.0, False, "arterial"),
                     ("e", [(200, -50), (200, 0)], 2, 36.0, 1800.0, False, "local"),
                     ("f", [(200, 0), (200, 100)], 2, 36.0, 1800.0, False, "local")]
    net = city_network(roads(rows))
    gw = net.gateways()
    assert len(gw) == 1 and np.allclose(net.nodes[gw[0]], [200, 0])


def test_bad_roads_are_data_errors():
    bad = roads(SQUARE)
    bad.loc[1, "speed_kmh"] = 0.0
    with pytest.raises(DataError, match="roads b have no positive speed_kmh"):
        city_network(bad)
    with pytest.raises(DataError, match="lack the column.*oneway"):
        city_network(roads(SQUARE).drop(columns="oneway"))
