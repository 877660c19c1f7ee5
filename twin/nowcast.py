"""Nowcasts: a forecast run started from the live sensor store.

:func:`nowcast` takes the city and the readings in a sensor store
(:mod:`twin.sensors`), and runs the next hours from the newest reading:

- rain: each gauge's mean over the last hour, persisted (times ``rain_scale``);
- water levels: each level gauge's newest reading, held; lakes and canals start
  at the level of the gauge in (or next to) them;
- engines: the flood table of ``template`` (a scenario), or a coarse city-wide
  flood grid; a template's traffic and crowd tables run too.

The run is a normal run (``twin serve`` opens it). :class:`NowcastLauncher`
starts nowcasts from live alarms, one at a time: an alarm while one runs asks
for one more run after it, never a pile.

Examples
--------
>>> run = nowcast("data_samples/ezhou/city.toml", "live/ezhou", hours=3)   # doctest: +SKIP
"""
from __future__ import annotations

import copy
import os
import threading
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import tomli_w

from geodata.errors import DataError
from geodata.sensors import SensorTable

__all__ = ["nowcast", "nowcast_inputs", "NowcastLauncher"]

_STEP = pd.Timedelta(minutes=5)
_RAIN_KINDS = ("rain_gauge", "weather_station")
_DEFAULT_FLOOD = {"cell_size": 16.0, "buildings": "blocked", "drainage_mm_h": 20.0,
                  "boundaries": {"north": "closed", "east": "open", "south": "open",
                                 "west": "open"}}


def nowcast_inputs(city, readings: pd.DataFrame, *, hours: float, template=None,
                   rain_scale: float = 1.0, output_every: str = "10min"):
    """The nowcast's city (readings + persisted future) and its scenario text.

    Returns
    -------
    (twin.City, str, pandas.Timestamp)
        The city with the extended readings, the scenario TOML, the start.
    """
    if len(readings) == 0:
        raise DataError("the sensor store holds no readings yet",
                        fix="start `twin live` and wait for readings, then run the nowcast")
    if not (np.isfinite(hours) and 0 < hours <= 48):
        raise DataError(f"--hours {hours} must be within 0..48", fix="give e.g. --hours 3")
    r = readings.assign(time=pd.to_datetime(readings["time"], utc=True))
    start = r["time"].max().floor("5min")
    future = _persisted(city.sensors.stations, r, start, hours, rain_scale)
    sensors = SensorTable(city.sensors.stations, pd.concat([r, future], ignore_index=True))
    live = copy.copy(city)
    live.sensors = sensors
    raw = _template(template)
    tz = getattr(city, "timezone", None) or "UTC"
    raw.update(name=f"Nowcast from {start.tz_convert(tz):%Y-%m-%d %H:%M}",
               start=start.tz_convert(tz).isoformat(), duration=int(round(hours * 3600)),
               output_every=output_every)
    raw["city"] = os.fspath(Path(city.source).resolve()) if city.source else raw.get("city")
    flood = raw.setdefault("flood", dict(_DEFAULT_FLOOD))
    levels = _level_gauges(city, r)
    if levels:
        flood["initial_levels"] = levels
    forcing = raw.setdefault("forcing", {})
    if (city.sensors.stations["kind"].isin(_RAIN_KINDS)).any():
        forcing["rain"] = {"source": "gauges", "interpolation": "idw"}
    return live, tomli_w.dumps(raw), start


def _template(template) -> dict:
    if template is None:
        return {}
    raw = tomllib.loads(Path(template).read_text(encoding="utf-8"))
    city = raw.get("city")
    if city and not Path(city).is_absolute():
        raw["city"] = os.fspath((Path(template).parent / city).resolve())
    forcing = raw.get("forcing", {})
    forcing.pop("rain", None)                           # replaced by the persisted gauges
    for key in ("start", "duration", "output_every", "name"):
        raw.pop(key, None)
    return raw


