"""The replay store: reopening a run lazily, and refusing what is not a run."""
from __future__ import annotations

import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from affine import Affine

from geodata.errors import DataError
from geodata.raster import Raster
from geodata.sensors import SensorTable
from twin.city import City
from twin.replay import Run, open_run
from twin.runner import run_scenario
from twin.scenario import load_scenario

X0, Y0 = 500000.0, 3360000.0


@pytest.fixture(scope="module")
def run_path(tmp_path_factory):
    """A 20-minute run on a flat 8 x 8 city of 10 m cells in steady 36 mm/h rain."""
    folder = tmp_path_factory.mktemp("replay")
    (folder / "city.toml").write_text('name = "flat"\n')
    terrain = Raster(np.full((8, 8), 5.0), Affine(10, 0, X0, 0, -10, Y0), "EPSG:4547")
    times = pd.date_range("2024-07-05T03:00Z", periods=20, freq="10min")
    sensors = SensorTable(
        gpd.GeoDataFrame({"id": ["RG1"], "name": ["rain"], "kind": ["rain_gauge"],
                          "unit": ["mm/h"], "warning": [20.0], "alarm": [np.nan]},
                         geometry=[shapely.Point(X0 + 40, Y0 - 40)], crs="EPSG:4547"),
        pd.DataFrame({"sensor_id": "RG1", "time": times, "value": 36.0}))
    buildings = gpd.GeoDataFrame({"id": ["B1"], "height": [6.0], "base": [5.0], "use": ["res"]},
                                 geometry=[shapely.box(X0 + 30, Y0 - 50, X0 + 50, Y0 - 30)],
                                 crs="EPSG:4547")
    roads = gpd.GeoDataFrame({"id": ["R1"]}, geometry=[shapely.LineString(
        [(X0 + 5, Y0 - 5), (X0 + 75, Y0 - 5)])], crs="EPSG:4547")
    city = City("Flat", "EPSG:4547", terrain=terrain, sensors=sensors, buildings=buildings,
                roads=roads)
    scenario = folder / "flat.toml"
    scenario.write_text(textwrap.dedent("""
        name = "Flat rain"
        city = "city.toml"
        start = "2024-07-05T12:00:00+08:00"
        duration = "20min"
        output_every = "10min"
        [flood]
        cell_size = 10.0
        [forcing.rain]
        source = "gauges"
    """))
    run_scenario(load_scenario(scenario), out=folder / "flat.zarr", city=city)
    return folder / "flat.zarr"


def test_open_run_reads_everything_back(run_path):
    run = open_run(run_path)
    assert isinstance(run, Run) and run.status == "complete" and run.name == "Flat rain"
    assert run.traffic is None and run.crowd is None
    assert run.start == pd.Timestamp("2024-07-05T12:00:00+08:00")
    assert run.times.tz is not None and run.times[-1] == pd.Timestamp("2024-07-05T12:20:00+08:00")
    f = run.flood
    assert f["depth"].dims == ("time", "y", "x") and f["depth"].shape == (3, 8, 8)
    assert {"speed", "hazard", "max_depth", "max_hazard", "arrival_time", "elevation",
            "blocked"} <= set(f.data_vars)
    d = f["depth"].values
    # the engine rates hazard on water deeper than 1 cm
    np.testing.assert_allclose(f["hazard"].values, d * (f["speed"].values + 0.5) * (d > 0.01),
                               atol=1e-6)
    np.testing.assert_allclose(f["x"], X0 + 5 + 10 * np.arange(8))
    np.testing.assert_allclose(f["y"], Y0 - 5 - 10 * np.arange(8))
    assert f.attrs["cell_size"] == 10.0 and "4547" in f.attrs["crs"]
    assert run.crs.to_epsg() == 4547
    # flat closed box: 36 mm/h for 10 and 20 minutes on all 64 cells, the roof's rain
    # poured beside the building, all of it on the 60 open cells
    open_cells = ~f["blocked"].values
    assert open_cells.sum() == 60
    np.testing.assert_allclose(run.frame(1)[open_cells].sum(), 0.006 * 64, rtol=1e-4)
    np.testing.assert_allclose(run.frame(2)[open_cells].sum(), 0.012 * 64, rtol=1e-4)
    assert run.frame(2)[open_cells].min() > 0.011
    assert run.building_depth.dims == ("time", "building")
    assert list(run.building_depth["building"].values.astype(object)) == ["B1"]
    assert run.road_depth.shape == (3, 1)
    b = run.impacts.buildings
    assert list(b.columns[:3]) == ["id", "max_depth", "first_flooded_s"]
    assert b["first_flooded"].isna().all()                     # 12 mm is not a flood
    assert set(run.impacts.roads.columns) >= {"id", "max_depth", "closed_from", "closed"}
    k = run.kpis
    assert list(k["time"]) == list(run.times)
    assert set(k.columns) >= {"flooded_area_m2", "max_depth_m", "buildings_flooded",
                              "roads_closed", "people_affected", "rain_mm_h", "sensors_in_alarm"}
    ev = run.events
    assert list(ev.columns) == ["time", "kind", "severity", "where", "x", "y", "message",
                                "engine"]
    assert set(ev["engine"]) == {"flood"}
    assert ev["kind"].tolist() == ["sensor"] and ev["severity"].tolist() == ["warning"]
    assert str(ev["time"].dt.tz) == "UTC"
    assert run.scenario.name == "Flat rain" and "36" not in run.scenario_text
    assert run.scenario.start == run.start
    assert "Flat rain [complete]" in run.summary() and "Buildings: 0 of 1" in run.summary()
    assert "complete" in repr(run)


def test_missing_or_foreign_store_is_refused(tmp_path):
    with pytest.raises(DataError) as err:
        open_run(tmp_path / "nothing.zarr")
    assert "nothing.zarr" in str(err.value) and "Fix:" in str(err.value)
    (tmp_path / "file.zarr").write_text("not a store")
    with pytest.raises(DataError, match="not a readable run"):
        open_run(tmp_path / "file.zarr")
    xr.Dataset({"a": ("x", [1, 2])}).to_zarr(tmp_path / "other.zarr", consolidated=False)
    with pytest.raises(DataError, match="not a twin run"):
        open_run(tmp_path / "other.zarr")


def test_a_run_written_before_the_engine_contract_opens_as_a_flood_run(run_path, tmp_path):
    import shutil
    import zarr
    old = tmp_path / "old.zarr"
    shutil.copytree(run_path, old)
    root = zarr.open_group(old, mode="a")
    attrs = dict(root.attrs)
    for key in ("engines", "groups", "flood_attrs", "chunks"):
        attrs.pop(key, None)
    root.attrs.clear()
    root.attrs.update(attrs)
    shutil.rmtree(old / "clock")
    run = open_run(old)
    assert run.engines == ("flood",) and run.groups == ("impacts",)
    assert len(run.times) == 3 and run.impacts is not None
    assert run.traffic is None and "Flooding" in run.summary()


def test_a_lost_chunk_file_is_a_damaged_run(run_path, tmp_path):
    import shutil
    copy = tmp_path / "copy.zarr"
    shutil.copytree(run_path, copy)
    assert open_run(copy).status == "complete"
    chunk = next(p for p in sorted((copy / "flood" / "depth" / "c").rglob("*")) if p.is_file())
    chunk.unlink()
    with pytest.raises(DataError, match="damaged: array 'flood/depth' has 2 of its 3 chunk files"):
        open_run(copy)
