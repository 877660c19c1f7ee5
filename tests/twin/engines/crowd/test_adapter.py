"""The crowd adapter end to end: egress from a hand-made venue, and a river that drowns an exit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import twin
from geodata.errors import DataError
from simulations.crowd import wading_speed_factor
from twin.scenario import parse_scenario

from .conftest import START, X0, Y0, scenario_text, venue_city

CROWD = 'area = "venue"\nradius_m = 60.0\ncell_size = 1.0\nexits = ["edges"]\npremovement = 0\n'


def test_the_venue_empties_and_every_person_is_counted(venue):
    city, folder = venue
    s = parse_scenario(scenario_text(folder, CROWD), source=folder / "s.toml")
    run = twin.run_scenario(s, out=folder / "egress.zarr", city=city)
    k = run.kpis
    n = run["crowd"].attrs["attendance"]
    assert n == 300                                          # from the gate counter
    np.testing.assert_array_equal(k["people_inside"] + k["people_evacuated"], n)
    assert k["people_evacuated"].is_monotonic_increasing and k["people_evacuated"].iloc[-1] == n
    bal = run.provenance["engines"]["crowd"]["balance"]
    assert bal["error"] == 0 and bal["exited"] == n
    clear = k["time_to_clear_95_s"].dropna().iloc[0]
    # nobody can be out before walking from the gate (y = 45 m) to the south edge at the
    # fastest desired speed of the Weidmann distribution (clipped at 2.2 m/s)
    assert clear > 45.0 / 2.2
    exits = run["crowd_exits"]
    assert int(exits["exited"].isel(time=-1).sum()) == n
    assert run["crowd"]["density"].dims == ("time", "y", "x")
    assert "Test Stadium" in run.summary()


def test_a_flooded_exit_closes_and_people_use_the_others(tmp_path):
    city = venue_city(tmp_path, river_level=11.0)
    z = city.terrain.data
    z[:] = 10.0 + 0.05 * (59 - np.arange(60))[None, :]    # rising westwards, 3 m over 120 m
    z[:, -5:] = 8.0                                        # the river bed, east of the area
    flood = ('[flood]\ncell_size = 2.0\n[forcing.river]\nlevel_m = 11.0\n')
    crowd = CROWD.replace('area = "venue"\nradius_m = 60.0',
                          f"area = {{ x = {X0 + 50}, y = {Y0 - 60} }}\nradius_m = 50.0")
    s = parse_scenario(scenario_text(tmp_path, crowd, extra=flood), source=tmp_path / "s.toml")
    run = twin.run_scenario(s, out=tmp_path / "coupled.zarr", city=city)
    assert run.engines == ("flood", "crowd")
    ev = run.events
    blocked = ev[ev["kind"] == "exit_blocked"]
    assert blocked["where"].tolist() == ["edge_east"] and blocked["engine"].tolist() == ["crowd"]
    closed_s = (blocked["time"].iloc[0] - pd.Timestamp(s.start)).total_seconds()
    east = run["crowd"]["exited"].sel(exit="edge_east")
    assert closed_s <= 120.0                                       # the water is there at once
    assert int(east.isel(time=-1)) == int(east.sel(time=closed_s))  # nobody out there after
    out = run["crowd"]["exited"].isel(time=-1)
    assert int(out.sum()) == run["crowd"].attrs["attendance"]       # everyone out elsewhere


def test_without_coupling_the_flood_does_not_reach_the_crowd(tmp_path):
    city = venue_city(tmp_path, river_level=11.0)
    z = city.terrain.data
    z[:] = 10.0 + 0.05 * (59 - np.arange(60))[None, :]
    z[:, -5:] = 8.0
    crowd = CROWD.replace('area = "venue"\nradius_m = 60.0',
                          f"area = {{ x = {X0 + 50}, y = {Y0 - 60} }}\nradius_m = 50.0")
    extra = 'coupled = false\n[flood]\ncell_size = 2.0\n[forcing.river]\nlevel_m = 11.0\n'
    s = parse_scenario(scenario_text(tmp_path, crowd, extra=extra), source=tmp_path / "s.toml")
    run = twin.run_scenario(s, out=tmp_path / "side.zarr", city=city)
    assert not s.coupled and run.flood["depth"].isel(time=-1).max() > 1.0
    assert (run.events["kind"] != "exit_blocked").all()
    assert int(run["crowd"]["exited"].isel(time=-1).sel(exit="edge_east")) > 0


@pytest.mark.parametrize("crowd, message", [
    ('attendance = -5', "crowd.attendance"),
    ('exits = ["doors"]', "crowd.exits"),
    ('cell_size = 0.01', "crowd.cell_size"),
    ('radius = 50', "did you mean 'radius_m'"),
])
def test_bad_crowd_tables(venue, crowd, message):
    _, folder = venue
    with pytest.raises(DataError, match=message):
        parse_scenario(scenario_text(folder, crowd), source=folder / "s.toml")


def rained_on(city, depth_m: float):
    """Add a rain gauge that pours ``depth_m`` of rain in the first minute (then none)."""
    import geopandas as gpd
    import shapely
    from geodata.sensors import SensorTable
    st = city.sensors.stations
    gauge = gpd.GeoDataFrame({"id": ["R1"], "name": ["Gauge"], "kind": ["rain_gauge"],
                              "unit": ["mm/h"], "warning": [50.0], "alarm": [100.0]},
                             geometry=[shapely.Point(X0 + 60, Y0 - 60)], crs=st.crs)
    t0 = pd.Timestamp(START)
    times = pd.date_range(t0 - pd.Timedelta("5min"), t0 + pd.Timedelta("30min"), freq="1min")
    rain = np.where(times == t0 + pd.Timedelta("1min"), depth_m * 1000 * 60, 0.0)
    readings = pd.concat([city.sensors.readings,
                          pd.DataFrame({"sensor_id": "R1", "time": times, "value": rain})])
    city.sensors = SensorTable(pd.concat([st, gauge], ignore_index=True), readings)
    return city


def test_people_wade_slower_through_shallow_water(tmp_path):
    """0.15 m of rain in the first minute on flat ground in a closed square: water stands
    0.15-0.18 m deep everywhere (below the walkable depth, so nothing is blocked). Coupled,
    everyone walks slower by the wading factor and the venue clears later than with the
    same flood side by side, but no later than the factor allows."""
    times = {}
    for coupled in (True, False):
        folder = tmp_path / str(coupled)
        folder.mkdir()
        city = rained_on(venue_city(folder), 0.15)
        extra = (f"coupled = {str(coupled).lower()}\nexchange_every = \"30s\"\n"
                 "[flood]\ncell_size = 2.0\ndrainage_mm_h = 0.0\nboundaries = { north = "
                 "\"closed\", east = \"closed\", south = \"closed\", west = \"closed\" }\n"
                 "[forcing.rain]\nsource = \"gauges\"\n")
        crowd = CROWD + 'event_end = "2min"\n'
        s = parse_scenario(scenario_text(folder, crowd, extra=extra, duration="8min"),
                           source=folder / "s.toml")
        run = twin.run_scenario(s, out=folder / "run.zarr", city=city)
        depth = run.flood["depth"].isel(time=2).values
        wet = float(np.median(depth[depth > 0]))
        assert 0.15 <= wet < 0.18                      # the roofs' rain runs onto the ground
        k = run.kpis
        times[coupled] = k["time_to_clear_95_s"].dropna().iloc[0] - 120.0
        assert (run.events["kind"] != "exit_blocked").all()
        assert k["people_evacuated"].iloc[-1] == run["crowd"].attrs["attendance"]
    slowest = 1.0 / float(wading_speed_factor(wet))
    assert 1.05 < times[True] / times[False] <= slowest * 1.05, (times, slowest)


def test_what_if_shortcuts_change_the_crowd_table(venue):
    _, folder = venue
    s = parse_scenario(scenario_text(folder, CROWD), source=folder / "s.toml")
    later = s.with_changes(event_end="3min", attendance=120, close_exits=["edge_east"])
    assert later.crowd.event_end_s == 180.0 and s.crowd.event_end_s == 0.0
    assert later.crowd.attendance == 120 and later.crowd.closed_exits == ("edge_east",)
    with pytest.raises(DataError, match="crowd.event_end"):
        s.with_changes(event_end="soon")
