"""``twin serve CITY --live STORE``: the live panel follows a real sensor store
(SQLite WAL, written here while the server reads it) in headless Chromium, and
:mod:`viewer.live` on its own against a real store."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from .conftest import ARTIFACTS, REPO, SAMPLE, free_port, served, shot
from .test_app import wait_for

CITY = SAMPLE / "city.toml"
T0 = pd.Timestamp("2024-07-05T06:00Z")


def _stations():
    if not CITY.exists():
        pytest.skip("data_samples/ezhou has not been generated (twin sample)")
    import twin
    return twin.load_city(CITY).sensors.stations


def _add(store, sensor: str, minutes: float, value: float) -> None:
    with store.transaction():
        store.add_readings(pd.DataFrame({"sensor_id": [sensor],
                                         "time": [T0 + pd.Timedelta(minutes=minutes)],
                                         "value": [value]}))


def _alert(store, minutes: float, message: str, severity: str = "alarm") -> None:
    from twin.alerts import EVENT_COLUMNS
    frame = pd.DataFrame({"time": [T0 + pd.Timedelta(minutes=minutes)], "kind": ["sensor_alarm"],
                          "severity": [severity], "where": ["WL01"], "x": [np.nan],
                          "y": [np.nan], "message": [message], "engine": ["sensors"]})
    with store.transaction():
        store.add_events(frame[EVENT_COLUMNS])


def _gauge(stations) -> pd.Series:
    levels = stations.dropna(subset=["alarm", "warning"])
    return levels.iloc[0]


# -- the panel on its own ---------------------------------------------------------------

def test_live_panel_follows_the_store_and_says_when_it_is_missing(tmp_path):
    from twin.sensors import SensorStore
    from viewer.live import LivePanel
    stations = _stations()
    g = _gauge(stations)
    panel = LivePanel(tmp_path / "store", stations, "Asia/Shanghai")
    assert panel.refresh() is False
    assert "Waiting for the sensor store" in panel.state.object
    assert set(panel.status["status"]) == {"no data"}
    store = SensorStore(tmp_path / "store", create=True)
    _add(store, g["id"], 0, g["warning"] - 0.5)
    assert panel.refresh() is True
    assert panel.status.loc[g["id"], "status"] == "ok"
    assert panel.refresh() is False                      # nothing new: nothing redrawn
    _add(store, g["id"], 5, g["warning"])                # at the level: warning
    panel.refresh()
    assert panel.status.loc[g["id"], "status"] == "warning"
    _add(store, g["id"], 10, g["alarm"] + 0.01)
    panel.refresh()
    assert panel.status.loc[g["id"], "status"] == "alarm"
    assert f'data-sensor="{g["id"]}"' in panel.sensors.object
    _alert(store, 10, "first alert")
    _alert(store, 12, "second alert")
    panel.refresh()
    text = panel.alerts.object
    assert text.index("second alert") < text.index("first alert")   # newest first
    store.close()


def test_nowcast_runs_beside_the_store_are_offered_once(tmp_path):
    from viewer.live import LivePanel, nowcast_runs
    runs = tmp_path / "runs"
    (runs / "nowcast-20240705-0600.zarr").mkdir(parents=True)
    (runs / ".nowcast-20240705-0700.zarr.123.running").mkdir()   # still being written
    (runs / "other.zarr").mkdir()
    assert nowcast_runs(tmp_path / "store") == []                   # not a zarr store yet
    (runs / "nowcast-20240705-0600.zarr" / "zarr.json").write_text("{}")
    assert nowcast_runs(tmp_path / "store") == [runs / "nowcast-20240705-0600.zarr"]
    offered = []
    panel = LivePanel(tmp_path / "store", None, "UTC", on_run=offered.append)
    panel.refresh()
    panel.refresh()
    assert offered == [(runs / "nowcast-20240705-0600.zarr").absolute()]
    assert "no sensors" in panel.sensors.object


# -- the page in a browser ----------------------------------------------------------------

@pytest.fixture
def live_server(tmp_path):
    """``twin serve CITY --live STORE`` on a free port, with the store made here."""
    from twin.sensors import SensorStore
    stations = _stations()
    store = SensorStore(tmp_path / "live" / "store", create=True)
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with served(["-m", "twin.cli", "serve", str(CITY), "--live", str(store.path), "--runs",
                     str(tmp_path / "whatif"), "--port", str(port), "--no-browser"], port,
                    ARTIFACTS / "live-server.log", cwd=tmp_path,
                    env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120):
            yield f"http://127.0.0.1:{port}/", store, stations
    finally:
        store.close()


@pytest.mark.browser
def test_a_reading_past_the_alarm_level_turns_the_sensor_to_alarm_without_reload(
        chromium, live_server, real_run):
    url, store, stations = live_server
    g = _gauge(stations)
    _add(store, g["id"], 0, g["warning"] - 0.5)
    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    try:
        page.goto(url, wait_until="load", timeout=90_000)
        status = page.locator(f'.live-sensor[data-sensor="{g["id"]}"] .status').first
        status.wait_for(timeout=90_000)
        wait_for(lambda: status.inner_text().strip() == "ok", timeout=30)
        shot(page, "live-01-ok", ".live-panel")
        page.evaluate("window.__same_page = true")       # gone if the page reloads
        _add(store, g["id"], 5, g["alarm"] + 0.2)
        _alert(store, 5, f"{g['name']} above its alarm level")
        wait_for(lambda: status.inner_text().strip() == "alarm", timeout=30)
        assert page.evaluate("window.__same_page") is True
        assert "above its alarm level" in page.locator(".live-event").first.inner_text()
        shot(page, "live-02-alarm", ".live-panel")
        nowcast = store.path.parent / "runs" / "nowcast-20240705-0605.zarr"
        shutil.copytree(real_run.path, nowcast)
        options = page.locator(".run-select select option")
        wait_for(lambda: "nowcast-20240705-0605.zarr" in options.all_inner_texts(), timeout=30)
        shot(page, "live-03-nowcast-offered")
    finally:
        context.close()
