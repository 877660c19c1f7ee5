"""The ensemble page, built from a real three-member ensemble of the tiny bowl city
(``twin.run_ensemble`` on a local dask cluster): it shows the stored probabilities and
spreads, follows the threshold selector, and says so when given something else."""
from __future__ import annotations

import os
import time
import urllib.request

import numpy as np
import pandas as pd
import panel as pn
import pytest

pytest.importorskip("distributed", reason="dask.distributed is not installed")

from tests.twin.test_ensemble import write_bowl           # noqa: E402
from viewer.ensemble import (PROBABILITY_PALETTE, EnsemblePage, ensemble_page,  # noqa: E402
                             failed_members_html)
from viewer.palette import BACKGROUND, contrast          # noqa: E402

from .conftest import ARTIFACTS, REPO, free_port, served  # noqa: E402


@pytest.fixture(scope="module")
def ens(tmp_path_factory):
    import twin
    folder = tmp_path_factory.mktemp("bowl")
    scenario = write_bowl(folder)
    return twin.run_ensemble(scenario, members=3, vary=["rain_scale=0.5,1.0,1.5"],
                             out=folder / "ens.zarr", workers=1)


@pytest.fixture(scope="module")
def page(ens):
    return EnsemblePage(ens)


def _north_up(ens, threshold):
    da = ens.probability["depth_exceedance"].sel(threshold=threshold)
    y = ens.probability["y"].values
    return da.values[::-1] if y[0] > y[-1] else da.values


def test_the_map_shows_the_stored_probabilities_at_every_threshold(ens, page):
    thresholds = [float(t) for t in ens.probability["threshold"].values]
    assert sorted(page.threshold.options.values()) == sorted(thresholds)
    for t in thresholds:
        page.threshold.value = t
        image = page.source.data["image"][0]
        np.testing.assert_array_equal(image, _north_up(ens, t))
        # three members: a probability is a count of members over three
        np.testing.assert_allclose(image * 3, np.round(image * 3), atol=1e-9)
    # the image covers the cells' edges, not their centres
    x, y = ens.probability["x"].values, ens.probability["y"].values
    cell = abs(x[1] - x[0])
    assert page.source.data["x"][0] == pytest.approx(x.min() - cell / 2)
    assert page.source.data["y"][0] == pytest.approx(y.min() - cell / 2)
    assert page.source.data["dw"][0] == pytest.approx(len(x) * cell)
    assert page.source.data["dh"][0] == pytest.approx(len(y) * cell)


def test_a_threshold_change_updates_the_map(ens, page):
    page.threshold.value = 0.1
    low = page.source.data["image"][0].copy()
    caption_low = page.map_title.object
    page.threshold.value = 0.5
    high = page.source.data["image"][0]
    assert low.sum() > 0
    # deeper water is never more likely than shallower water, and here it is less
    assert np.all(high <= low + 1e-12) and high.sum() < low.sum()
    np.testing.assert_array_equal(high, _north_up(ens, 0.5))
    assert "0.5 m" in page.map_title.object and caption_low != page.map_title.object


def test_the_spread_table_and_strips_hold_the_members(ens, page):
    spread = ens.kpi_spread()
    table = page.spread.value.set_index("kpi")
    pd.testing.assert_frame_equal(table, spread, check_names=False)
    ok = ens.members[ens.members["status"] == "ok"]
    # a strip for each amount that differs between members; the rest in one line
    varies = spread.index[spread["max"] > spread["min"]]
    assert set(page.strips) == {k for k in varies if not k.endswith(("_x_max", "_y_max"))}
    assert "flooded_area_m2_max" in page.strips and "max_depth_m_max" in page.strips
    note = page.panel.select(lambda o: "ens-note" in str(getattr(o, "object", "")))[0].object
    for kpi in spread.index[spread["max"] == spread["min"]]:
        if not kpi.endswith(("_x_max", "_y_max")):
            assert kpi.removesuffix("_max").replace("_", " ") in note
    for kpi, src in page.strips.items():
        np.testing.assert_allclose(np.sort(src.data["value"]), np.sort(ok[kpi].to_numpy(float)))
    # the wettest member (rain x1.5) floods the most area
    area = page.strips["flooded_area_m2_max"].data["value"]
    assert area.max() == pytest.approx(ens.members.loc[
        ens.members["rain_scale"].idxmax(), "flooded_area_m2_max"])


def test_the_header_and_member_table(ens, page):
    header = page.header_html()
    assert "bowl" in header and "3 members run, 3 ok, 0 failed" in header
    assert "rain_scale 0.5 – 1.5" in header
    members = page.member_table.value
    assert len(members) == 3 and set(members["status"]) == {"ok"}
    assert failed_members_html(ens.members) == ""
    # the bowl has no buildings or roads: the impacts tab says none was hit
    texts = [str(o.object) for o in page.panel.select(pn.pane.HTML)]
    assert any("Buildings: none flooded in any member" in t for t in texts)


def test_failed_members_are_listed_with_their_errors(ens):
    members = ens.members.copy()
    members.loc[members.index[1], ["status", "error"]] = ["failed", "ValueError: rain < 0"]
    text = failed_members_html(members)
    assert "1 member(s) failed" in text and "member 1" in text and "rain &lt; 0" in text


def test_a_path_that_is_not_an_ensemble_gives_a_message(ens, tmp_path):
    for target in (tmp_path, tmp_path / "missing.zarr", ens.path.parent / "bowl.toml"):
        shown = ensemble_page(target)
        text = shown[1].object
        assert "Cannot open" in text and "twin ensemble" in text and "Traceback" not in text
    assert isinstance(ensemble_page(ens.path).objects[0].object, str)


def test_the_palette_reads_on_the_dark_background():
    rgb = [tuple(int(h[k:k + 2], 16) for k in (1, 3, 5)) for h in PROBABILITY_PALETTE]
    assert min(contrast(c, BACKGROUND) for c in rgb) >= 3.0
    lightness = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in rgb]
    assert lightness[-1] > lightness[0] + 100    # ordered in lightness, not only hue


def test_served_page_in_a_browser(ens, chromium):
    port = free_port()
    code = f"from viewer.ensemble import serve_ensemble; serve_ensemble({str(ens.path)!r}, " \
           f"port={port}, show=False)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with served(["-c", code], port, ARTIFACTS / "ensemble-server.log",
                env={**os.environ, "PYTHONPATH": str(REPO)}):
        html = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).read().decode()
        assert "City twin – ensemble" in html
        context = chromium.new_context(viewport={"width": 1500, "height": 950})
        try:
            pg = context.new_page()
            errors = []
            pg.on("pageerror", lambda exc: errors.append(str(exc)))
            pg.goto(f"http://127.0.0.1:{port}/", wait_until="load", timeout=60_000)
            pg.wait_for_selector(".ens-header", timeout=60_000)
            pg.wait_for_selector(".ens-map canvas", state="attached", timeout=60_000)
            time.sleep(2)
            pg.screenshot(path=str(ARTIFACTS / "ensemble.png"))
            assert "bowl" in pg.inner_text(".ens-header")
            assert not errors, errors
        finally:
            context.close()
