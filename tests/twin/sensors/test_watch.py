"""Live alerts on hand-made streams whose events are known in advance."""
from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import Point

from twin.sensors import Watch

T0 = pd.Timestamp("2024-07-04T00:00Z")


def stations():
    return gpd.GeoDataFrame({
        "id": ["WL01", "WL02", "TC01", "RG01"], "name": ["a", "b", "c", "d"],
        "kind": ["water_level", "water_level", "traffic_counter", "rain_gauge"],
        "unit": ["m", "m", "veh/h", "mm/h"], "warning": [19.5, 19.5, 3600.0, 30.0],
        "alarm": [20.5, 20.5, 4500.0, 50.0]},
        geometry=[Point(10, 20), Point(30, 40), Point(50, 60), Point(70, 80)], crs=4547)


def readings(sensor, minutes, values):
    return pd.DataFrame({"sensor_id": sensor, "time": T0 + pd.to_timedelta(minutes, unit="min"),
                         "value": np.asarray(values, float)})


def test_threshold_crossings_once_each_across_batches():
    levels = [19.0, 19.6, 19.8, 20.6, 20.7, 19.0, 19.7]
    stream = readings("WL01", np.arange(7) * 5, levels)
    watch = Watch(stations())
    first, second = watch.update(stream.iloc[:3]), watch.update(stream.iloc[3:])
    events = pd.concat([first, second])
    assert events["kind"].tolist() == ["sensor"] * 3
    assert events["severity"].tolist() == ["warning", "alarm", "warning"]
    assert events["time"].tolist() == [T0 + pd.Timedelta(minutes=m) for m in (5, 15, 30)]
    assert (events[["x", "y"]].to_numpy() == [10, 20]).all()
    # a watch resumed from stored history does not raise the warning again
    resumed = Watch(stations())
    resumed.prime(stream.iloc[:3])
    assert resumed.update(stream.iloc[3:])["severity"].tolist() == ["alarm", "warning"]


def test_rate_of_rise_events_where_the_hourly_rise_crosses_its_levels():
    # 0.3 m/h for two hours, then 0.65 m/h: the one-hour rise reaches 0.5 m after
    # d minutes where 0.3 (60 - d) / 60 + 0.65 d / 60 = 0.5, d = 34.3: at the 155th minute
    minutes = np.arange(0, 200, 5)
    level = np.where(minutes <= 120, 18 + 0.3 * minutes / 60, 18.6 + 0.65 * (minutes - 120) / 60)
    watch = Watch(stations(), rise_window="1h", rise_m_per_h=(0.2, 0.5))
    stream = readings("WL02", minutes, level)
    events = pd.concat([watch.update(stream.iloc[k:k + 7]) for k in range(0, len(stream), 7)])
    assert events["kind"].tolist() == ["rate_of_rise", "rate_of_rise"]
    assert events["severity"].tolist() == ["warning", "alarm"]
    assert events["time"].tolist() == [T0 + pd.Timedelta(minutes=60), T0 + pd.Timedelta(minutes=155)]
    assert "0.30 m/h" in events["message"].iloc[0]


def test_counter_spike_and_dropout_are_anomalies_small_swings_are_not():
    minutes = np.arange(40) * 5
    counts = 1500 + (np.arange(40) % 5) * 20.0
    counts[30] = 3000      # below the warning level, far above the usual count
    counts[33] = 1700      # a swing, not an anomaly
    counts[36] = 0         # counter drops out
    watch = Watch(stations())
    stream = readings("TC01", minutes, counts)
    events = pd.concat([watch.update(stream.iloc[k:k + 10]) for k in range(0, 40, 10)])
    assert events["kind"].tolist() == ["anomaly", "anomaly"]
    assert events["time"].tolist() == [T0 + pd.Timedelta(minutes=150), T0 + pd.Timedelta(minutes=180)]
    assert events["severity"].tolist() == ["warning", "warning"]


def test_stale_sensor_then_resumed():
    watch = Watch(stations(), stale_intervals=3)
    watch.update(pd.concat([readings("RG01", np.arange(13) * 5, np.zeros(13)),
                            readings("TC01", np.arange(13) * 5, np.full(13, 1500.0))]))
    watch.update(readings("TC01", [70], [1500.0]))      # data clock: 70 min, RG01 silent 10 min
    assert len(watch.tick(time.time())) == 0
    watch.update(readings("TC01", [80], [1500.0]))      # RG01 silent 20 min > 3 x 5 min
    stale = watch.tick(time.time())
    assert stale["where"].tolist() == ["RG01"] and stale["kind"].tolist() == ["stale"]
    assert "silent for 20 min" in stale["message"].iloc[0]
    assert len(watch.tick(time.time())) == 0             # raised once
    back = watch.update(readings("RG01", [85], [0.0]))
    assert back["kind"].tolist() == ["resumed"] and back["severity"].tolist() == ["info"]
