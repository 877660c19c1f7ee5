"""RoadNetwork: the diagram it derives, its adjacency and its checks."""
from __future__ import annotations

import numpy as np
import pytest

from simulations.traffic import RoadNetwork


def test_capacity_defaults_to_the_triangular_diagram_per_lane():
    net = RoadNetwork([0, 1], [1, 2], 100.0, [13.89, 20.0], [1, 3],
                      jam_density_vpm=0.15, backward_wave_ms=6.0)
    u = np.array([13.89, 20.0])
    assert np.allclose(net.capacity_vps, u * 6.0 * 0.15 / (u + 6.0) * [1, 3])
    assert np.allclose(net.jam_vpm, [0.15, 0.45])


def test_given_capacity_is_kept_when_below_the_triangle():
    net = RoadNetwork([0], [1], 100.0, 15.0, 1, capacity_vps=0.5)
    assert net.capacity_vps[0] == 0.5


def test_adjacency_lists_every_link_once_by_node():
    rng = np.random.default_rng(0)
    up = rng.integers(0, 20, 200)
    dn = (up + rng.integers(1, 20, 200)) % 20
    net = RoadNetwork(up, dn, 50.0, 10.0, 1)
    for n in range(20):
        assert sorted(net.in_links[net.in_ptr[n]:net.in_ptr[n + 1]]) == \
            np.flatnonzero(dn == n).tolist()
        assert sorted(net.out_links[net.out_ptr[n]:net.out_ptr[n + 1]]) == \
            np.flatnonzero(up == n).tolist()


def test_disconnected_network_warns_listing_the_components():
    with pytest.warns(UserWarning, match=r"2 separate components.*\[0, 1\].*\[2, 3\]"):
        RoadNetwork([0, 1, 2], [1, 0, 3], 10.0, 10.0, 1)


def test_can_reach_follows_link_directions():
    net = RoadNetwork([0, 1], [1, 2], 10.0, 10.0, 1)
    assert net.can_reach([0, 2, 1], [2, 0, 2]).tolist() == [True, False, True]


@pytest.mark.parametrize("args, match", [
    (([0], [1], 0.0, 10.0, 1), r"length_m\[0\]"),
    (([0, 1], [1, 2], [10.0, -1.0], 10.0, 1), r"length_m\[1\]"),
    (([0], [1], 10.0, np.nan, 1), r"free_speed_ms\[0\]"),
    (([0], [1], 10.0, 10.0, 0), r"lanes\[0\]"),
    (([0], [-1], 10.0, 10.0, 1), r"downstream\[0\]"),
    (([0.5], [1], 10.0, 10.0, 1), r"upstream\[0\]"),
    (([0], [0], 10.0, 10.0, 1), "link 0 starts and ends"),
    (([0, 1], [1], 10.0, 10.0, 1), "equal 1-D"),
    (([0], [1], [10.0, 5.0], 10.0, 1), "length_m must hold one value per link"),
])
def test_bad_links_raise_naming_argument_and_link(args, match):
    with pytest.raises(ValueError, match=match):
        RoadNetwork(*args)


def test_node_out_of_range_names_the_link():
    with pytest.raises(ValueError, match="link 1 uses node 5"):
        RoadNetwork([0, 1], [1, 5], 10.0, 10.0, 1, n_nodes=3)


def test_bad_capacity_and_wave_raise():
    with pytest.raises(ValueError, match=r"capacity_vps\[0\]"):
        RoadNetwork([0], [1], 10.0, 10.0, 1, capacity_vps=-1.0)
    with pytest.raises(ValueError, match=r"backward_wave_ms\[0\]"):
        RoadNetwork([0], [1], 10.0, 10.0, 1, backward_wave_ms=0.0)
