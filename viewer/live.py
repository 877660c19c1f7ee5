"""The live panel: the city's sensors with their latest values and status, the
alerts the live feed raised (newest first), and nowcast runs as they appear.

``twin serve CITY --live STORE`` adds it to the operations screen. Every
:data:`REFRESH_MS` the session asks the sensor store (SQLite, readable while
``twin live`` writes) what arrived since the last look and redraws only when
something did; nowcast runs written beside the store (``STORE/../runs/nowcast-*.zarr``)
are offered in the run picker of every session.
"""
from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import panel as pn

from geodata.errors import DataError

__all__ = ["LivePanel", "live_status", "nowcast_runs", "REFRESH_MS", "EVENTS_SHOWN"]

REFRESH_MS = 2000
"""Milliseconds between two looks at the store."""

EVENTS_SHOWN = 50
"""The newest this many live alerts are listed."""

_LOG = logging.getLogger(__name__)

_STATUS_STYLE = {"alarm": "background:#5a1010;color:#ffc0c0",
                 "warning": "background:#4a3a08;color:#ffe08a",
                 "ok": "background:#103a1a;color:#b0f0c0",
                 "no data": "background:#262c38;color:#a9bad2"}
_CSS = """
.live-table { border-collapse: collapse; font: 13px/1.35 sans-serif; color: #e8eef8; width: 100%; }
.live-table td, .live-table th { padding: 2px 6px; border-bottom: 1px solid #1f2a3a; text-align: left; }
.live-table th { color: #a9bad2; font-weight: 600; }
.live-table td.status { white-space: nowrap; }
.live-state { font-size: 12px; color: #a9bad2; }
.live-state.problem { color: #ffcf80; }
"""


def live_status(stations: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    """Each station's latest value and status by :meth:`geodata.SensorTable.at`'s rule
    (alarm at or above ``alarm``, warning at or above ``warning``, else ok; no reading:
    "no data").

    Parameters
    ----------
    stations : pandas.DataFrame
        ``id, kind, unit, warning, alarm`` (optional ``name``).
    latest : pandas.DataFrame
        ``sensor_id, time, value``: one row per sensor (the store's ``latest()``).

    Returns
    -------
    pandas.DataFrame
        Indexed by station id: ``name, kind, unit, time, value, status``.

    Examples
    --------
    >>> st = pd.DataFrame({"id": ["WL1"], "kind": ["water_level"], "unit": ["m"],
    ...                    "warning": [18.0], "alarm": [19.5]})
    >>> t = pd.Timestamp("2024-07-05T06:00Z")
    >>> live_status(st, pd.DataFrame({"sensor_id": ["WL1"], "time": [t], "value": [19.6]}))["status"].tolist()
    ['alarm']
    """
    from geodata.sensors import SensorTable
    stations = pd.DataFrame(stations).copy()
    if "geometry" not in stations:
        import geopandas as gpd
        import shapely
        stations = gpd.GeoDataFrame(stations, geometry=[shapely.Point(0, 0)] * len(stations),
                                    crs=3857)
    if "name" not in stations:
        stations["name"] = stations["id"]
    newest = latest["time"].max() if len(latest) else pd.Timestamp.now(tz="UTC")
    table = SensorTable(stations, latest[["sensor_id", "time", "value"]]).at(newest)
    table.insert(0, "name", stations.set_index("id")["name"].reindex(table.index))
    return table


def nowcast_runs(store: str | os.PathLike) -> list[Path]:
    """Nowcast runs ``nowcast-*.zarr`` in ``runs/`` beside ``store`` (as
    :mod:`twin.nowcast` writes them), oldest first; runs still being written carry
    a temporary name and are not listed.

    Examples
    --------
    >>> nowcast_runs("/nowhere/store")
    []
    """
    folder = Path(store).absolute().parent / "runs"
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("nowcast-*.zarr") if p.is_dir() and (p / "zarr.json").exists()]
    return sorted(found, key=lambda p: p.stat().st_mtime)


