"""Sensor charts: the picked station's readings in local time, labelled levels,
zoomed to the run's period, time marker."""
import numpy as np
import pandas as pd
import pytest

from viewer.charts import SensorChart


@pytest.fixture(scope="module")
def sample_city(sample_city_path):
    import twin
    return twin.load_city(sample_city_path)


def test_readings_are_drawn_in_local_time(sample_city):
    sensors = sample_city.sensors
    sid = str(sensors.stations["id"].iloc[0])
    chart = SensorChart(sensors, "Asia/Shanghai")
    assert chart.picker.value == sid
    name = str(sensors.stations["name"].iloc[0])
    assert f"{name} ({sid})" in chart.options                  # picked by name
    series = sensors.series(sid)
    t = pd.DatetimeIndex(chart.source.data["t"])
    assert len(t) == len(series)
    np.testing.assert_allclose(chart.source.data["value"], series.to_numpy(float))
    utc = pd.DatetimeIndex(series.index).tz_convert("UTC").tz_localize(None)
    assert ((t - utc) == pd.Timedelta(hours=8)).all()          # Ezhou is UTC+8, no DST


def test_levels_are_labelled_and_the_marker_moves(sample_city):
    st = sample_city.sensors.stations
    with_alarm = st[st["alarm"].notna()]
    sid = str(with_alarm["id"].iloc[-1])
    chart = SensorChart(sample_city.sensors, "Asia/Shanghai")
    chart.select(sid)
    assert chart.picker.value == sid and sid in chart.fig.title.text
    level = float(with_alarm["alarm"].iloc[-1])
    assert chart.alarm.visible and chart.alarm.location == level
    span, label = chart.levels["alarm"]
    assert label.visible and label.text.startswith(f"alarm {level:g}") and label.y == level
    chart.set_time(pd.Timestamp("2024-07-05T06:00Z"))
    assert chart.now.location == pd.Timestamp("2024-07-05T14:00").value / 1e6


def test_zoomed_to_the_run_with_a_way_to_see_the_whole_record(sample_city):
    chart = SensorChart(sample_city.sensors, "Asia/Shanghai")
    start, end = pd.Timestamp("2024-07-05T05:40Z"), pd.Timestamp("2024-07-05T06:40Z")
    chart.set_period(start, end)
    lo, hi = chart.x_range.start, chart.x_range.end
    assert lo < pd.Timestamp("2024-07-05T13:40").value / 1e6 < hi
    assert hi - lo == pytest.approx(1.1 * 3600e3)               # the hour and 5 % each side
    chart.whole.value = True
    t = pd.DatetimeIndex(chart.source.data["t"])
    assert chart.x_range.start == t.min().value / 1e6 and chart.x_range.end == t.max().value / 1e6
    chart.whole.value = False
    assert chart.x_range.start == lo


def test_a_counter_is_drawn_with_its_modelled_flow(sample_city):
    chart = SensorChart(sample_city.sensors, "Asia/Shanghai")
    times = pd.date_range("2024-07-05T07:05:00+08:00", periods=3, freq="5min")
    chart.set_models({"TC01": pd.Series([1000.0, 1500.0, 2000.0], index=times)})
    chart.select("TC01")
    np.testing.assert_allclose(chart.model_source.data["value"], [1000, 1500, 2000])
    assert pd.DatetimeIndex(chart.model_source.data["t"])[0] == pd.Timestamp("2024-07-05 07:05")
    chart.select("WL01")                                     # no model for a level gauge
    assert len(chart.model_source.data["value"]) == 0
