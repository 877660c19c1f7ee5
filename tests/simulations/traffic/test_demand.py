"""Demand rows, trip groups and the trips table."""
from __future__ import annotations

import numpy as np
import pytest

from simulations.traffic.demand import Demand


def test_groups_span_bins_and_thin_flows_get_longer_bins():
    d = Demand(n_nodes=4, bin_s=60.0, min_group_veh=5.0)
    d.add([0, 1], [3, 2], 0.0, 600.0, [1.0, 0.01])
    assert d.rows["nbins"].tolist() == [10, 2]      # 0.01 veh/s: 500 s bins for 5 vehicles
    assert d.n_groups == 12
    assert sorted(d.dest_nodes.tolist()) == [2, 3]


def test_trips_report_mean_times_and_nan_until_all_arrived():
    d = Demand(n_nodes=3, bin_s=60.0, min_group_veh=0.0)
    d.add(0, 2, 0.0, 60.0, 1.0)
    g = d.groups
    g["demanded"][0], g["depart"][0] = 60.0, 60.0 * 30.0
    g["arrived"][0], g["arrive"][0] = 30.0, 30.0 * 100.0
    t = d.trips()
    assert np.isnan(t.arrive_s[0]) and t.depart_s[0] == 30.0
    g["arrived"][0], g["arrive"][0] = 60.0, 60.0 * 110.0
    assert d.trips().arrive_s[0] == pytest.approx(110.0)


def test_bad_bin_raises():
    with pytest.raises(ValueError, match="trip_bin_s"):
        Demand(3, 0.0)


def test_quanta_split_a_row_evenly_and_bad_quantum_raises():
    d = Demand(n_nodes=3, bin_s=60.0, quantum_veh=1.0)
    d.add(0, 2, 0.0, 100.0, 0.105)                     # 10.5 vehicles -> 11 quanta
    assert d.rows["quanta"].tolist() == [11]
    assert 0.0 <= d.rows["phase"][0] < 1.0
    with pytest.raises(ValueError, match="quantum_veh"):
        Demand(3, 60.0, quantum_veh=0.0)
    with pytest.raises(ValueError, match="min_group_veh"):
        Demand(3, 60.0, min_group_veh=-1.0)
