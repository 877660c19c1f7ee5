"""The traffic layer on a real run of a hand-made 2 x 2 km grid of roads: speed classes,
closed roads, widths from flow, KPIs, link information, what-ifs."""
from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from shapely.ops import unary_union

import twin
from geodata.raster import Raster
from geodata.sensors import SensorTable
from scenes.meshes import city_scene
from twin.city import City
from twin.scenario import parse_scenario
from viewer import palette
from viewer.layers import layer_class
from viewer.layers.traffic import SPEED_BREAKS, SPEED_COLORS, TrafficLayer, traffic_changes
from viewer.viewmodel import ViewModel

X0, Y0 = 500000.0, 3360000.0
CLOSED = "R000"


def grid_city(folder: Path) -> City:
    """Three north-south and three east-west two-way arterials 600 m apart (split at
    their crossings), three residential and two office blocks, flat ground."""
    terrain = Raster(np.full((100, 100), 10.0, "float32"), Affine(20, 0, X0, 0, -20, Y0),
                     "EPSG:4547")
    lines = []
    for v in (400, 1000, 1600):
        lines.append(shapely.LineString([(X0 + v, Y0 - 1900), (X0 + v, Y0 - 100)]))
        lines.append(shapely.LineString([(X0 + 100, Y0 - 2000 + v), (X0 + 1900, Y0 - 2000 + v)]))
    segs = list(unary_union(lines).geoms)
    roads = gpd.GeoDataFrame(
        {"id": [f"R{k:03d}" for k in range(len(segs))],
         "name": [f"Grid Road {k}" for k in range(len(segs))], "class": "arterial",
         "lanes": 2, "speed_kmh": 50.0, "capacity_vph": 1800.0, "oneway": False},
        geometry=segs, crs="EPSG:4547")
    corners = [(300, 300), (1500, 1500), (300, 1500), (1500, 300), (900, 900)]
    buildings = gpd.GeoDataFrame(
        {"id": [f"B{k}" for k in range(5)], "name": [f"Block {k}" for k in range(5)],
         "use": ["residential", "office"] * 2 + ["residential"], "height": 15.0,
         "base": 10.0, "population": [3000, 0, 3000, 0, 3000]},
        geometry=[shapely.box(X0 + x, Y0 - 2000 + y, X0 + x + 60, Y0 - 1940 + y)
                  for x, y in corners], crs="EPSG:4547")
    sensors = SensorTable(
        gpd.GeoDataFrame({"id": [], "kind": [], "unit": []}, geometry=[], crs="EPSG:4547"),
        pd.DataFrame({"sensor_id": pd.Series([], dtype=str),
                      "time": pd.Series([], dtype="datetime64[ns, UTC]"),
                      "value": pd.Series([], dtype=float)}))
    manifest = folder / "city.toml"
    manifest.write_text('name = "grid"\n[terrain]\npath = "terrain.tif"\n')
    terrain.write(folder / "terrain.tif")
    return City("Grid", "EPSG:4547", terrain=terrain, buildings=buildings, roads=roads,
                sensors=sensors, source=str(manifest), timezone="Asia/Shanghai")


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    city = grid_city(folder)
    text = (f'name = "grid rush"\ncity = "{folder / "city.toml"}"\n'
            'start = "2024-07-05T08:00:00+08:00"\nduration = "10min"\noutput_every = "2min"\n'
            f'[traffic]\nwarmup = "5min"\ndemand_scale = 5.0\nclosures = ["{CLOSED}"]\n'
            '[traffic.calibration]\nenabled = false\n')
    s = parse_scenario(text, source=folder / "s.toml")
    twin.run_scenario(s, out=folder / "r.zarr", city=city)
    run = twin.open_run(folder / "r.zarr")
    return ViewModel(city, city_scene(city), run).layers["traffic"]


def test_the_traffic_layer_is_found_by_the_engine_name(traffic):
    assert layer_class("traffic") is TrafficLayer and isinstance(traffic, TrafficLayer)


def test_roads_take_the_class_colour_of_their_slower_direction(traffic):
    tr, roads = traffic.data, traffic.model.city.roads
    i = traffic.model.n_frames - 1
    rgb = traffic.road_colors(i, np.zeros((len(roads), 3), np.uint8))
    closed = traffic.road_closed(i)
    assert closed.tolist() == (roads["id"] == CLOSED).tolist()
    assert rgb[closed].tolist() == [list(palette.ROAD_CLOSED)]
    speed = tr["speed"].isel(time=i).to_numpy() * 3.6
    link_road = tr["road"].to_numpy().astype(object).astype(str)
    for row in np.flatnonzero(~closed):             # a few roads, checked one by one
        slow = speed[link_road == roads["id"].iloc[row]].min()
        k = int(np.searchsorted(SPEED_BREAKS, round(float(slow), 1), side="right"))
        assert rgb[row].tolist() == list(SPEED_COLORS[k])
    assert len({tuple(c) for c in rgb[~closed]}) >= 2        # the run has slow and fast roads


def test_a_free_street_at_its_speed_limit_is_in_the_class_of_that_limit(traffic):
    tr = traffic.data
    limit = np.float32(30 / 3.6)                     # a local street's 30 km/h, as stored
    assert limit * 3.6 < 30.0
    row = int(np.flatnonzero(traffic.model.city.roads["id"] == "R003")[0])
    links = np.flatnonzero(tr["road"].to_numpy().astype(object).astype(str) == "R003")
    traffic.frame(0)["speed"][links] = limit * 3.6   # the frame as read, then set by hand
    assert traffic.road_speed_kmh(0)[row] == 30.0
    rgb = traffic.road_colors(0, np.zeros((len(traffic.model.city.roads), 3), np.uint8))
    assert rgb[row].tolist() == list(SPEED_COLORS[3])
    traffic._frame = None                            # forget the hand-set frame