class LivePanel:
    """The live sensors, alerts and nowcasts of one browser session.

    Parameters
    ----------
    store : path-like
        The sensor store folder written by ``twin live`` (it may appear later).
    stations : pandas.DataFrame or None
        The city's stations (``city.sensors.stations``).
    timezone : str
        The city's zone, for the clock times shown.
    on_run : callable, optional
        Called with the path of a nowcast run not offered before.

    Examples
    --------
    >>> live = LivePanel("live/ezhou", city.sensors.stations, "Asia/Shanghai")  # doctest: +SKIP
    >>> live.refresh(); live.status.loc["WL01", "status"]                        # doctest: +SKIP
    'ok'
    """

    def __init__(self, store: str | os.PathLike, stations: pd.DataFrame | None, timezone: str,
                 on_run: Callable[[Path], None] | None = None) -> None:
        self.path = Path(store)
        self.stations = stations
        self.timezone = timezone
        self.on_run = on_run
        self.store = None
        self.seen_ns = -1
        self.n_events = -1
        self.runs_seen: set[Path] = set()
        self.status = live_status(stations, _empty()) if stations is not None else None
        self.state = pn.pane.HTML("", css_classes=["live-state"], sizing_mode="stretch_width")
        self.sensors = pn.pane.HTML(self._sensor_html(), css_classes=["live-sensors"],
                                    sizing_mode="stretch_width", stylesheets=[_CSS])
        self.alerts = pn.pane.HTML(self._alert_html(pd.DataFrame()), css_classes=["live-events"],
                                   sizing_mode="stretch_width", stylesheets=[_CSS])
        self.panel = pn.Column(pn.pane.HTML('<div class="view-label">Live sensors</div>'),
                               self.state, self.sensors,
                               pn.pane.HTML('<div class="view-label">Live alerts</div>'),
                               self.alerts, css_classes=["live-panel"])
        self._callback = None

    def start(self, period_ms: int = REFRESH_MS) -> "LivePanel":
        """Look now, then every ``period_ms`` while the session lives."""
        self.refresh()
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            self._callback = pn.state.add_periodic_callback(self.refresh, period=period_ms)
        return self

    def refresh(self) -> bool:
        """Read what arrived since the last look; True when the screen changed.

        A store that is missing or unreadable is said on the panel (the server logs
        the detail) and tried again next time.
        """
        self._offer_nowcasts()
        try:
            if self.store is None:
                from twin.sensors import open_store
                self.store = open_store(self.path)
            new = self.store.received_after(self.seen_ns)
            events = self.store.events
        except (DataError, OSError) as exc:
            self._say(f"Waiting for the sensor store: {exc}", problem=True)
            self.store = None
            return False
        except Exception as exc:     # a damaged store must not end the session
            _LOG.exception("reading the sensor store %s", self.path)
            self._say(f"The sensor store {self.path} could not be read ({type(exc).__name__}); "
                      "check it, or restart `twin live CITY --store PATH`.", problem=True)
            self.store = None
            return False
        changed = False
        if len(new):
            self.seen_ns = int(new["received"].max())
            if self.stations is not None:
                self.status = live_status(self.stations, self.store.latest())
                self.sensors.object = self._sensor_html()
            changed = True
        if len(events) != self.n_events:
            self.n_events = len(events)
            self.alerts.object = self._alert_html(events)
            changed = True
        if changed or not self.state.object or "problem" in self.state.css_classes:
            self._say(f"Sensor store {self.path}: last look {pd.Timestamp.now(tz=self.timezone):%H:%M:%S}")
        return changed

    def stop(self) -> None:
        """Stop looking (the session ended)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- drawing ---------------------------------------------------------------------
    def _say(self, text: str, problem: bool = False) -> None:
        self.state.css_classes = ["live-state"] + (["problem"] if problem else [])
        cls = "live-state problem" if problem else "live-state"
        self.state.object = f'<div class="{cls}">{html.escape(text)}</div>'

    def _sensor_html(self) -> str:
        if self.status is None:
            return "<p>This city has no sensors.</p>"
        rows = []
        for sid, r in self.status.iterrows():
            value = "–" if np.isnan(r["value"]) else f"{r['value']:,.2f} {html.escape(str(r['unit']))}"
            when = "" if pd.isna(r["time"]) else \
                pd.Timestamp(r["time"]).tz_convert(self.timezone).strftime("%d %b %H:%M")
            rows.append(f'<tr class="live-sensor" data-sensor="{html.escape(str(sid))}">'
                        f"<td>{html.escape(str(r['name']))}</td><td>{value}</td><td>{when}</td>"
                        f'<td class="status" style="{_STATUS_STYLE[r["status"]]}">'
                        f"{r['status']}</td></tr>")
        return ('<table class="live-table"><tr><th>Sensor</th><th>Latest</th><th>At</th>'
                "<th>Status</th></tr>" + "".join(rows) + "</table>")

    def _alert_html(self, events: pd.DataFrame) -> str:
        if not len(events):
            return '<p class="hint">No live alerts yet.</p>'
        newest = events.iloc[::-1].head(EVENTS_SHOWN)
        rows = [f'<tr class="live-event" style="{_STATUS_STYLE.get(e.severity, "")}">'
                f"<td>{pd.Timestamp(e.time).tz_convert(self.timezone):%d %b %H:%M}</td>"
                f"<td>{html.escape(str(e.severity))}</td><td>{html.escape(str(e.message))}</td></tr>"
                for e in newest.itertuples()]
        return '<table class="live-table">' + "".join(rows) + "</table>"

    def _offer_nowcasts(self) -> None:
        for path in nowcast_runs(self.path):
            if path not in self.runs_seen:
                self.runs_seen.add(path)
                if self.on_run is not None:
                    self.on_run(path)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"sensor_id": pd.Series([], dtype=str),
                         "time": pd.Series([], dtype="datetime64[ns, UTC]"),
                         "value": pd.Series([], dtype=float)})
