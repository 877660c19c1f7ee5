"""Live alerts: events raised as readings arrive.

:class:`Watch` keeps a short history per sensor and, for each batch of new
readings, raises

- ``sensor``: a reading crossing its station's warning or alarm level (the
  rule of :func:`twin.alerts.sensor_events`, called on the last known reading
  plus the batch, so a station already above a level raises nothing more);
- ``rate_of_rise``: a water level rising faster than ``rise_m_per_h`` over
  ``rise_window`` (warning, alarm);
- ``anomaly``: a traffic or crowd count far from its recent history, by a
  robust z-score ``(value - median) / (IQR / 1.349)`` over the previous
  ``history`` readings;
- ``stale`` / ``resumed``: a sensor silent for ``stale_intervals`` of its
  usual reading interval, and its first reading after that.

Events have the columns of :data:`twin.alerts.EVENT_COLUMNS`; one event per
upward crossing, as everywhere in the twin.
"""
from __future__ import annotations

import time as _time

import numpy as np
import pandas as pd

from geodata.sensors import SensorTable
from twin.alerts import EVENT_COLUMNS, scenario_events, sensor_events
from twin.sensors.store import _as_ns

__all__ = ["Watch", "COUNTER_KINDS"]

COUNTER_KINDS = ("traffic_counter", "crowd_counter", "camera")
_DEFAULT_INTERVAL_NS = 300 * 10**9