def _persisted(stations, r: pd.DataFrame, start, hours: float, rain_scale: float):
    """Future readings every 5 min: the last hour's mean of rain gauges (scaled), the
    newest value of every other station."""
    times = pd.date_range(start + _STEP, start + pd.Timedelta(hours=hours) + _STEP, freq=_STEP)
    kind = stations.set_index(stations["id"].astype(str))["kind"]
    recent = r[r["time"] > start - pd.Timedelta(hours=1)]
    rows = []
    for sid, group in r.groupby(r["sensor_id"].astype(str)):
        if kind.get(sid) in _RAIN_KINDS:
            own = recent[recent["sensor_id"].astype(str) == sid]["value"]
            value = float(own.mean()) * rain_scale if len(own) else 0.0
        else:
            value = float(group.sort_values("time")["value"].iloc[-1])
        rows.append(pd.DataFrame({"sensor_id": sid, "time": times, "value": value}))
    return pd.concat(rows, ignore_index=True) if rows else r.iloc[:0]


def _level_gauges(city, r: pd.DataFrame) -> dict:
    """Water kind -> the id of the level gauge in or nearest to its water (within 100 m)."""
    st = city.sensors.stations
    st = st[(st["kind"] == "water_level") & st["id"].astype(str).isin(set(r["sensor_id"]))]
    if len(st) == 0 or len(city.water) == 0 or "kind" not in city.water:
        return {}
    out = {}
    for kind, group in city.water.groupby("kind"):
        d = np.array([shapely.distance(group.geometry.values, p).min() for p in st.geometry])
        if d.min() <= 100.0:
            out[str(kind)] = str(st["id"].iloc[int(np.argmin(d))])
    return out


def nowcast(city, store, *, hours: float = 3.0, out=None, template=None,
            rain_scale: float = 1.0, progress: bool = False):
    """Run the next ``hours`` from the store's newest readings; returns the :class:`twin.Run`.

    Parameters
    ----------
    city : twin.City or path-like
    store : path-like or twin.sensors.SensorStore
    hours : float
    out : path-like, optional
        Default ``runs/nowcast-<YYYYmmdd-HHMM>.zarr`` beside the store.
    template : path-like, optional
        A scenario whose engine tables the nowcast uses.
    rain_scale : float
        Factor on the persisted rain.
    """
    from twin.manifest import load_city
    from twin.runner import run_scenario
    from twin.scenario import parse_scenario
    from twin.sensors import open_store
    if not hasattr(city, "sensors"):
        city = load_city(city)
    if city.sensors is None or len(city.sensors.stations) == 0:
        raise DataError("the city has no sensors to start a nowcast from", file=city.source,
                        fix="add sensor stations to the city manifest")
    readings = (store if hasattr(store, "readings") else open_store(store)).readings
    live, text, start = nowcast_inputs(city, readings, hours=hours, template=template,
                                       rain_scale=rain_scale)
    source = Path(template) if template else (Path(city.source) if city.source else None)
    scenario = parse_scenario(text, source=source)
    if out is None:
        base = Path(store.path if hasattr(store, "path") else store).parent / "runs"
        out = base / f"nowcast-{start:%Y%m%d-%H%M}.zarr"
    return run_scenario(scenario, out=out, city=live, progress=progress)


class NowcastLauncher:
    """Starts a nowcast in the background on an alarm, one at a time.

    An alarm while a nowcast runs asks for one more after it (never a pile);
    the runs go to ``runs_dir`` named by their start.

    Examples
    --------
    >>> launcher = NowcastLauncher(city, "live/ezhou", hours=3)          # doctest: +SKIP
    >>> LiveFeed(city, "live/ezhou", broker, on_alarm=launcher).start()  # doctest: +SKIP
    """

    def __init__(self, city, store, *, hours: float = 3.0, template=None,
                 runs_dir=None) -> None:
        self.city, self.store, self.hours, self.template = city, store, hours, template
        self.runs_dir = None if runs_dir is None else Path(runs_dir)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self.runs: list = []
        self.errors: list[str] = []

    def __call__(self, events=None) -> bool:
        """Ask for a nowcast; returns True when one started now."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return False
            self._thread = threading.Thread(target=self._loop, name="nowcast", daemon=True)
            self._thread.start()
            return True

    def _loop(self) -> None:
        while True:
            try:
                out = None
                if self.runs_dir is not None:
                    out = self.runs_dir / f"nowcast-{len(self.runs):03d}.zarr"
                self.runs.append(nowcast(self.city, self.store, hours=self.hours, out=out,
                                         template=self.template))
            except Exception as exc:                   # noqa: BLE001 - reported, feed goes on
                self.errors.append(f"{type(exc).__name__}: {exc}")
            with self._lock:
                if not self._again:
                    return
                self._again = False

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running nowcast (and the one asked for after it)."""
        t = self._thread
        if t is not None:
            t.join(timeout)
