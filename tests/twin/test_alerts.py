"""Threshold events: one per crossing, right time, severity and place."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr

from geodata.sensors import SensorTable
from twin.alerts import (EVENT_COLUMNS, hazard_events, impact_events, scenario_events,
                         sensor_events, sensors_in_alarm)
from twin.engines.flood.impacts import Impacts
from twin.engines.flood.settings import Thresholds

START = pd.Timestamp("2024-07-05T12:00:00+08:00")
T = pd.date_range("2024-07-05T04:00Z", periods=8, freq="10min")


def table() -> SensorTable:
    stations = gpd.GeoDataFrame(
        {"id": ["WL1", "RG1", "TC1"], "name": ["Yangtze gauge", "Rain west", "Counter"],
         "kind": ["water_level", "rain_gauge", "traffic_counter"], "unit": ["m", "mm/h", "veh/h"],
         "warning": [18.0, 30.0, np.nan], "alarm": [19.5, 50.0, np.nan]},
        geometry=[shapely.Point(1, 2), shapely.Point(3, 4), shapely.Point(5, 6)], crs="EPSG:4547")
    readings = pd.concat([
        pd.DataFrame({"sensor_id": "WL1", "time": T,
                      "value": [17.0, 18.2, 18.4, 19.6, 19.0, 17.5, 18.5, 18.6]}),
        pd.DataFrame({"sensor_id": "RG1", "time": T, "value": [0, 10, 60, 60, 20, 0, 0, 0.0]}),
        pd.DataFrame({"sensor_id": "TC1", "time": T, "value": 9999.0}),
        pd.DataFrame({"sensor_id": "WL1", "time": [T[0] - pd.Timedelta("1D")], "value": [25.0]}),
    ])
    return SensorTable(stations, readings)


def test_sensor_events_one_per_crossing():
    ev = sensor_events(table(), START, START + pd.Timedelta("2h"))
    assert list(ev.columns) == EVENT_COLUMNS
    wl = ev[ev["where"] == "WL1"]
    assert wl["time"].tolist() == [T[1], T[3], T[6]]
    assert wl["severity"].tolist() == ["warning", "alarm", "warning"]
    assert (wl["x"] == 1).all() and (wl["y"] == 2).all()
    assert "Yangtze gauge" in wl["message"].iloc[1] and "19.6" in wl["message"].iloc[1]
    rg = ev[ev["where"] == "RG1"]
    assert rg["time"].tolist() == [T[2]] and rg["severity"].tolist() == ["alarm"]   # 10 -> 60 jumps
    assert "TC1" not in set(ev["where"])                     # no thresholds, no events
    assert str(ev["time"].dt.tz) == "UTC"
    later = sensor_events(table(), START + pd.Timedelta("35min"), START + pd.Timedelta("2h"))
    # WL1 already in alarm at the window's first reading raises its event there
    assert later[later["where"] == "WL1"]["time"].tolist() == [T[4], T[6]]


def test_sensors_in_alarm_counts_latest_readings():
    times = pd.DatetimeIndex([T[0] - pd.Timedelta("5h"), T[0], T[2] + pd.Timedelta("5min"), T[3],
                              T[4], T[7]])
    np.testing.assert_array_equal(sensors_in_alarm(table(), times), [1, 0, 1, 2, 0, 0])


def hand_impacts() -> Impacts:
    t = np.array([0.0, 600.0, 1200.0, 1800.0])
    bd = np.array([[0, 0], [0.2, 0.1], [0.1, 0.3], [0.4, 0.3]])
    rd = np.array([[0.0], [0.5], [0.1], [0.4]])
    buildings = pd.DataFrame({"id": ["A", "B"], "max_depth": [0.4, 0.3],
                              "first_flooded_s": [600.0, 1200.0], "flooded": True,
                              "people": [12.0, 0.0], "x": [10.0, 20.0], "y": [1.0, 2.0]})
    roads = pd.DataFrame({"id": ["R1"], "max_depth": [0.5], "closed_from_s": [600.0],
                          "closed": [True], "x": [5.0], "y": [6.0]})
    return Impacts(xr.DataArray(bd, dims=("time", "building"), coords={"time": t}),
                   xr.DataArray(rd, dims=("time", "road"), coords={"time": t}),
                   buildings, roads, pd.DataFrame({"time_s": t}), START)


def test_impact_events():
    ev = impact_events(hand_impacts(), Thresholds(), vital=["A"])
    at = START.tz_convert("UTC")
    got = {(r.kind, r.where, (r.time - at).total_seconds(), r.severity) for r in ev.itertuples()}
    assert got == {("building_flooded", "A", 600.0, "alarm"),      # vital: its own events
                   ("building_flooded", "A", 1800.0, "alarm"),     # dried below 0.15, flooded again
                   ("buildings_flooded", "B", 1200.0, "warning"),  # nobody inside
                   ("road_closed", "R1", 600.0, "warning"),
                   ("road_reopened", "R1", 1200.0, "info"),
                   ("road_closed", "R1", 1800.0, "warning")}
    a = ev[(ev["where"] == "A")].iloc[0]
    assert (a["x"], a["y"]) == (10.0, 1.0) and "12 people" in a["message"]


def test_ordinary_buildings_are_grouped_per_frame():
    ev = impact_events(hand_impacts(), Thresholds())
    grouped = ev[ev["kind"] == "buildings_flooded"].sort_values("time")
    # frame 1: A floods (0.2 m, 12 people); frame 2: B floods (0.3 m); frame 3: A again (0.4 m)
    assert grouped["where"].tolist() == ["A", "B", "A"]
    assert grouped["severity"].tolist() == ["alarm", "warning", "alarm"]
    assert "1 building newly flooded, 12 people inside; deepest 0.20 m at A" == (
        grouped["message"].iloc[0])
    imp = hand_impacts()
    imp.building_depth.values[1] = [0.2, 0.5]                      # both flood in frame 1
    both = impact_events(imp, Thresholds())
    first = both[(both["kind"] == "buildings_flooded")].sort_values("time").iloc[0]
    assert first["where"] == "B" and first["message"].startswith("2 buildings newly flooded, 12 people")
    assert (first["x"], first["y"]) == (20.0, 2.0)


def test_hazard_events_per_class():
    kpis = pd.DataFrame({"time": START + pd.to_timedelta([0, 1, 2, 3, 4, 5], unit="h"),
                         "max_hazard_m2s": [0.1, 0.8, 0.5, 1.3, 2.5, 0.9],
                         "hazard_x": [0, 100.0, 0, 400.0, 900.0, 0], "hazard_y": 0.0})
    ev = hazard_events(kpis, Thresholds(), places={"school": (90.0, 0.0), "pier": (1000.0, 0.0)})
    assert ev["severity"].tolist() == ["warning", "alarm", "critical"]
    assert ev["time"].tolist() == list(kpis["time"].iloc[[1, 3, 4]])
    assert ev["where"].tolist() == ["school", "school", "pier"]
    assert "danger for all" in ev["message"].iloc[2]
    assert len(hazard_events(kpis.assign(max_hazard_m2s=0.5), Thresholds())) == 0


def test_scenario_events_sorted_and_deduplicated():
    a = sensor_events(table(), START, START + pd.Timedelta("2h"))
    b = impact_events(hand_impacts(), Thresholds(), vital=["A"])
    ev = scenario_events(a, b, a)
    assert len(ev) == len(a) + len(b)
    assert ev["time"].is_monotonic_increasing
    same = ev[ev["time"] == T[1]]
    # at 04:10Z: the building with people (alarm) before the sensor warning
    assert same["severity"].tolist()[0] == "alarm"
    assert len(scenario_events()) == 0
