"""Nowcasts from a real sensor store: persisted rain, held levels, one run at a time."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from affine import Affine

import geopandas as gpd
import shapely

from geodata.errors import DataError
from geodata.raster import Raster
from geodata.sensors import SensorTable
from twin.city import City
from twin.nowcast import NowcastLauncher, nowcast, nowcast_inputs
from twin.sensors import SensorStore

X0, Y0, CELL = 500000.0, 3360000.0, 8.0


@pytest.fixture
def live(tmp_path):
    """A 16 x 16 bowl of 8 m cells with a lake and two rain gauges, and a store whose
    newest readings (12:55Z) follow an hour of 40 and 80 mm/h; the lake gauge reads 11 m."""
    x = np.arange(16) + 0.5
    z = 10.0 + 0.05 * CELL * np.hypot(x[None, :] - 8, x[:, None] - 8)
    terrain = Raster(z, Affine(CELL, 0, X0, 0, -CELL, Y0), "EPSG:4547")
    terrain.write(tmp_path / "terrain.tif")
    (tmp_path / "city.toml").write_text('name = "bowl"\ncrs = "EPSG:4547"\n'
                                        '[terrain]\npath = "terrain.tif"\n')
    stations = gpd.GeoDataFrame(
        {"id": ["RG1", "RG2", "WL1"], "name": ["a", "b", "lake"],
         "kind": ["rain_gauge", "rain_gauge", "water_level"], "unit": ["mm/h", "mm/h", "m"],
         "warning": [50.0, 50.0, 11.0], "alarm": [100.0, 100.0, 12.0]},
        geometry=[shapely.Point(X0 + 20, Y0 - 20), shapely.Point(X0 + 100, Y0 - 100),
                  shapely.Point(X0 + 64, Y0 - 64)], crs="EPSG:4547")
    lake = gpd.GeoDataFrame({"id": ["L"], "kind": ["lake"]},
                            geometry=[shapely.Point(X0 + 64, Y0 - 64).buffer(12)], crs="EPSG:4547")
    city = City("Bowl", "EPSG:4547", terrain=terrain, water=lake,
                sensors=SensorTable(stations, pd.DataFrame(
                    {"sensor_id": [], "time": pd.to_datetime([], utc=True), "value": []})),
                source=str(tmp_path / "city.toml"))
    t = pd.date_range("2024-07-05T11:00Z", "2024-07-05T12:55Z", freq="5min")
    rain = lambda v: np.where(t > pd.Timestamp("2024-07-05T11:55Z"), v, 5.0)   # noqa: E731
    frame = pd.concat([pd.DataFrame({"sensor_id": "RG1", "time": t, "value": rain(40.0)}),
                       pd.DataFrame({"sensor_id": "RG2", "time": t, "value": rain(80.0)}),
                       pd.DataFrame({"sensor_id": "WL1", "time": t, "value": 11.0})])
    store = SensorStore(tmp_path / "store", create=True)
    with store.transaction():
        store.add_readings(frame)
    store.close()
    return city, tmp_path / "store"


def test_inputs_persist_the_last_hour_and_hold_levels(live):
    city, store_path = live
    from twin.sensors import open_store
    r = open_store(store_path).readings
    city2, text, start = nowcast_inputs(city, r, hours=1.0, rain_scale=1.5)
    assert start == pd.Timestamp("2024-07-05T12:55Z")
    future = city2.sensors.readings
    future = future[pd.to_datetime(future["time"], utc=True) > start]
    by = future.groupby("sensor_id")["value"].unique()
    assert by["RG1"].tolist() == [60.0] and by["RG2"].tolist() == [120.0]   # 40, 80 x 1.5
    assert by["WL1"].tolist() == [11.0]
    assert 'lake = "WL1"' in text and 'source = "gauges"' in text
    assert city.sensors.readings.empty                      # the city itself is not changed


def test_a_nowcast_is_a_normal_run_with_the_persisted_rain(live, tmp_path):
    city, store = live
    run = nowcast(city, store, hours=0.5, out=tmp_path / "nc.zarr")
    assert run.status == "complete" and run.start == pd.Timestamp("2024-07-05T12:55Z")
    rain = run.kpis["rain_mm_h"].iloc[1:]
    assert rain.between(40.0, 80.0).all() and rain.nunique() == 1
    z = run.flood["elevation"].values
    d0 = run.flood["depth"].isel(time=0).values
    r = int(np.argmin(abs(run.flood["y"].values - (Y0 - 64))))
    c = int(np.argmin(abs(run.flood["x"].values - (X0 + 64))))
    assert d0[r, c] == pytest.approx(11.0 - z[r, c], abs=1e-4) and d0[r, c] > 0   # the lake starts at its gauge
    assert d0[0, 0] == 0


def test_an_empty_store_and_bad_hours_are_clear(live, tmp_path):
    city, store = live
    with pytest.raises(DataError, match="no readings"):
        nowcast_inputs(city, pd.DataFrame(columns=["sensor_id", "time", "value"]), hours=1)
    with pytest.raises(DataError, match="--hours"):
        nowcast(city, store, hours=0)


def test_alarms_while_a_nowcast_runs_ask_for_one_more_not_a_pile(live, tmp_path):
    city, store = live
    launcher = NowcastLauncher(city, store, hours=0.25, runs_dir=tmp_path / "runs")
    assert launcher() is True
    assert [launcher() for _ in range(5)] == [False] * 5
    launcher.wait(600)
    launcher.wait(600)
    assert launcher.errors == []
    assert len(launcher.runs) == 2
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["nowcast-000.zarr",
                                                                     "nowcast-001.zarr"]
