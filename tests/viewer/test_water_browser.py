"""Issue 13.8 in a real headless Chromium: the water is a surface on the terrain.

The page of ``twin serve`` (the session's shared page) goes to the last frame;
the browser's water mesh must then hold exactly the heights the server computed
for that frame (the per-frame updates carry only changed, quantised vertices,
compressed), with the flood hidden under the ground on the city's lakes and
rivers where they stand at their normal level (the static "Lakes and rivers"
layer shows them, no z-fighting between two coplanar surfaces); close-ups of a
shoreline and of the lake are kept as screenshots under test-artifacts/viewer/
(``08-water-surface*.png``).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from .conftest import pixels, shot

_BROWSER_SURFACES = """() => {
  const out = {};
  for (const doc of Bokeh.documents) {
    const models = doc.all_models ?? doc._all_models;
    const list = [...(models.values ? models.values() : models)];
    const views = list.filter(m => m.renderer_el && typeof m.getActors === "function");
    for (const stream of list.filter(m => m.grids && m.pane_class !== undefined)) {
      for (const [ptr, g] of Object.entries(stream.grids)) {
        for (const v of views) {
          let found;
          try { found = v.getActors(ptr); } catch (e) { continue; }
          if (!found || !found.length) continue;
          const poly = found[0].getMapper().getInputData();
          const pts = poly.getPoints().getData();
          const rgb = (poly.getPointData().getArrayByName("rgb") ||
                       poly.getPointData().getScalars()).getData();
          const z = [], colour = [];
          for (let i = 0; i < g.n; i++) { z.push(pts[3 * i + 2]); colour.push(rgb[3 * i + 2]); }
          out[ptr] = {n: g.n, z, blue: colour, visible: found[0].getVisibility(),
                      triangles: poly.getPolys().getNumberOfCells()};
        }
      }
    }
  }
  return out;
}"""

_SET_CAMERA = """([position, focal]) => {
  for (const doc of Bokeh.documents) {
    const models = doc.all_models ?? doc._all_models;
    for (const m of (models.values ? models.values() : models)) {
      if (!m.renderer_el || typeof m.getActors !== "function") continue;
      if (!(m.css_classes || []).includes("scene3d")) continue;
      const ren = m.renderer_el.getRenderer(), cam = ren.getActiveCamera();
      const before = {position: cam.getPosition(), focal: cam.getFocalPoint(), up: cam.getViewUp()};
      if (position) {
        cam.setPosition(...position); cam.setFocalPoint(...focal); cam.setViewUp(0, 0, 1);
        ren.resetCameraClippingRange(); m.renderer_el.getRenderWindow().render();
      }
      return before;
    }
  }
  return null;
}"""


def wait_for(predicate, timeout=60.0, step=0.1):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="module")
def expected(real_run):
    """The server's 3D view of the same run at its last frame, built here."""
    from viewer.app import OperationsScreen
    from viewer.workspace import open_workspace
    screen = OperationsScreen(open_workspace(str(real_run.path)))
    last = screen.model.n_frames - 1
    screen.view.show_frame(last)
    return screen.view, last


@pytest.mark.browser
def test_the_browser_draws_the_servers_water_surface_at_the_last_frame(page, expected):
    view, last = expected
    page.locator(".playback-last button").click()
    state = page.locator(".scene-stream-state").first
    wait_for(lambda: state.get_attribute("data-frame") == str(last))
    time.sleep(0.5)
    surfaces = page.evaluate(_BROWSER_SURFACES)
    drape = view.surfaces["flood"]
    water = [s for s in surfaces.values() if s["n"] == drape.n_points]
    assert water, f"no water surface of {drape.n_points} vertices among {len(surfaces)}"
    got = water[0]
    want = np.asarray(view.meshes["flood"].points[:, 2], float)
    # every vertex at the server's height (centimetres, float32), not a quad per cell
    assert got["visible"] and np.abs(np.asarray(got["z"]) - want).max() < 2e-3
    blue = np.asarray(view.meshes["flood"].point_data["rgb"])[:, 2]
    assert (np.asarray(got["blue"]) == blue).all()
    above = view.meshes["flood"].points[:, 2] > drape.ground - drape.origin[2]
    assert above.sum() > 1000
    # only the triangles that reach above the ground are drawn
    layer = view.model.layers["flood"]
    up = layer.drape_frame(last).height > 0
    assert got["triangles"] == up[drape.triangles].any(axis=1).sum() < len(drape.triangles)
    # on the lake, at its normal level at this frame, the browser's flood surface is
    # under the ground: only the static lake is drawn there
    body, normal = layer.water_bodies()
    lake = drape.at_cells(np.where(body >= 0, body, np.nan)) == _lake_row(view)
    assert lake.sum() > 1000 and up[lake].mean() < 0.1
    hidden = lake & ~up
    assert (np.asarray(got["z"])[hidden] < drape.ground[hidden] - drape.origin[2]).all()
    # the overview, whatever the tests before left on screen: a clean lake (no stripes)
    district = view.model.camera_presets()["district"]
    before = page.evaluate(_SET_CAMERA, [None, None])
    try:
        page.evaluate(_SET_CAMERA, [list(district.position), list(district.focal_point)])
        time.sleep(1.5)
        shot(page, "08-water-surface-district")
    finally:
        page.evaluate(_SET_CAMERA, [before["position"], before["focal"]])


