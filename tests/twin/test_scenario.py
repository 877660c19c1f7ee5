"""Scenario TOML: parsing, defaults, bad values and what-if variants."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from geodata.errors import DataError
from twin.scenario import load_scenario, parse_duration

GOOD = """
name = "Recorded storm"
city = "city.toml"
start = "2024-07-05T12:00:00+08:00"
duration = "6h"
output_every = "10min"
[flood]
cell_size = 8.0
buildings = "raised"
drainage_mm_h = 20.0
boundaries = { east = "open" }
[forcing.rain]
source = "gauges"
interpolation = "thiessen"
[forcing.river]
gauge = "WL01"
offset_m = 0.5
[[forcing.pumps]]
at = "pump_station"
capacity_m3s = 10.0
start_level_m = 0.3
[[forcing.pumps]]
at = { x = 585000.0, y = 3363000.0 }
capacity_m3s = 2
[forcing.breach]
at = "levee_gap"
width_m = 40
level_m = 21.0
time = "2h"
[impacts]
road_closed_depth_m = 0.25
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    (tmp_path / "city.toml").write_text('name = "x"\n')
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_good_scenario_parses_every_table(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.name == "Recorded storm"
    assert s.city == tmp_path / "city.toml"
    assert s.start == pd.Timestamp("2024-07-05T04:00:00Z")
    assert s.start.utcoffset() == pd.Timedelta(hours=8)
    assert s.duration_s == 6 * 3600 and s.output_every_s == 600
    assert s.n_frames == 36
    assert s.end == pd.Timestamp("2024-07-05T18:00:00+08:00")
    assert s.flood.buildings == "raised" and s.flood.drainage_mm_h == 20.0
    assert s.flood.boundaries == {"north": "closed", "east": "open", "south": "closed",
                                  "west": "closed"}
    assert s.flood.rain.interpolation == "thiessen" and s.flood.rain.scale == 1.0
    assert s.flood.river.gauge == "WL01" and s.flood.river.offset_m == 0.5 and s.flood.river.level_m is None
    assert s.flood.pumps[0].at == "pump_station" and s.flood.pumps[1].at == (585000.0, 3363000.0)
    assert s.flood.breach.time_s == 7200 and s.flood.breach.width_m == 40
    assert s.flood.impacts.road_closed_depth_m == 0.25
    assert s.flood.impacts.building_flooded_depth_m == 0.15   # default
    assert s.text == textwrap.dedent(GOOD)


def test_design_storm_and_forced_level(tmp_path):
    s = load_scenario(write(tmp_path, """
        city = "city.toml"
        start = 2024-07-05T12:00:00+08:00
        duration = 5400
        [forcing.rain]
        source = "design"
        return_period = 100
        duration = "1h30min"
        [forcing.river]
        level_m = 29.5
    """))
    assert s.name == "s" and s.duration_s == 5400 and s.output_every_s == 600
    assert s.start == pd.Timestamp("2024-07-05T04:00:00Z")
    assert s.flood.rain.return_period == 100 and s.flood.rain.duration_s == 5400 and s.flood.rain.peak_ratio == 0.4
    assert s.flood.river.level_m == 29.5


@pytest.mark.parametrize("text, key", [
    ('start = "2024-07-05T12:00:00+08:00"\nduration = "1h"', "'city' is missing"),
    ('city = "nowhere.toml"\nstart = "2024-07-05T12:00:00+08:00"\nduration = "1h"', "'city' names"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00"\nduration = "1h"', "no time zone"),
    ('city = "city.toml"\nstart = "5 July"\nduration = "1h"', "not an ISO 8601"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "-1h"', "'duration' must be"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"', "'duration' is missing"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "soon"', "not a duration"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\nspeed = 3',
     "'speed' is not known"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[forcing.rain]\nsource = "radar"', "'forcing.rain.source' is 'radar'"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[forcing.rain]\nsource = "gauges"\nreturn_period = 10', "only applies"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[forcing.rain]\nsource = "design"', "'forcing.rain.return_period' is missing"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[forcing.river]\ngauge = "WL01"\nlevel_m = 3.0', "exactly one of"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[flood]\ncell_size = 0', "'flood.cell_size' must be positive"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[flood]\nbuildings = "porous"', "'flood.buildings'"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[flood]\nboundaries = { up = "open" }', "'flood.boundaries.up' is not known"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[[forcing.pumps]]\ncapacity_m3s = 3', "'forcing.pumps[0].at' is missing"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[[forcing.pumps]]\nat = 3\ncapacity_m3s = 3', "'forcing.pumps[0].at'"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\n'
     '[impacts]\nhazard_classes = [2.0, 1.0, 3.0]', "hazard_classes"),
    ('city = "city.toml"\nstart = "2024-07-05T12:00:00Z"\nduration = "1h"\nname = [', "TOML"),
])
def test_bad_scenarios_name_file_key_and_fix(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert key in msg
    assert str(path) in msg and "Fix:" in msg


def test_missing_scenario_file(tmp_path):
    with pytest.raises(DataError, match="scenario file not found"):
        load_scenario(tmp_path / "absent.toml")


def test_parse_duration():
    assert parse_duration("6h") == 21600
    assert parse_duration("10min") == 600
    assert parse_duration("1h30min") == 5400
    assert parse_duration(12.5) == 12.5
    with pytest.raises(ValueError):
        parse_duration("later")


def test_with_changes_makes_a_validated_variant(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    v = s.with_changes(rain_scale=1.5, pumps=False, breach=False,
                       **{"forcing.river.offset_m": 1.25})
    assert v.flood.rain.scale == 1.5
    assert all(not p.enabled for p in v.flood.pumps) and len(v.flood.pumps) == 2
    assert v.flood.breach is not None and not v.flood.breach.enabled
    assert v.flood.river.offset_m == 1.25
    assert v.city == s.city and v.start == s.start
    assert "rain x1.5" in v.name and "pumps off" in v.name
    assert s.flood.rain.scale == 1.0 and s.flood.pumps[0].enabled       # the original is untouched
    with pytest.raises(DataError, match="design storm"):
        s.with_changes(return_period=50)
    with pytest.raises(DataError, match="'duration' must be"):
        s.with_changes(duration="-2h")


@pytest.mark.parametrize("name", ["storm", "design100", "yangtze_overtopping", "demo"])
def test_sample_scenarios_load(sample_city_path, name):
    s = load_scenario(sample_city_path.parent / "scenarios" / f"{name}.toml")
    assert s.city.resolve() == sample_city_path.resolve()
    assert s.start.tzinfo is not None and s.duration_s > 0
    if name == "design100":
        assert s.flood.rain.source == "design" and s.flood.rain.return_period == 100
    if name == "yangtze_overtopping":
        assert s.flood.rain is None and s.flood.river.offset_m > 0 and s.flood.breach.enabled
    if name == "demo":
        assert s.duration_s <= 2 * 3600


def test_a_recorded_storm_can_be_replayed_at_another_time(tmp_path):
    s = load_scenario(write(tmp_path, """
        city = "city.toml"
        start = "2024-07-05T17:30:00+08:00"
        duration = "1h"
        [forcing.rain]
        source = "gauges"
        recorded_start = "2024-07-05T13:30:00+08:00"
    """))
    assert s.flood.rain.recorded_start == pd.Timestamp("2024-07-05T05:30:00Z")
    with pytest.raises(DataError, match="recorded_start' has no time zone"):
        load_scenario(write(tmp_path, """
            city = "city.toml"
            start = "2024-07-05T17:30:00+08:00"
            duration = "1h"
            [forcing.rain]
            recorded_start = "2024-07-05T13:30:00"
        """))
