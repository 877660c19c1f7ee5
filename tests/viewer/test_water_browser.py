"""Issue 13.8 in a real headless Chromium: the water is a surface on the terrain.

The page of ``twin serve`` (the session's shared page) goes to the last frame;
the browser's water mesh must then hold exactly the heights the server computed
for that frame (the per-frame updates carry only changed, quantised vertices,
compressed), and a close-up of a shoreline is kept as a screenshot under
test-artifacts/viewer/ (``08-water-surface*.png``).
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
    up = view.model.layers["flood"].drape_frame(last).height > 0
    assert got["triangles"] == up[drape.triangles].any(axis=1).sum() < len(drape.triangles)
    shot(page, "08-water-surface-district")


@pytest.mark.browser
def test_a_close_up_of_the_shoreline(page, expected):
    """The water meets the terrain along the contour where the level reaches the ground."""
    view, _ = expected
    drape = view.surfaces["flood"]
    z = np.asarray(view.meshes["flood"].points[:, 2], float)
    wet = z > drape.ground - drape.origin[2]
    tri = drape.triangles
    shore = tri[wet[tri].any(axis=1) & ~wet[tri].all(axis=1)]
    # the bank of the widest deep water (the lake), seen from the south
    from scipy.spatial import cKDTree
    depth = np.where(wet, z - (drape.ground - drape.origin[2]), 0.0)
    deep = shore[depth[shore].max(axis=1) > 0.5]
    deep = deep if len(deep) else shore
    xy = np.column_stack([drape.x, drape.y])[deep].mean(axis=1)
    lake = cKDTree(np.column_stack([drape.x, drape.y])[depth > 0.5])
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
