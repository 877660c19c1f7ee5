"""Sensor charts: the readings of one station with its warning and alarm
levels and a marker at the replay's current time (local clock)."""
from __future__ import annotations

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure

__all__ = ["SensorChart"]


class SensorChart:
    """A picker of stations and the chart of the picked one.

    Parameters
    ----------
    sensors : geodata.sensors.SensorTable or None
    timezone : str
        Times are drawn in this zone (local wall-clock time).

    Examples
    --------
    >>> chart = SensorChart(city.sensors, city.timezone)   # doctest: +SKIP
    >>> chart.select("WL01"); chart.set_time(run.times[5]) # doctest: +SKIP
    """

    def __init__(self, sensors, timezone: str) -> None:
        self.sensors = sensors
        self.timezone = timezone
        stations = sensors.stations if sensors is not None else pd.DataFrame(columns=["id", "name"])
        labels = (stations["id"].astype(str) + " · " +
                  stations.get("name", stations["id"]).astype(str)).tolist()
        self.options = dict(zip(labels, stations["id"].astype(str)))
        self.picker = pn.widgets.Select(label="Sensor", options=self.options,
                                        css_classes=["sensor-picker"], width=260)
        self.source = ColumnDataSource({"t": [], "value": []})
        self.fig = figure(height=220, sizing_mode="stretch_width", x_axis_type="datetime",
                          tools="xpan,xwheel_zoom,reset", background_fill_color="#101722",
                          border_fill_color="#0b1018", output_backend="canvas")
        self.fig.line("t", "value", source=self.source, line_width=2, color="#7fd4ff")
        self.now = Span(location=0, dimension="height", line_color="#ffd400", line_width=2)
        self.warning = Span(location=0, dimension="width", line_color="#ffb020",
                            line_dash="dashed", visible=False)
        self.alarm = Span(location=0, dimension="width", line_color="#ff4040",
                          line_dash="dashed", visible=False)
        self.fig.add_layout(self.now)
        self.fig.add_layout(self.warning)
        self.fig.add_layout(self.alarm)
        self.picker.param.watch(lambda e: self.select(e.new), "value")
        self.panel = pn.Column(self.picker, pn.pane.Bokeh(self.fig), css_classes=["sensor-chart"],
                               sizing_mode="stretch_width")
        if self.options:
            self.select(next(iter(self.options.values())))

    def select(self, sensor_id: str) -> None:
        """Chart the readings of ``sensor_id``."""
        if self.picker.value != sensor_id:
            self.picker.value = sensor_id   # comes back here through the watcher
            return
        series = self.sensors.series(sensor_id)
        t = pd.DatetimeIndex(pd.to_datetime(series.index, utc=True)).tz_convert(
            self.timezone).tz_localize(None)
        self.source.data = {"t": t, "value": series.to_numpy(float)}
        stations = self.sensors.stations
        row = stations.set_index(stations["id"].astype(str)).loc[sensor_id]
        unit = row.get("unit", "")
        self.fig.title.text = f"{sensor_id} {row.get('name', '')} ({row.get('kind', '')}, {unit})"
        for span, key in ((self.warning, "warning"), (self.alarm, "alarm")):
            level = row.get(key)
            span.visible = level is not None and pd.notna(level)
            if span.visible:
                span.location = float(level)

    def set_time(self, time) -> None:
        """Move the current-time marker to ``time`` (tz-aware)."""
        t = pd.Timestamp(time).tz_convert(self.timezone).tz_localize(None)
        self.now.location = t.value / 1e6   # Bokeh datetimes are ms since the epoch
