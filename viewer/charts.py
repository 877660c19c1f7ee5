"""Sensor charts: the readings of one station with its labelled warning and alarm
levels and a marker at the replay's current time (local clock), zoomed to the
run's period (a button shows the whole record)."""
from __future__ import annotations

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, Label, Range1d, Span
from bokeh.plotting import figure

__all__ = ["SensorChart"]

_LEVEL_COLORS = {"warning": "#ffb020", "alarm": "#ff5080"}


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
    >>> chart.set_period(run.times[0], run.times[-1])      # doctest: +SKIP
    >>> chart.select("WL01"); chart.set_time(run.times[5]) # doctest: +SKIP
    """

    def __init__(self, sensors, timezone: str) -> None:
        self.sensors = sensors
        self.timezone = timezone
        self.period: tuple[float, float] | None = None
        stations = sensors.stations if sensors is not None else pd.DataFrame(columns=["id", "name"])
        names = stations["name"].astype(str) if "name" in stations else stations["id"].astype(str)
        labels = (names + " (" + stations["id"].astype(str) + ")").tolist()
        self.options = dict(zip(labels, stations["id"].astype(str)))
        self.picker = pn.widgets.Select(label="Sensor", options=self.options,
                                        css_classes=["sensor-picker"],
                                        sizing_mode="stretch_width")
        self.whole = pn.widgets.Checkbox(label="Whole record (not only the run's period)",
                                         value=False, css_classes=["chart-whole"], width=260)
        self.source = ColumnDataSource({"t": [], "value": []})
        self.x_range = Range1d(0, 1, name="chart-x")
        self.fig = figure(height=260, sizing_mode="stretch_width", x_axis_type="datetime",
                          x_range=self.x_range, tools="xpan,xwheel_zoom,reset",
                          background_fill_color="#101722", border_fill_color="#0b1018",
                          output_backend="canvas")
        self.fig.xaxis.axis_label = f"local time ({timezone})"
        self.fig.line("t", "value", source=self.source, line_width=2, color="#7fd4ff",
                      legend_label="reading")
        self.models: dict = {}
        self.model_source = ColumnDataSource({"t": [], "value": []})
        self.fig.line("t", "value", source=self.model_source, line_width=2, color="#ffb000",
                      line_dash="dashed", legend_label="model", name="chart-model")
        self.fig.legend.location = "top_left"
        self.fig.legend.background_fill_alpha = 0.3
        self.now = Span(location=0, dimension="height", line_color="#ffd400", line_width=2,
                        name="chart-now")
        self.fig.add_layout(self.now)
        self.levels = {}
        for key, color in _LEVEL_COLORS.items():
            span = Span(location=0, dimension="width", line_color=color, line_dash="dashed",
                        visible=False, name=f"chart-{key}")
            label = Label(x=5, y=0, x_units="screen", text="", text_color=color,
                          text_font_size="11px", visible=False, name=f"chart-{key}-label")
            self.fig.add_layout(span)
            self.fig.add_layout(label)
            self.levels[key] = (span, label)
        self.picker.param.watch(lambda e: self.select(e.new), "value")
        self.whole.param.watch(lambda e: self._zoom(), "value")
        self.panel = pn.Column(self.picker, self.whole, pn.pane.Bokeh(self.fig),
                               css_classes=["sensor-chart"], sizing_mode="stretch_width")
        if self.options:
            self.select(next(iter(self.options.values())))

    @property
    def warning(self) -> Span:
        """The warning level line."""
        return self.levels["warning"][0]

    @property
    def alarm(self) -> Span:
        """The alarm level line."""
        return self.levels["alarm"][0]

    def _ms(self, time) -> float:
        return pd.Timestamp(time).tz_convert(self.timezone).tz_localize(None).value / 1e6

    def set_period(self, start, end) -> None:
        """Zoom the time axis to ``start``..``end`` (tz-aware; the run's period)."""
        lo, hi = self._ms(start), self._ms(end)
        pad = max(hi - lo, 60_000) * 0.05
        self.period = (lo - pad, hi + pad)
        self._zoom()

    def _zoom(self) -> None:
        t = self.source.data["t"]
        if self.whole.value or self.period is None:
            if len(t):
                ms = pd.DatetimeIndex(t).asi8 / 1e6
                self.x_range.update(start=float(ms.min()), end=float(ms.max()))
        else:
            self.x_range.update(start=self.period[0], end=self.period[1])

    def set_models(self, models: dict) -> None:
        """Modelled series (sensor id -> time series) drawn dashed beside the readings
        (e.g. a traffic counter's modelled flow); redraws the current sensor."""
        self.models = dict(models)
        if self.picker.value:
            self.select(self.picker.value)

    def select(self, sensor_id: str) -> None:
        """Chart the readings of ``sensor_id`` (and its modelled series, when there is one)."""
        if self.picker.value != sensor_id:
            self.picker.value = sensor_id   # comes back here through the watcher
            return
        series = self.sensors.series(sensor_id)
        t = pd.DatetimeIndex(pd.to_datetime(series.index, utc=True)).tz_convert(
            self.timezone).tz_localize(None)
        self.source.data = {"t": t, "value": series.to_numpy(float)}
        model = self.models.get(sensor_id)
        mt = ([] if model is None else pd.DatetimeIndex(model.index).tz_convert(
            self.timezone).tz_localize(None))
        self.model_source.data = {"t": mt, "value": [] if model is None
                                  else model.to_numpy(float)}
        stations = self.sensors.stations
        row = stations.set_index(stations["id"].astype(str)).loc[sensor_id]
        unit = str(row.get("unit", "") or "")
        kind = str(row.get("kind", "")).replace("_", " ")
        self.fig.title.text = f"{row.get('name', sensor_id)} ({sensor_id}) · {kind}, {unit}"
        self.fig.yaxis.axis_label = unit
        for key, (span, label) in self.levels.items():
            level = row.get(key)
            shown = level is not None and pd.notna(level)
            span.visible = label.visible = bool(shown)
            if shown:
                span.location = float(level)
                label.update(y=float(level), text=f"{key} {float(level):g} {unit}")
        self._zoom()

    def set_time(self, time) -> None:
        """Move the current-time marker to ``time`` (tz-aware)."""
        self.now.location = self._ms(time)   # Bokeh datetimes are ms since the epoch
