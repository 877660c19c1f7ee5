"""Ensemble variations: parsing, Latin hypercube members, member scenarios."""
from __future__ import annotations

import numpy as np
import pytest

from geodata.errors import DataError
from twin.scenario import parse_scenario
from twin.variation import member_scenario, parse_variations, sample

SCENARIO = """
name = "s"
city = "{city}"
start = "2024-07-05T12:00:00+08:00"
duration = "1h"
[flood]
cell_size = 16.0
[forcing.rain]
source = "design"
return_period = 10
duration = "1h"
[[forcing.pumps]]
at = {{ x = 1.0, y = 2.0 }}
capacity_m3s = 3.0
"""


def test_latin_hypercube_covers_each_range_evenly():
    v = parse_variations(["rain_scale=0.5:1.5", "river_offset=0:2"])
    t = sample(v, members=10, seed=3)
    for name, lo, hi in (("rain_scale", 0.5, 1.5), ("river_offset", 0.0, 2.0)):
        bins = np.floor((t[name].to_numpy() - lo) / (hi - lo) * 10).astype(int)
        assert sorted(bins) == list(range(10))           # one member per tenth
    assert sample(v, 10, seed=3).equals(t)               # reproducible


def test_value_lists_cycle():
    t = sample(parse_variations(["pump_failure=0,1"]), members=5)
    assert t["pump_failure"].tolist() == [0, 1, 0, 1, 0]


@pytest.mark.parametrize("spec, message", [
    ("rain_scal=0.5:1.5", "did you mean 'rain_scale'"),
    ("rain_scale=1.5:0.5", "empty"),
    ("rain_scale=a:b", "not a number"),
    ("rain_scale", "NAME=LOW:HIGH"),
    ("rain_scale=nan:1", "not finite"),
])
def test_bad_variations(spec, message):
    with pytest.raises(DataError, match=message):
        parse_variations([spec])


def test_zero_members_is_an_error():
    with pytest.raises(DataError, match="positive whole number"):
        sample(parse_variations(["rain_scale=0:1"]), members=0)


def test_member_scenarios_apply_the_values(tmp_path):
    (tmp_path / "city.toml").write_text('name = "x"\n')
    s = parse_scenario(SCENARIO.format(city=tmp_path / "city.toml"), source=tmp_path / "s.toml")
    m = member_scenario(s, {"rain_scale": 1.25, "pump_capacity": 7.5, "pump_failure": 0.0})
    assert m.flood.rain.scale == 1.25 and m.flood.pumps[0].capacity_m3s == 7.5
    assert m.flood.pumps[0].enabled and "rain_scale=1.25" in m.name
    assert not member_scenario(s, {"pump_failure": 1.0}).flood.pumps[0].enabled
    with pytest.raises(DataError, match="no \\[forcing.river\\] table"):
        member_scenario(s, {"river_offset": 1.0})
