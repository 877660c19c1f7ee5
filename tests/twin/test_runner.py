"""The scenario runner end to end on a tiny bowl-shaped city (a few seconds)."""
from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from geodata.errors import DataError
from geodata.raster import Raster
from geodata.sensors import SensorTable
from twin.city import City
from twin.replay import open_run
from twin.runner import run_scenario
from twin.scenario import load_scenario

X0, Y0, CELL, N = 500000.0, 3360000.0, 5.0, 16
RAIN_MM_H = 200.0
START = "2024-07-05T12:00:00+08:00"


def tiny_city(folder: Path) -> City:
    """16 x 16 cells of 5 m: a bowl sloping 2 % towards cell (8, 8); a road along
    row 8 through the low point; building H (25 people) in the NW corner and
    building S (60 people) on rows 10-11, cols 7-9 just south of the low point;
    one rain gauge reading 200 mm/h."""
    x = X0 + CELL * (np.arange(N) + 0.5)
    y = Y0 - CELL * (np.arange(N) + 0.5)
    xx, yy = np.meshgrid(x, y)
    z = 10.0 + 0.02 * np.hypot(xx - x[8], yy - y[8])
    terrain = Raster(z, Affine(CELL, 0, X0, 0, -CELL, Y0), "EPSG:4547")
    box = lambda r0, c0, r1, c1: shapely.box(X0 + c0 * CELL, Y0 - r1 * CELL,   # noqa: E731
                                             X0 + c1 * CELL, Y0 - r0 * CELL)
    buildings = gpd.GeoDataFrame(
        {"id": ["H", "S"], "height": [9.0, 6.0], "base": [10.5, 10.1], "use": ["res", "school"],
         "population": [25, 60]}, geometry=[box(1, 1, 4, 4), box(10, 7, 12, 10)], crs="EPSG:4547")
    roads = gpd.GeoDataFrame({"id": ["R1"], "class": ["primary"], "lanes": [2]},
                             geometry=[shapely.LineString([(X0 + 2.5, y[8]), (X0 + 77.5, y[8])])],
                             crs="EPSG:4547")
    times = pd.date_range("2024-07-05T03:50Z", "2024-07-05T04:40Z", freq="5min")
    stations = gpd.GeoDataFrame(
        {"id": ["RG1", "WL1"], "name": ["centre", "pond"], "kind": ["rain_gauge", "water_level"],
         "unit": ["mm/h", "m"], "warning": [50.0, np.nan], "alarm": [100.0, np.nan]},
        geometry=[shapely.Point(x[8], y[8]), shapely.Point(x[0], y[0])], crs="EPSG:4547")
    readings = pd.concat([pd.DataFrame({"sensor_id": "RG1", "time": times, "value": RAIN_MM_H}),
                          pd.DataFrame({"sensor_id": "WL1", "time": times, "value": 9.0})])
    manifest = folder / "city.toml"
    manifest.write_text('name = "bowl"\n[terrain]\npath = "terrain.tif"\n')
    terrain.write(folder / "terrain.tif")
    return City("Bowl", "EPSG:4547", terrain=terrain, buildings=buildings, roads=roads,
                sensors=SensorTable(stations, readings), places={"low": (x[8], y[8])},
                source=str(manifest))


def scenario_file(folder: Path, extra: str = "", duration: str = "20min") -> Path:
    path = folder / "bowl.toml"
    path.write_text(textwrap.dedent(f"""
        name = "Bowl storm"
        city = "city.toml"
        start = "{START}"
        duration = "{duration}"
        output_every = "5min"
        [flood]
        cell_size = {CELL}
        [forcing.rain]
        source = "gauges"
    """) + textwrap.dedent(extra))
    return path


@pytest.fixture
def bowl(tmp_path):
    return tiny_city(tmp_path), tmp_path


