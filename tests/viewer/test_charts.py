"""Sensor charts: the picked station's readings in local time, levels, time marker."""
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
    series = sensors.series(sid)
    t = pd.DatetimeIndex(chart.source.data["t"])
    assert len(t) == len(series)
    np.testing.assert_allclose(chart.source.data["value"], series.to_numpy(float))
    utc = pd.DatetimeIndex(series.index).tz_convert("UTC").tz_localize(None)
    assert ((t - utc) == pd.Timedelta(hours=8)).all()          # Ezhou is UTC+8, no DST


def test_picking_another_sensor_and_moving_the_marker(sample_city):
    st = sample_city.sensors.stations
    with_alarm = st[st["alarm"].notna()]
    sid = str(with_alarm["id"].iloc[-1])
    chart = SensorChart(sample_city.sensors, "Asia/Shanghai")
    chart.select(sid)
    assert chart.picker.value == sid and sid in chart.fig.title.text
    assert chart.alarm.visible and chart.alarm.location == float(with_alarm["alarm"].iloc[-1])
    chart.set_time(pd.Timestamp("2024-07-05T06:00Z"))
    assert chart.now.location == pd.Timestamp("2024-07-05T14:00").value / 1e6
