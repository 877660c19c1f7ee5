"""The walkable square around a venue: walls, gates, exits, attendance from counters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geodata.errors import DataError, DataWarning
from twin.engines.crowd.area import counted_attendance, crowd_area
from twin.engines.crowd.settings import CrowdSettings

from .conftest import START, X0, Y0


def settings(**kw) -> CrowdSettings:
    base = dict(radius_m=60.0, cell_size=1.0, exits=("edges",))
    return CrowdSettings(**{**base, **kw})


def test_walls_gates_and_exits(venue):
    city, _ = venue
    a = crowd_area(city, settings(area=(X0 + 60, Y0 - 60)))
    g = a.grid
    assert g.shape == (120, 120) and g.bounds == (X0, Y0 - 120, X0 + 120, Y0)
    r, c = g.index(X0 + 15, Y0 - 25)
    assert not a.walkable[r, c]                                  # inside the house: a wall
    r, c = g.index(X0 + 60, Y0 - 60)
    assert a.walkable[r, c] and a.start[r, c]                    # inside the stadium
    r, c = g.index(X0 + 45, Y0 - 75 + 0.5)                       # south wall, far from the gate
    assert not a.walkable[r, c]
    r, c = g.index(X0 + 60, Y0 - 75 + 0.5)                       # south wall at the gate
    assert a.walkable[r, c]
    assert a.gates["name"].tolist() == ["South gate"] and a.counters == ["G1"]
    assert sorted(a.exits) == ["edge_east", "edge_north", "edge_south", "edge_west"]
    both = sum(m.astype(int) for m in a.exits.values())
    assert both.max() == 1                                        # each cell one exit
    assert a.exits["edge_north"][0].sum() == 120


def test_a_city_without_a_station_warns_and_leaves_it_out(venue):
    city, _ = venue
    with pytest.warns(DataWarning, match="no station"):
        a = crowd_area(city, settings(exits=("edges", "station")))
    assert "station" not in a.exits


@pytest.mark.parametrize("kw, message", [
    ({"area": (0.0, 0.0)}, "outside the city"),
    ({"venue": "NOPE"}, "building 'NOPE'"),
    ({"closed_exits": ("edge_up",)}, "edge_up"),
    ({"area": "pier"}, "place 'pier'"),
])
def test_bad_areas_are_named(venue, kw, message):
    city, _ = venue
    with pytest.raises(DataError, match=message):
        crowd_area(city, settings(**kw))


def test_attendance_counts_the_gate_flow_above_its_quiet_level(venue):
    city, _ = venue
    # six 5-min readings of 60 people against a median of 10 -> 300 people
    assert counted_attendance(city, ["G1"], pd.Timestamp(START), 0.0) == pytest.approx(300.0)
    assert counted_attendance(city, ["G1"], pd.Timestamp(START), 6 * 3600.0) == 0.0
    assert counted_attendance(city, [], pd.Timestamp(START), 0.0) == 0.0
