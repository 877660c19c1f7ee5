"""Fixtures of the viewer tests.

* ``tiny_city`` / ``tiny_run``: a 10 x 10 cell city with two buildings and one
  road, and a three-frame replay whose depths are chosen by hand, so the
  view-model's meshes, colours and KPIs can be checked against known answers.
  The hand-made run is a :class:`TinyRun`, which follows the viewer's
  :class:`viewer.viewmodel.RunView` protocol, the part of ``twin.Run`` the
  viewer reads (a test checks both against it).
* ``real_run``: the sample scenario run once per session with the real
  ``twin.run_scenario`` and reopened with ``twin.open_run``.
* ``server`` / ``browser_page``: ``twin serve`` on a free loopback port and a
  headless Debian Chromium driven by Playwright; screenshots go to
  ``test-artifacts/viewer/``. Every server started here is stopped.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from affine import Affine

from geodata.raster import Raster
from twin.city import City

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "viewer"
CHROMIUM = Path("/usr/bin/chromium")
SAMPLE = REPO / "data_samples" / "ezhou"

X0, Y0 = 500000.0, 3360000.0  # north-west corner of the tiny city
CELL = 10.0


@pytest.fixture
def tiny_city() -> City:
    """10 x 10 cells of 10 m; ground falls 0.1 m per column eastwards from 20 m."""
    ground = (20.0 - 0.1 * np.arange(10))[None, :].repeat(10, axis=0).astype("float32")
    terrain = Raster(ground, Affine(CELL, 0, X0, 0, -CELL, Y0), "EPSG:4547")
    buildings = gpd.GeoDataFrame(
        {"id": ["B1", "B2"], "height": [10.0, 30.0], "base": [20.0, 19.5],
         "use": ["residential", "commercial"], "name": ["Home", "Mall"],
         "population": [40, 0]},
        geometry=[shapely.box(X0 + 10, Y0 - 30, X0 + 30, Y0 - 10),
                  shapely.box(X0 + 60, Y0 - 80, X0 + 90, Y0 - 50)], crs="EPSG:4547")
    roads = gpd.GeoDataFrame(
        {"id": ["R1"], "name": ["Lake Road"], "class": ["primary"], "lanes": [2]},
        geometry=[shapely.LineString([(X0 + 5, Y0 - 45), (X0 + 95, Y0 - 45)])], crs="EPSG:4547")
    return City("Tiny", "EPSG:4547", terrain=terrain, buildings=buildings, roads=roads,
                places={"venue": (X0 + 75, Y0 - 65)}, timezone="Asia/Shanghai")


@dataclass
class TinyRun:
    """A run made by hand with the interface of ``twin.Run`` that the viewer reads."""

    flood: xr.Dataset
    impacts: SimpleNamespace
    kpis: pd.DataFrame
    events: pd.DataFrame
    times: pd.DatetimeIndex
    scenario: object = None
    name: str = "tiny"
    path: Path = Path("tiny.zarr")
    engines: tuple = ("flood",)
    extra: dict = field(default_factory=dict)

    def __getitem__(self, engine: str):
        if engine == "flood" and "flood" in self.engines:
            return self.flood
        if engine in self.extra:
            return self.extra[engine]
        raise KeyError(engine)


@pytest.fixture
def tiny_run(tiny_city) -> TinyRun:
    """Three frames, 30 min apart from 2024-07-05 06:00 UTC (14:00 in Ezhou):
    dry; one cell 0.5 m deep at row 2, col 3; rows 4-5 flooded 0.4 m (the road's
    row) and 1.2 m at the mall."""
    times = pd.date_range("2024-07-05 06:00", periods=3, freq="30min", tz="UTC")
    depth = np.zeros((3, 10, 10), "float32")
    depth[1, 2, 3] = 0.5
    depth[2, 4:6, :] = 0.4
    x = X0 + CELL * (np.arange(10) + 0.5)
    y = Y0 - CELL * (np.arange(10) + 0.5)
    flood = xr.Dataset({"depth": (("time", "y", "x"), depth)},
                       coords={"time": times.tz_convert(None), "x": x, "y": y},
                       attrs={"cell_size": CELL})
    building_depth = xr.DataArray(np.array([[0, 0], [0.5, 0], [0, 1.2]]), dims=("time", "building"))
    road_depth = xr.DataArray(np.array([[0.0], [0.0], [0.4]]), dims=("time", "road"))
    kpis = pd.DataFrame({"time": times, "flooded_area_m2": [0.0, 100.0, 2000.0],
                         "max_depth_m": [0.0, 0.5, 1.2], "buildings_flooded": [0, 1, 1],
                         "roads_closed": [0, 0, 1], "people_affected": [0, 40, 0],
                         "rain_mm_h": [12.0, 40.0, 5.0], "sensors_in_alarm": [0, 0, 0]})
    events = pd.DataFrame({"time": [times[0] + pd.Timedelta("5min"), times[2]],
                           "kind": ["building_flooded", "road_closed"],
                           "severity": ["warning", "alarm"], "where": ["B1", "R1"],
                           "x": [X0 + 20, X0 + 50], "y": [Y0 - 20, Y0 - 45],
                           "message": ["B1 wet", "road R1 closed"]})
    return TinyRun(flood=flood, impacts=SimpleNamespace(building_depth=building_depth,
                                                        road_depth=road_depth),
                   kpis=kpis, events=events, times=times)


@pytest.fixture(scope="session")
def real_run(tmp_path_factory):
    """The first 40 minutes of the sample's demo scenario (five frames, the first
    floods and closures), run once with ``twin.run_scenario`` and reopened
    (``TWIN_VIEWER_TEST_RUN=PATH`` reuses a copy of a run made before)."""
    demo = SAMPLE / "scenarios" / "demo.toml"
    if not demo.exists():
        pytest.skip("data_samples/ezhou/scenarios/demo.toml has not been generated")
    import shutil

    import twin
    out = tmp_path_factory.mktemp("runs") / "demo.zarr"
    reuse = os.environ.get("TWIN_VIEWER_TEST_RUN")   # a run made before, to work on the viewer
    if reuse:
        shutil.copytree(reuse, out)
    else:
        twin.run_scenario(twin.load_scenario(demo).with_changes(duration="40min"), out=out,
                          progress=False)
    return twin.open_run(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(argv: list[str], port: int, log_path: Path, *, cwd: Path = REPO,
           env: dict | None = None, timeout: float = 90.0):
    """Start ``python ARGV``, a server on 127.0.0.1:``port``, in its own process group,
    logging to ``log_path``; yield the process once the port listens (the city is loaded
    before the server listens); stop the whole group at the end."""
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, *argv], cwd=cwd, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        t0 = time.perf_counter()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}; see {log_path}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.perf_counter() - t0 > timeout:
                    pytest.fail(f"the server did not answer within {timeout:g} s; see {log_path}")
                time.sleep(0.3)
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def server(real_run):
    """``twin serve RUN --runs DIR --port FREE --no-browser`` on 127.0.0.1; yields its URL.

    The runs folder also holds a copy of the run (``compare.zarr``) to compare with.
    """
    import shutil
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    runs = real_run.path.parent
    if not (runs / "compare.zarr").exists():
        shutil.copytree(real_run.path, runs / "compare.zarr")
    launched = time.perf_counter()
    with served(["-m", "twin.cli", "serve", str(real_run.path), "--runs", str(runs), "--port",
                 str(port), "--no-browser"], port, ARTIFACTS / "server.log") as proc:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", process=proc, launched=launched,
                              started_s=time.perf_counter() - launched,
                              log=ARTIFACTS / "server.log")


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium via Playwright."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
            "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def page(chromium, server):
    """One loaded page of the viewer, shared by the browser tests (in file order).

    ``page.errors`` collects JavaScript errors, ``page.requests`` every URL asked for,
    ``page.city_on_screen_s`` the seconds from starting ``twin serve`` until the 3D
    view shows the city.
    """
    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.errors, pg.requests = [], []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.on("console", lambda msg: pg.errors.append(msg.text) if msg.type == "error" else None)
    pg.on("request", lambda req: pg.requests.append(req.url))
    pg.goto(server.url, wait_until="load", timeout=60_000)
    pg.wait_for_selector(".scene3d canvas", state="attached", timeout=60_000)
    t0 = time.perf_counter()
    while non_background(pixels(pg)) < 0.2 and time.perf_counter() - t0 < 60:
        time.sleep(0.1)
    pg.city_on_screen_s = time.perf_counter() - server.launched
    yield pg
    context.close()


def shot(page, name: str, selector: str | None = None) -> Path:
    """Save a screenshot (of the page or one element) under test-artifacts/viewer/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    target = page.locator(selector).first if selector else page
    target.screenshot(path=str(path))
    return path


BACKGROUND = np.array([15, 20, 31])   # Scene3D's background (0.06, 0.08, 0.12)


def pixels(page) -> np.ndarray:
    """RGB pixels of the 3D view, ``(h, w, 3)`` int."""
    import io

    from PIL import Image
    png = page.locator(".scene3d").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def non_background(rgb: np.ndarray) -> float:
    """Fraction of pixels that are not the 3D view's background."""
    return float((np.abs(rgb - BACKGROUND).sum(axis=2) > 30).mean())


def bokeh_model(page, name: str, attr: str):
    """An attribute of the Bokeh model called ``name`` in the page's document."""
    return page.evaluate(
        "([n, a]) => { for (const d of Bokeh.documents) { const m = d.get_model_by_name(n);"
        " if (m) { const v = m[a]; return (v && v.length !== undefined && typeof v !== 'string')"
        " ? Array.from(v) : v; } } return null; }", [name, attr])


def server_errors(server) -> list[str]:
    """Tracebacks in the server's log so far."""
    text = Path(server.log).read_text(errors="replace")
    return [part.splitlines()[-1] if part.splitlines() else part
            for part in text.split("Traceback (most recent call last):")[1:]]