def test_run_end_to_end(bowl):
    city, folder = bowl
    scenario = load_scenario(scenario_file(folder))
    run = run_scenario(scenario, out=folder / "runs" / "bowl.zarr", city=city)
    assert run.status == "complete"
    assert sorted(p.name for p in (folder / "runs").iterdir()) == ["bowl.zarr"]   # no temp left
    run = open_run(folder / "runs" / "bowl.zarr")
    assert run.start == pd.Timestamp(START)
    assert list(run.times) == list(pd.date_range(START, periods=5, freq="5min"))
    depth = run.flood["depth"]
    assert depth.shape == (5, N, N) and depth.encoding["chunks"] == (1, N, N)
    d = depth.values.astype(float)
    blocked = run.flood["blocked"].values
    assert (d[0] == 0).all() and (d[:, blocked] == 0).all()
    np.testing.assert_array_equal(run.frame(3), depth.isel(time=3).values)

    # conservation: closed box, no losses -> all the rain is still there, the rain on the
    # roofs too (downpipes put it on the ground beside each building)
    assert blocked.sum() > 0
    rain_m3 = RAIN_MM_H / 3.6e6 * 1200.0 * N * N * CELL ** 2
    stored = d[-1].sum() * CELL ** 2
    assert stored == pytest.approx(rain_m3, rel=0.01)
    assert abs(run.provenance["engines"]["flood"]["volume_error"]) < 1e-3

    # KPIs recomputed from the frames
    k = run.kpis
    assert list(k["time"]) == list(run.times)
    np.testing.assert_allclose(k["flooded_area_m2"],
                               ((d >= 0.05) & ~blocked).sum(axis=(1, 2)) * CELL ** 2)
    np.testing.assert_allclose(k["max_depth_m"], d.max(axis=(1, 2)), rtol=1e-6)
    road = d[:, 8, :].max(axis=1)
    np.testing.assert_array_equal(k["roads_closed"], (road >= 0.3).astype(int))
    ring_s = d[:, 9:13, 6:11].copy()
    ring_s[:, 1:3, 1:4] = 0                                   # S's own (dry) footprint
    s_flooded = ring_s.max(axis=(1, 2)) >= 0.15
    np.testing.assert_array_equal(k["buildings_flooded"], s_flooded.astype(int))
    np.testing.assert_array_equal(k["people_affected"], 60 * s_flooded)
    np.testing.assert_allclose(k["rain_mm_h"], RAIN_MM_H)
    np.testing.assert_array_equal(k["sensors_in_alarm"], 1)
    assert road.max() > 0.3 and s_flooded.any()               # the bowl floods

    # events: the road closes once, at the first frame over 0.3 m; the gauge alarms
    ev = run.events
    closed = ev[ev["kind"] == "road_closed"]
    first = int(np.argmax(road >= 0.3))
    assert closed["time"].tolist() == [run.times[first].tz_convert("UTC")]
    assert ev[(ev["kind"] == "sensor")]["severity"].tolist() == ["alarm"]
    b = run.impacts.buildings.set_index("id")
    assert b.loc["S", "flooded"] and not b.loc["H", "flooded"]
    assert b.loc["S", "first_flooded"] == run.times[int(np.argmax(s_flooded))]

    # provenance: hashes of the scenario text and the city's files
    p = run.provenance
    assert p["scenario_sha256"] == hashlib.sha256(scenario.text.encode()).hexdigest()
    assert p["inputs_sha256"]["terrain.tif"] == hashlib.sha256(
        (folder / "terrain.tif").read_bytes()).hexdigest()
    assert set(p["inputs_sha256"]) == {"city.toml", "terrain.tif"}
    assert {"numpy", "numba", "xarray", "zarr"} <= set(p["versions"])
    assert p["simulated_s"] == 1200.0 and p["wall_time_s"] > 0


def test_ctrl_c_leaves_a_readable_partial_run(bowl):
    city, folder = bowl
    scenario = load_scenario(scenario_file(folder, duration="1h"))
    seen = []

    def interrupt(frame, time_s):
        seen.append(time_s)
        if frame == 2:
            raise KeyboardInterrupt

    out = folder / "partial.zarr"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario, out=out, city=city, on_frame=interrupt)
    assert seen == [300.0, 600.0]
    run = open_run(out)
    assert run.status == "partial"
    assert len(run.times) == 3 and len(run.kpis) == 3
    assert run.building_depth.sizes["time"] == 3
    assert run.flood["depth"].isel(time=-1).values.sum() > 0
    assert "partial" in run.summary()
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".zarr"
                  or p.name.startswith(".")) == ["partial.zarr"]