def test_road_widths_follow_flow(traffic):
    i = traffic.model.n_frames - 1
    w, flow = traffic.road_widths(i), traffic.road_flow_vph(i)
    assert ((w >= 1.0) & (w <= 3.0)).all()
    assert w[traffic.road_closed(i)].tolist() == [1.0]          # nobody drives on it
    assert np.argmax(w) == np.argmax(flow) and w.max() > 1.5
    total = traffic.data["flow"].isel(time=i).to_numpy().sum() * 3600
    assert flow.sum() == pytest.approx(total, rel=1e-5)         # every link counted once


def test_colours_are_distinct_and_readable_on_the_dark_background():
    assert len(set(SPEED_COLORS)) == len(SPEED_COLORS) and palette.ROAD_CLOSED not in SPEED_COLORS
    assert all(palette.contrast(c) >= 3.0 for c in SPEED_COLORS)


def test_kpi_values_are_the_runs_kpis(traffic):
    run = traffic.model.run
    for i in (0, traffic.model.n_frames - 1):
        values = traffic.kpi_values(i)
        assert set(values) == {k.key for k in traffic.kpis}
        for key, v in values.items():
            assert v == pytest.approx(float(run.kpis[key].iloc[i]), nan_ok=True, abs=1e-6)
            assert not v < 0
    assert values["links_closed"] == 2


def test_legends_have_units(traffic):
    speed = next(lg for lg in traffic.legends("use") if lg.key == "traffic-speed")
    labels = [label for label, _ in speed.classes]
    assert speed.unit == "km/h" and labels[0] == "< 10 km/h" and labels[-1] == "≥ 45 km/h"
    assert [c for _, c in speed.classes] == list(SPEED_COLORS)


def test_a_pick_on_a_road_tells_its_traffic(traffic):
    roads = traffic.model.city.roads
    road = roads.iloc[5]
    mid = road.geometry.interpolate(0.5, normalized=True)
    info = traffic.feature_at(mid.x + 3.0, mid.y + 3.0, 2)
    assert road["name"] in info and "km/h" in info and "veh/h" in info and "vehicles" in info
    assert info.count("<br>") == 2                             # both directions
    closed = roads.geometry[roads["id"] == CLOSED].iloc[0].interpolate(0.5, normalized=True)
    assert "closed" in traffic.feature_at(closed.x, closed.y, 2)
    assert traffic.feature_at(X0 + 700, Y0 - 700, 2) == ""     # inside a block


def test_whatif_controls_give_valid_scenarios(traffic):
    s = traffic.model.run.scenario
    controls = {c.widget.label: c for c in traffic.whatif_controls(s)}
    assert controls["Close roads"].widget.value == [CLOSED]
    assert controls["Close roads"].changes() == {} and controls["Demand scale"].changes() == {}
    controls["Close roads"].widget.value = [CLOSED, "R003"]
    controls["Demand scale"].widget.value = 2.0
    changes = {**controls["Close roads"].changes(), **controls["Demand scale"].changes()}
    assert changes == {"close_roads": ["R003"], "demand_scale": 2.0}
    variant = s.with_changes(**changes)
    cfg = variant.engines["traffic"]
    assert set(cfg.closures) == {CLOSED, "R003"} and cfg.demand_scale == 2.0
    assert traffic_changes(None, close=["R003"]) == {} and traffic.whatif_controls(None) == []


# -- in Chromium: a traffic run of the sample district through `twin serve` ---------------

@pytest.fixture(scope="module")
def rush_hour_server(tmp_path_factory):
    """The first 15 minutes of the sample's rush hour, served by ``twin serve`` on a free
    loopback port (stopped at the end)."""
    from ..conftest import ARTIFACTS, SAMPLE, free_port, served
    path = SAMPLE / "scenarios" / "rush_hour.toml"
    if not path.exists():
        pytest.skip("data_samples/ezhou/scenarios/rush_hour.toml has not been generated")
    out = tmp_path_factory.mktemp("rush") / "rush.zarr"
    s = twin.load_scenario(path).with_changes(duration="15min", **{"traffic.warmup": "5min"})
    twin.run_scenario(s, out=out, progress=False)
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "traffic-server.log"
    with served(["-m", "twin.cli", "serve", str(out), "--port", str(port), "--no-browser"], port,
                log_path):
        yield f"http://127.0.0.1:{port}/", log_path


@pytest.mark.browser
def test_a_traffic_run_page_loads_with_its_cards_and_legend(chromium, rush_hour_server):
    from ..conftest import non_background, pixels, shot
    url, log_path = rush_hour_server
    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        page.wait_for_selector(".scene3d canvas", state="attached", timeout=60_000)
        t0 = time.perf_counter()
        while non_background(pixels(page)) < 0.2 and time.perf_counter() - t0 < 60:
            time.sleep(0.2)
        page.wait_for_selector(".kpi-mean_speed_kmh", timeout=30_000)
        assert page.locator(".kpi-board .kpi").count() == len(TrafficLayer.kpis)
        assert "km/h" in page.locator(".kpi-board .kpi-mean_speed_kmh .kpi-value").inner_text()
        assert page.locator(".legend-traffic-speed .legend-item").count() == len(SPEED_COLORS)
        shot(page, "traffic-rush-hour")
        assert errors == []
        assert "Traceback" not in log_path.read_text(errors="replace")
    finally:
        context.close()



def test_a_run_without_counters_has_no_modelled_sensor_series(traffic):
    assert "traffic_fit" in traffic.model.run.groups
    assert traffic.sensor_models() == {}          # the grid city has no counters
