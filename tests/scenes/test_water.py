"""Water and draped grid surfaces checked against closed-form answers: on a
planar slope still water ends on a straight shoreline exactly where the
plane reaches the level, whatever the grid's orientation or the depth
grid's resolution; clipped areas match triangle geometry."""
from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from scenes.water import clip_surface, draped_surface, sample_grid, water_surface

X0, Y0 = 585000.0, 3363000.0
CELL = 2.0
ROWS, COLS = 20, 30
T = Affine(CELL, 0, X0, 0, -CELL, Y0 + ROWS * CELL)


def _centres():
    x = X0 + (np.arange(COLS) + 0.5) * CELL
    y = Y0 + ROWS * CELL - (np.arange(ROWS) + 0.5) * CELL
    return np.meshgrid(x, y)


def _area(mesh) -> float:
    return float(mesh.compute_cell_sizes(length=False, volume=False)["Area"].sum())


def test_still_water_on_a_slope_ends_exactly_where_the_ground_reaches_the_level():
    xx, _ = _centres()
    z = 0.1 * (xx - X0)                       # rises 0.1 m per metre eastwards
    level = 1.05                              # the shore is at x = 10.5 m, inside a cell
    depth = np.clip(level - z, 0, None)
    w = water_surface(z, depth, T, origin=(X0, Y0, 0.0))
    pts = np.asarray(w.points, float)
    d = w.point_data["depth"]
    shore = pts[d == 0]
    assert len(shore) >= ROWS and np.allclose(shore[:, 0], 10.5, atol=1e-4)   # not a cell edge
    assert np.allclose(w.point_data["level"], level, atol=1e-5)                # flat water
    assert np.allclose(pts[:, 2], level, atol=1e-5)
    wet = d > 0
    assert np.allclose(d[wet], level - 0.1 * pts[wet, 0], atol=1e-5)          # depth = level - ground
    # the surface spans from the first cell centre (x = 1 m) to the shore, row centres to row centres
    assert _area(w) == pytest.approx((10.5 - 1.0) * (ROWS - 1) * CELL, rel=1e-5)


def test_an_oblique_shoreline_is_straight_not_a_staircase():
    xx, yy = _centres()
    a, b = 0.05, 0.08
    z = a * (xx - X0) + b * (yy - Y0)
    level = 2.0
    w = water_surface(z, np.clip(level - z, 0, None), T, origin=(X0, Y0, 0.0))
    pts = np.asarray(w.points, float)
    shore = pts[w.point_data["depth"] == 0]
    assert len(shore) > ROWS
    assert np.abs(a * shore[:, 0] + b * shore[:, 1] - level).max() < 1e-4
    assert len(np.unique(np.round(pts, 4), axis=0)) == len(pts)        # crossings are shared