def test_rerun_replaces_an_existing_run(bowl):
    city, folder = bowl
    scenario = load_scenario(scenario_file(folder, duration="5min"))
    out = folder / "r.zarr"
    run_scenario(scenario, out=out, city=city)
    run = run_scenario(scenario.with_changes(rain_scale=0.5), out=out, city=city)
    assert "rain x0.5" in run.name and run.kpis["rain_mm_h"].iloc[-1] == RAIN_MM_H / 2


def test_bad_forcing_writes_nothing(bowl):
    city, folder = bowl
    cases = [('[forcing.river]\ngauge = "RG1"\n', "not a water_level"),
             ('[forcing.river]\ngauge = "XX9"\n', "not a station"),
             ('[forcing.river]\nlevel_m = 12.0\n', "no water of that kind"),
             ('[[forcing.pumps]]\nat = "station"\ncapacity_m3s = 1\n', "place 'station'"),
             ('[[forcing.pumps]]\nat = { x = 0.0, y = 0.0 }\ncapacity_m3s = 1\n', "outside")]
    for extra, message in cases:
        scenario = load_scenario(scenario_file(folder, extra))
        with pytest.raises(DataError, match=message) as err:
            run_scenario(scenario, out=folder / "bad.zarr", city=city)
        assert "bowl.toml" in str(err.value)
    scenario = load_scenario(scenario_file(folder).with_name("bowl.toml"))
    with pytest.raises(DataError, match="not rain gauges"):
        run_scenario(scenario.with_changes(**{"forcing.rain.gauges": ["WL1"]}),
                     out=folder / "bad.zarr", city=city)
    (folder / "notes").mkdir()
    with pytest.raises(DataError, match="not a run"):
        run_scenario(scenario, out=folder / "notes", city=city)
    assert not (folder / "bad.zarr").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["storm", "design100", "yangtze_overtopping", "demo"])
def test_sample_scenarios_fit_the_sample_city(sample_city_path, name):
    from twin.engines.flood.grid import flood_grid
    from twin.manifest import load_city
    from twin.engines.flood import build_forcing
    s = load_scenario(sample_city_path.parent / "scenarios" / f"{name}.toml")
    city = load_city(s.city)
    grid = flood_grid(city, s.flood.cell_size, buildings=s.flood.buildings)
    forcing = build_forcing(s, city, grid)
    assert forcing.depth[grid.water["lake"]].mean() > 1.0        # the lake starts full
    assert (forcing.depth[~grid.any_water] == 0).all()
    if s.flood.rain is not None:
        assert forcing.rain_at(np.array([0.0, s.duration_s / 2])).max() > 0
    if s.flood.river is not None:
        r, c = grid.index(*city.places["levee"])
        crest = grid.elevation[r - 3:r + 4, c - 3:c + 4].max()
        level = forcing.river[2].max()
        assert abs(level - crest) < 0.5                          # the Yangtze at the crest
        assert forcing.breach[r, c] < level - 4                  # and through the breach


def test_breach_opens_at_its_time(bowl):
    """A pit cut at the low point at 10 min: the frames before it match a run without
    breach exactly; after it, the pit holds the water that runs into it."""
    city, folder = bowl
    plain = run_scenario(load_scenario(scenario_file(folder)), out=folder / "plain.zarr",
                         city=city)
    breach = """
        [forcing.breach]
        at = "low"
        width_m = 6.0
        level_m = 7.0
        time = "10min"
    """
    cut = run_scenario(load_scenario(scenario_file(folder, breach)), out=folder / "cut.zarr",
                       city=city)
    a, b = plain.flood["depth"].values, cut.flood["depth"].values
    np.testing.assert_array_equal(a[:3], b[:3])                  # 0, 5 and 10 min
    r, c = 8, 8
    assert b[3, r, c] > a[3, r, c] + 2.0                         # the pit, 3 m deeper, fills
    assert cut.flood["elevation"].values[r, c] == pytest.approx(7.0)
    assert abs(cut.provenance["engines"]["flood"]["volume_error"]) < 1e-3
