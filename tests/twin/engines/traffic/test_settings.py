"""The [traffic] table: defaults, bad inputs naming the key, what-if shortcuts."""
from __future__ import annotations

import pytest

import twin
from geodata.errors import DataError
from twin.engines.traffic.settings import TrafficSettings, check_roads


def scenario(tmp_path, city, body):
    path = tmp_path / "t.toml"
    path.write_text(f'name = "t"\ncity = "{city}"\nstart = "2024-07-05T07:00:00+08:00"\n'
                    f'duration = "1h"\noutput_every = "5min"\n[traffic]\n{body}',
                    encoding="utf-8")
    return path


def test_defaults(tmp_path, sample_city_path):
    s = twin.load_scenario(scenario(tmp_path, sample_city_path, "")).traffic
    assert (s.demand, s.routing, s.demand_scale, s.time_step_s, s.warmup_s) == \
        ("city", "dynamic", 1.0, 2.0, 900.0)
    assert s.calibration.enabled and s.profile.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("body, match", [
    ("demand_scal = 2.0", r"traffic.demand_scal.*did you mean 'demand_scale'"),
    ("routing = \"fastest\"", r"traffic.routing.*dynamic, fixed"),
    ("demand = \"osm\"", r"traffic.demand.*city"),
    ("demand_scale = -1", r"traffic.demand_scale.*at least 0"),
    ("profile = [1.0, 2.0]", r"traffic.profile.*24"),
    ("profile = \"holiday\"", r"traffic.profile.*weekday"),
    ("closures = \"R00001\"", r"traffic.closures.*list of road ids"),
    ("congestion_threshold = 2.0", r"traffic.congestion_threshold.*at most 1"),
    ("time_step = \"fast\"", r"traffic.time_step.*not a duration"),
    ("incidents = [{ road = \"R00001\", start = \"30min\", end = \"10min\" }]",
     r"traffic.incidents\[0\].end.*not after the start"),
    ("incidents = [{ road = \"R00001\", end = \"10min\", capacity = 1.5 }]",
     r"traffic.incidents\[0\].capacity.*at most 1"),
    ("incidents = [{ rood = \"R00001\", end = \"10min\" }]",
     r"traffic.incidents\[0\].rood.*did you mean 'road'"),
    ("[traffic.calibration]\nenabled = \"yes\"", r"traffic.calibration.enabled.*true or false"),
])
def test_bad_inputs_name_the_key(tmp_path, sample_city_path, body, match):
    with pytest.raises(DataError, match=match):
        twin.load_scenario(scenario(tmp_path, sample_city_path, body))


def test_unknown_road_ids_are_named_with_a_did_you_mean():
    with pytest.raises(DataError, match=r"traffic.closures.*'R0012'.*did you mean 'R00012'"):
        check_roads(TrafficSettings(closures=("R0012",)), ["R00012", "R00100"], None)


def test_what_if_shortcuts(tmp_path, sample_city_path):
    s = twin.load_scenario(scenario(tmp_path, sample_city_path, 'closures = ["R00001"]\n'))
    v = s.with_changes(demand_scale=1.5, close_roads=["R00002"])
    assert v.traffic.demand_scale == 1.5
    assert v.traffic.closures == ("R00001", "R00002")
    assert "demand x1.5" in v.name and "closed R00002" in v.name
    with pytest.raises(DataError, match="demand_scale.*at least 0"):
        s.with_changes(demand_scale=-2)