def _lake_row(view) -> int:
    """Row of the sample city's lake in ``city.water``."""
    water = view.model.city.water
    return int(np.flatnonzero(water["kind"].astype(str).to_numpy() == "lake")[0])


@pytest.mark.browser
def test_a_close_up_of_the_shoreline(page, expected):
    """The water meets the terrain along the contour where the level reaches the ground."""
    view, _ = expected
    drape = view.surfaces["flood"]
    z = np.asarray(view.meshes["flood"].points[:, 2], float)
    wet = z > drape.ground - drape.origin[2]
    tri = drape.triangles
    shore = tri[wet[tri].any(axis=1) & ~wet[tri].all(axis=1)]
    # the bank of the widest water deeper than 0.15 m, seen from the south
    from scipy.spatial import cKDTree
    depth = np.where(wet, z - (drape.ground - drape.origin[2]), 0.0)
    deep = shore[depth[shore].max(axis=1) > 0.15]
    deep = deep if len(deep) else shore
    xy = np.column_stack([drape.x, drape.y])[deep].mean(axis=1)
    lake = cKDTree(np.column_stack([drape.x, drape.y])[depth > 0.15])
    pick = int(np.argmax([len(n) for n in lake.query_ball_point(xy, 150.0)]))
    target = np.array([*xy[pick], drape.ground[deep[pick]].mean()]) - np.asarray(drape.origin)
    before = page.evaluate(_SET_CAMERA, [None, None])
    try:
        page.evaluate(_SET_CAMERA, [(target + [-80.0, -260.0, 200.0]).tolist(), target.tolist()])
        time.sleep(1.5)
        path = shot(page, "08-water-surface-shoreline", ".scene3d")
        rgb = pixels(page)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        water = (b > r + 30) & (b > g)                     # the depth ramp: pale blue to violet
        assert 0.05 < water.mean() < 0.95, f"water covers {water.mean():.0%} of {path.name}"
    finally:
        page.evaluate(_SET_CAMERA, [before["position"], before["focal"]])


@pytest.mark.browser
def test_the_lake_at_its_normal_level_shows_clean(page, expected):
    """No flood colour striping the lake: at its normal level only the static lake is
    drawn (before the fix the flood surface at the same height z-fought with it)."""
    import shapely
    view, _ = expected
    water = view.model.city.water
    row = _lake_row(view)
    normal = float(view.model.scene.blocks["water"].field_data["level"][row])
    centre = shapely.point_on_surface(water.geometry.values[row])
    target = np.array([centre.x, centre.y, normal]) - np.asarray(view.model.origin)
    before = page.evaluate(_SET_CAMERA, [None, None])
    try:
        page.evaluate(_SET_CAMERA, [(target + [0.0, -320.0, 260.0]).tolist(), target.tolist()])
        time.sleep(1.5)
        path = shot(page, "08-water-surface-lake", ".scene3d")
        rgb = pixels(page)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        lake = (b > r + 40) & (g > r + 20)                 # the static lake's blue (64, 132, 214)
        violet = (b > 120) & (r > g + 15)                  # the flood's 1-2 m and >= 2 m classes
        assert lake.mean() > 0.3, f"the lake covers {lake.mean():.0%} of {path.name}"
        assert violet.mean() < 0.002, f"flood violet on {violet.mean():.1%} of {path.name}"
    finally:
        page.evaluate(_SET_CAMERA, [before["position"], before["focal"]])