def test_a_coarse_depth_grid_is_drawn_at_the_terrain_resolution():
    xx, _ = _centres()
    z = 0.1 * (xx - X0)
    level = 1.05
    coarse = Affine(4 * CELL, 0, X0, 0, -4 * CELL, Y0 + ROWS * CELL)   # 4 x 4 terrain cells each
    cx = X0 + (np.arange(COLS // 4 + 1) + 0.5) * 4 * CELL
    ground = 0.1 * (cx - X0)
    depth = np.tile(np.clip(level - ground, 0, None), (ROWS // 4, 1))
    w = water_surface(z, depth, T, depth_transform=coarse, origin=(X0, Y0, 0.0))
    pts = np.asarray(w.points, float)
    shore = pts[w.point_data["depth"] == 0]
    assert np.allclose(shore[:, 0], 10.5, atol=1e-4)
    assert len(np.unique(np.round(pts[:, 0], 3))) > (depth > 0).any(axis=0).sum() + 1


def test_nodata_terrain_and_dry_grids():
    xx, _ = _centres()
    z = 0.1 * (xx - X0)
    z[5:8, 2:4] = np.nan
    w = water_surface(z, np.clip(1.05 - z, 0, None), T)
    assert np.isfinite(np.asarray(w.points)).all() and w.n_cells > 0
    dry = water_surface(z, np.zeros_like(z), T)
    assert dry.n_points == 0
    with pytest.raises(ValueError, match="depth_transform"):
        water_surface(z, np.zeros((3, 3)), T)


def test_a_draped_layer_is_cut_at_the_threshold_and_lifted():
    xx, yy = _centres()
    z = 5.0 + 0.02 * (yy - Y0)
    density = 4.0 - 0.2 * (xx - X0)            # persons/m2, falling eastwards
    s = draped_surface(z, density, T, origin=(X0, Y0, 0.0), threshold=1.0, lift=0.5)
    pts = np.asarray(s.points, float)
    v = s.point_data["value"]
    edge = pts[np.isclose(v, 1.0)]
    assert np.allclose(edge[:, 0], 15.0, atol=1e-4)            # 4 - 0.2 x = 1
    assert np.allclose(pts[:, 2], 5.0 + 0.02 * pts[:, 1] + 0.5, atol=1e-4)
    assert (v >= 1.0 - 1e-6).all()
    with pytest.raises(ValueError, match="values_transform"):
        draped_surface(z, density[:5], T)


def test_clip_surface_keeps_the_inside_part_of_each_triangle():
    x, y = np.array([0.0, 2.0, 0.0]), np.array([0.0, 0.0, 2.0])
    tri = np.array([[0, 1, 2]])
    for f, area in ((1 - x, 1.5), (x - 1, 0.5), (np.ones(3), 2.0), (-np.ones(3), 0.0)):
        pts, faces, _ = clip_surface(x, y, np.zeros(3), f, tri)
        p = pts[faces][..., :2] if len(faces) else np.zeros((0, 3, 2))
        d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
        signed = 0.5 * (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
        assert (signed > 0).all()                                  # still counter-clockwise
        assert signed.sum() == pytest.approx(area)


def test_sample_grid_ignores_missing_corners_and_outside_points():
    g = np.array([[1.0, 3.0], [np.nan, 5.0]])
    t = Affine(1, 0, 0, 0, -1, 2)
    v = sample_grid(g, t, [1.0, 0.5, 5.0], [1.0, 1.5, 1.0])
    assert v[0] == pytest.approx(3.0) and v[1] == pytest.approx(1.0) and np.isnan(v[2])


def test_no_water_appears_behind_a_levee():
    z = np.full((ROWS, COLS), 3.0)                 # low land on both sides
    z[:, 10] = 6.0                                 # a levee crest along one column
    depth = np.zeros_like(z)
    depth[:, :10] = 2.0                            # river at level 5 west of the levee
    w = water_surface(z, depth, T, origin=(X0, Y0, 0.0))
    pts = np.asarray(w.points, float)
    levee_x = (10 + 0.5) * CELL
    assert pts[:, 0].max() < levee_x                # nothing east of the crest
    shore = pts[w.point_data["depth"] == 0]
    # level 5 meets the levee slope between x = 19 (z = 3) and x = 21 (z = 6): x = 19 + 2 * 2/3
    assert np.allclose(shore[:, 0], 19 + 2 * 2 / 3, atol=1e-4)


def test_the_level_follows_the_models_own_ground_when_given():
    xx, _ = _centres()
    z = 0.1 * (xx - X0)
    depth = np.clip(1.05 - z, 0, None)
    model_ground = z + 0.2                          # e.g. the flood model's cell elevation
    w = water_surface(z, depth, T, depth_elevation=model_ground, origin=(X0, Y0, 0.0))
    assert np.allclose(w.point_data["level"], 1.25, atol=1e-5)
    assert np.allclose(np.asarray(w.points)[w.point_data["depth"] == 0, 0], 12.5, atol=1e-4)
    with pytest.raises(ValueError, match="depth_elevation"):
        water_surface(z, depth, T, depth_elevation=model_ground[:3])


def test_a_front_on_flat_ground_ends_at_the_edge_of_the_wet_cells():
    z = np.full((ROWS, COLS), 4.0)
    depth = np.zeros((ROWS, COLS))
    depth[5:9, 4:20] = 0.3                  # 4 x 16 wet cells of water spreading on flat ground
    w = water_surface(z, depth, T, origin=(X0, Y0, 0.0))
    pts = np.asarray(w.points, float)
    # the water ends about half-way between the last wet and the first dry cell centre
    # (not one cell further, where the neighbours' level would carry it on flat ground)
    wet_x = np.array([4, 20]) * CELL                        # x of the wet cells' outer edges
    assert pts[:, 0].min() == pytest.approx(wet_x[0], abs=0.1 * CELL)
    assert pts[:, 0].max() == pytest.approx(wet_x[1], abs=0.1 * CELL)
    cells = 4 * 16 * CELL ** 2
    # the surface joins cell centres: it lacks half a cell round the edge of the cells,
    # and its edge runs a tenth of a cell from the cells' edge at most
    assert abs(_area(w) - cells) < 0.1 * CELL * 2 * (4 + 16) * CELL
    wet = w.point_data["depth"] > 0
    assert np.allclose(w.point_data["level"][wet], 4.3, atol=1e-5)


def test_water_height_is_the_level_above_the_ground_and_negative_where_dry():
    from scenes.water import water_height
    level = np.array([[np.nan, 2.0, 2.0, np.nan]])
    t = Affine(1, 0, 0, 0, -1, 1)
    ground = np.array([1.5, 1.0, 1.0, 1.0])
    h = water_height(level, t, [0.5, 1.5, 2.5, 3.5], [0.5] * 4, ground, spacing=1.0,
                     level_ground=ground[None, :])
    # dry cells west (ground 1.5 m, under the level: a front) and east (flat ground)
    assert h[1:3].tolist() == [1.0, 1.0] and h[0] < 0 and h[3] < 0
    assert h[3] == pytest.approx(-1.0 + 0.02)                  # 2 ground - level + 2 min_depth
