"""The viewer app: `twin serve` in a real headless Chromium, and the error page.

The browser tests share one server and one page (session fixtures) and run in
file order: load, draw, replay, events, map. Screenshots are kept in
test-artifacts/viewer/.
"""
import time
from urllib.parse import urlparse

import numpy as np
import pytest

from viewer.app import build_app, error_page
from viewer.mapview import FRAME, map_extent

from .conftest import non_background, pixels as canvas_pixels, shot

def changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that differ (over the common area; the canvas may resize by a few px)."""
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return float((np.abs(a[:h, :w] - b[:h, :w]).sum(axis=2) > 30).mean())


def wait_for(predicate, timeout=15.0, step=0.05):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if predicate():
            return time.perf_counter() - t0
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def kpi(page, key: str) -> str:
    return page.locator(f".kpi-board .kpi-{key} .kpi-value").first.inner_text()


# -- without a browser -----------------------------------------------------------

def test_missing_target_gives_a_clear_page(tmp_path):
    page = build_app(tmp_path / "nowhere.zarr")
    text = page.objects[1].object
    assert "Cannot open" in text and "nowhere.zarr" in text and "does not exist" in text


def test_unreadable_run_gives_a_clear_page(tmp_path):
    bad = tmp_path / "broken.zarr"
    bad.mkdir()
    (bad / "zarr.json").write_text("not json")
    text = build_app(bad).objects[1].object
    assert "Cannot open" in text and "broken.zarr" in text


def test_error_page_says_what_to_do():
    text = error_page("x.toml", ValueError("bad")).objects[1].object
    assert "twin serve" in text and "twin demo" in text


# -- in Chromium -------------------------------------------------------------------

@pytest.mark.browser
def test_page_loads_fast_without_errors_or_outside_requests(page, server):
    shot(page, "01-loaded")
    assert page.errors == []
    outside = [u for u in page.requests if urlparse(u).hostname not in ("127.0.0.1", "localhost")
               and not u.startswith(("data:", "blob:"))]
    assert outside == [], "resources must be inline/local (no CDN)"
    print(f"city on screen {page.city_on_screen_s:.1f} s after starting twin serve "
          f"(server listening after {server.started_s:.1f} s)")
    # target 10 s (benchmarks/viewer_latency.py); this bound catches regressions on a
    # shared CI machine drawing with software GL
    assert page.city_on_screen_s < 40.0


@pytest.mark.browser
def test_3d_canvas_draws_the_city(page):
    wait_for(lambda: non_background(canvas_pixels(page)) > 0.2, timeout=20)
    shot(page, "02-canvas", ".scene3d canvas")
    assert page.locator(".kpi-board .kpi").count() == 7


@pytest.mark.browser
def test_time_player_changes_water_and_kpis(page):
    before_depth, before_clock = kpi(page, "max_depth_m"), page.locator(".clock-text").inner_text()
    before = canvas_pixels(page)
    page.locator(".playback-last button").click()
    kpi_s = wait_for(lambda: kpi(page, "max_depth_m") != before_depth)
    water_s = wait_for(lambda: changed(canvas_pixels(page), before) > 0.001)
    shot(page, "03-last-frame")
    assert page.locator(".clock-text").inner_text() != before_clock
    assert float(kpi(page, "max_depth_m").split()[0]) > 0
    print(f"frame change: KPIs after {kpi_s:.2f} s, new water drawn after {water_s:.2f} s")
    # target 0.5 s: the server side takes < 0.15 s (benchmark); SwiftShader draws slowly
    assert kpi_s < 15.0 and water_s < 30.0


@pytest.mark.browser
def test_choosing_an_event_moves_the_camera(page):
    page.locator(".side-tabs .bk-tab", has_text="Events").click()
    rows = page.locator(".event-table .tabulator-row")
    wait_for(lambda: rows.count() > 0)
    before = canvas_pixels(page)
    rows.last.click()
    wait_for(lambda: changed(canvas_pixels(page), before) > 0.05)
    shot(page, "04-event-chosen")


@pytest.mark.browser
def test_clicking_a_building_on_the_map_shows_its_attributes(page, real_run):
    import twin
    city = twin.load_city(real_run.scenario.city)
    page.locator(".side-tabs .bk-tab", has_text="Map").click()
    b = city.buildings.iloc[int(city.buildings.geometry.area.to_numpy().argmax())]
    x, y = b.geometry.representative_point().coords[0]
    x0, x1, y0, y1 = map_extent(city.bounds)
    box = page.locator(".mapview canvas").first.bounding_box()
    top = box["y"] + box["height"] - FRAME[1]           # the toolbar sits above the frame
    page.mouse.click(box["x"] + (x - x0) / (x1 - x0) * FRAME[0],
                     top + (y1 - y) / (y1 - y0) * FRAME[1])
    shot(page, "05-map-clicked")
    info = page.locator(".building-info table.attributes").first
    info.wait_for(timeout=20_000)
    wait_for(lambda: str(b["id"]) in info.inner_text())
    shot(page, "05-building-picked")
    assert f"{b['height']:,.2f}" in info.inner_text()


def test_serve_passes_auth_message_size_and_inline_resources(monkeypatch):
    import panel as pn

    from viewer import app
    seen = {}
    monkeypatch.setattr(pn, "serve", lambda apps, **kw: seen.update(kw, apps=apps))
    app.serve("city.toml", port=5123, show=False, basic_auth="s3cret")   # missing: warns, serves
    assert seen["basic_auth"] == "s3cret" and seen["cookie_secret"]
    assert seen["websocket_max_message_size"] >= 256 * 1024 * 1024
    assert seen["port"] == 5123 and seen["address"] == "127.0.0.1" and seen["show"] is False
    assert pn.config.inline
    seen.clear()
    app.serve("city.toml", port=5124, show=False)
    assert "basic_auth" not in seen and seen["port"] == 5124


def test_what_if_comparison_links_cameras_and_shows_differences(tiny_city, tiny_run):
    from bokeh.document import Document

    from scenes.meshes import city_scene
    from viewer.app import OperationsScreen
    from viewer.workspace import Workspace
    tiny_run.name = "base"
    screen = OperationsScreen(Workspace(tiny_city, city_scene(tiny_city), "tiny.toml",
                                        {"tiny.zarr": "tiny.zarr"}, tiny_run))
    screen.panel.get_root(Document())
    worse = tiny_run.__class__(**{**vars(tiny_run), "name": "worse", "kpis": tiny_run.kpis.assign(
        buildings_flooded=tiny_run.kpis.buildings_flooded + 2)})
    screen.show_comparison(worse)
    assert screen.compare_slot.visible
    screen.playback.player.value = 2
    other_view = screen.compare[1]
    assert other_view.frame == 2 and other_view.water_cells == 20
    assert '<div class="kpi-diff worse">+2</div>' in screen.diff_board.pane.object
    assert screen.diff_slot.visible and "worse" in screen.compare_label.object
    screen.view.fly_to("venue")
    assert other_view.pane.camera == screen.view.pane.camera
    other_view.fly_to("district")
    assert screen.view.pane.camera == other_view.pane.camera