class Watch:
    """Alerts on a stream of readings.

    Parameters
    ----------
    stations : geopandas.GeoDataFrame
        ``id, kind, unit, warning, alarm, geometry`` (``city.sensors.stations``).
    rise_window : str or Timedelta
        Span over which a water level's rate of rise is measured.
    rise_m_per_h : (float, float)
        Warning and alarm rates of rise (m/h).
    anomaly_z : float
        Robust z-score from which a count is an anomaly.
    history : int
        Readings per sensor kept for the anomaly test (at least 12 needed).
    stale_intervals : float
        A sensor is stale after this many of its usual intervals without a reading,
    stale_min : str or Timedelta
        and at least this long.

    Examples
    --------
    >>> watch = Watch(city.sensors.stations)                     # doctest: +SKIP
    >>> events = watch.update(new_readings)                      # doctest: +SKIP
    >>> events = watch.tick()                                    # stale sensors  # doctest: +SKIP
    """

    def __init__(self, stations, *, rise_window="1h", rise_m_per_h=(0.2, 0.5),
                 anomaly_z: float = 6.0, history: int = 96, stale_intervals: float = 3.0,
                 stale_min="1min") -> None:
        st = stations.assign(id=stations["id"].astype(str)).reset_index(drop=True)
        self.stations = st
        self._kind = pd.Series(st["kind"].to_numpy(), index=st["id"].to_numpy())
        self._xy = pd.DataFrame({"x": st.geometry.x.to_numpy(), "y": st.geometry.y.to_numpy()},
                                index=st["id"].to_numpy())
        self.rise_window_ns = int(pd.Timedelta(rise_window).value)
        self.rise_m_per_h = tuple(float(r) for r in rise_m_per_h)
        self.anomaly_z = float(anomaly_z)
        self.history = max(int(history), 12)
        self.stale_intervals = float(stale_intervals)
        self.stale_min_ns = int(pd.Timedelta(stale_min).value)
        self._recent = _empty_readings()
        self._stale: set[str] = set()
        self._clock_ns = None          # latest reading time seen (the data clock)
        self._clock_wall = 0.0         # wall time when the data clock last advanced

    def prime(self, readings: pd.DataFrame) -> None:
        """Start from stored history (``sensor_id, time, value``) without raising events for it."""
        self._remember(_as_ns(readings))

    def update(self, new: pd.DataFrame) -> pd.DataFrame:
        """Events raised by readings just stored (``sensor_id, time, value``)."""
        new = _as_ns(new)
        new = new[new["sensor_id"].isin(self._kind.index)]
        if len(new) == 0:
            return _no_events()
        past = self._recent[self._recent["sensor_id"].isin(new["sensor_id"].unique())]
        both = pd.concat([past.assign(new=False), new.assign(new=True)], ignore_index=True)
        both = both.sort_values(["sensor_id", "time"], kind="stable", ignore_index=True)
        events = scenario_events(self._thresholds(past, new), self._rise(both),
                                 self._anomalies(both), self._resumed(new))
        self._remember(new)
        return events

    def tick(self, now: float | None = None) -> pd.DataFrame:
        """``stale`` events for sensors silent too long.

        The clock is the latest reading time seen plus the wall time since it
        last advanced, so a replay of old readings and a live city behave alike.
        """
        if self._clock_ns is None or len(self._recent) == 0:
            return _no_events()
        now = _time.time() if now is None else now
        clock = self._clock_ns + int(max(now - self._clock_wall, 0.0) * 1e9)
        g = self._recent.groupby("sensor_id", sort=True)["time"]
        last = g.max()
        interval = g.apply(lambda t: np.median(np.diff(t.to_numpy())) if len(t) > 2
                           else _DEFAULT_INTERVAL_NS)
        late = (clock - last) > np.maximum(self.stale_intervals * interval, self.stale_min_ns)
        ids = [s for s in late.index[late.to_numpy()] if s not in self._stale]
        if not ids:
            return _no_events()
        self._stale.update(ids)
        silent = (clock - last[ids]).to_numpy() / 1e9
        return _events(ids, pd.to_datetime(np.full(len(ids), clock), utc=True), "stale",
                       ["warning"] * len(ids), self._xy.loc[ids],
                       [f"sensor {s} silent for " + (f"{d / 60:.0f} min" if d >= 120 else
                                                     f"{d:.0f} s") for s, d in zip(ids, silent)])

    # -- the tests -----------------------------------------------------------------

    def _thresholds(self, past: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
        last = past.groupby("sensor_id", sort=False).tail(1)
        rows = pd.concat([last, new], ignore_index=True)
        table = SensorTable(self.stations[self.stations["id"].isin(rows["sensor_id"])],
                            rows.assign(time=pd.to_datetime(rows["time"], utc=True)))
        times = table.readings["time"]
        events = sensor_events(table, times.min(), times.max())
        fresh = pd.MultiIndex.from_arrays([new["sensor_id"], pd.to_datetime(new["time"], utc=True)])
        keep = pd.MultiIndex.from_arrays([events["where"], events["time"]]).isin(fresh)
        return events[keep].assign(engine="sensors")

    def _rise(self, both: pd.DataFrame) -> pd.DataFrame:
        level = both[both["sensor_id"].map(self._kind).eq("water_level")]
        if len(level) == 0:
            return _no_events()
        before = level.assign(key=level["time"] - self.rise_window_ns).sort_values("key")
        ref = level[["sensor_id", "time", "value"]].rename(columns={"time": "t0", "value": "v0"})
        matched = pd.merge_asof(before, ref.sort_values("t0"), left_on="key", right_on="t0",
                                by="sensor_id", direction="backward")
        matched = matched.sort_values(["sensor_id", "time"], ignore_index=True)
        span_h = (matched["time"] - matched["t0"]).to_numpy(float) / 3.6e12
        rate = (matched["value"] - matched["v0"]).to_numpy(float) / np.where(span_h > 0, span_h,
                                                                             np.nan)
        rate = np.where(span_h <= 2 * self.rise_window_ns / 3.6e12, rate, np.nan)
        grade = (rate >= self.rise_m_per_h[0]).astype(int) + (rate >= self.rise_m_per_h[1])
        up = _upward(matched["sensor_id"], grade) & matched["new"].to_numpy(bool)
        hit = matched[up]
        sev = np.array(["", "warning", "alarm"])[grade[up]]
        return _events(hit["sensor_id"], pd.to_datetime(hit["time"], utc=True), "rate_of_rise",
                       sev, self._xy.loc[hit["sensor_id"]],
                       [f"water level {s} rising {r:.2f} m/h (now {v:.2f} m)" for s, r, v in
                        zip(hit["sensor_id"], rate[up], hit["value"])])

    def _anomalies(self, both: pd.DataFrame) -> pd.DataFrame:
        counts = both[both["sensor_id"].map(self._kind).isin(COUNTER_KINDS)].reset_index(drop=True)
        if len(counts) == 0:
            return _no_events()
        prev = counts.groupby("sensor_id", sort=False)["value"].shift(1)
        roll = prev.groupby(counts["sensor_id"], sort=False).rolling(self.history, min_periods=12)
        med = roll.median().reset_index(level=0, drop=True).sort_index()
        iqr = (roll.quantile(0.75) - roll.quantile(0.25)).reset_index(level=0, drop=True).sort_index()
        scale = np.maximum(iqr.to_numpy(float) / 1.349, np.maximum(0.05 * np.abs(med), 1.0))
        z = (counts["value"].to_numpy(float) - med.to_numpy(float)) / scale
        flag = (np.abs(np.nan_to_num(z)) >= self.anomaly_z).astype(int)
        up = _upward(counts["sensor_id"], flag) & counts["new"].to_numpy(bool)
        hit = counts[up]
        return _events(hit["sensor_id"], pd.to_datetime(hit["time"], utc=True), "anomaly",
                       ["warning"] * len(hit), self._xy.loc[hit["sensor_id"]],
                       [f"count {v:g} at {s} far from its usual {m:g} (robust z {zz:+.1f})"
                        for s, v, m, zz in zip(hit["sensor_id"], hit["value"],
                                               med.to_numpy()[up], z[up])])

    def _resumed(self, new: pd.DataFrame) -> pd.DataFrame:
        back = [s for s in new["sensor_id"].unique() if s in self._stale]
        if not back:
            return _no_events()
        self._stale.difference_update(back)
        first = new[new["sensor_id"].isin(back)].groupby("sensor_id", sort=True)["time"].min()
        return _events(first.index, pd.to_datetime(first.to_numpy(), utc=True), "resumed",
                       ["info"] * len(first), self._xy.loc[first.index],
                       [f"sensor {s} reporting again" for s in first.index])

    def _remember(self, new: pd.DataFrame) -> None:
        if len(new) == 0:
            return
        both = pd.concat([self._recent, new[["sensor_id", "time", "value"]]], ignore_index=True)
        both = both.drop_duplicates(["sensor_id", "time"]).sort_values(["sensor_id", "time"],
                                                                      kind="stable")
        self._recent = both.groupby("sensor_id", sort=False).tail(self.history).reset_index(drop=True)
        latest = int(new["time"].max())
        if self._clock_ns is None or latest > self._clock_ns:
            self._clock_ns, self._clock_wall = latest, _time.time()


def _upward(sensor: pd.Series, grade: np.ndarray) -> np.ndarray:
    """Rows where ``grade`` rises above the previous row of the same sensor."""
    prev = pd.Series(grade, index=sensor.index).groupby(sensor.to_numpy(), sort=False).shift(
        1, fill_value=0).to_numpy()
    return grade > prev


def _events(where, time, kind: str, severity, xy: pd.DataFrame, message) -> pd.DataFrame:
    where = list(where)
    if not where:
        return _no_events()
    return pd.DataFrame({"time": pd.DatetimeIndex(time).tz_convert("UTC"), "kind": kind,
                         "severity": list(severity), "where": where,
                         "x": xy["x"].to_numpy(float), "y": xy["y"].to_numpy(float),
                         "message": list(message), "engine": "sensors"})[EVENT_COLUMNS]


def _no_events() -> pd.DataFrame:
    return scenario_events()


def _empty_readings() -> pd.DataFrame:
    return pd.DataFrame({"sensor_id": pd.Series([], dtype=str),
                         "time": np.array([], dtype=np.int64), "value": np.array([], dtype=float)})
