"""Pure geometry checked against closed-form answers: triangle areas and
orientation, grid triangles around invalid points, bilinear draping on a plane."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from scenes.geometry import feature_ids, grid_triangles, ground_height, ring_vertices, triangulate

X0, Y0 = 585000.0, 3363000.0


def _plane(x_world):
    return 20 + 0.01 * (np.asarray(x_world) - X0)


def test_triangulation_respects_holes_and_concavity():
    court = shapely.Polygon([(0, 0), (30, 0), (30, 30), (0, 30)],
                            [[(10, 10), (10, 20), (20, 20), (20, 10)]])
    vee = shapely.Polygon([(0, 0), (30, 0), (30, 30), (15, 10), (0, 30)])
    xy, owner = triangulate([court, vee])
    d1, d2 = xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]
    area = 0.5 * (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
    assert (area > 0).all()                                   # counter-clockwise
    assert area[owner == 0].sum() == pytest.approx(800.0)
    assert area[owner == 1].sum() == pytest.approx(600.0)
    centroids = shapely.points(xy.mean(axis=1))
    assert not shapely.contains(shapely.box(10, 10, 20, 20), centroids[owner == 0]).any()



def test_grid_triangles_are_counter_clockwise_and_skip_invalid_points():
    valid = np.ones((4, 5), bool)
    valid[1, 2] = False                     # one missing point removes its 6 triangles
    tris = grid_triangles(valid)
    assert len(tris) == 2 * 3 * 4 - 6
    assert not (tris == 1 * 5 + 2).any()
    rows, cols = np.divmod(np.arange(20), 5)
    x, y = cols.astype(float), -rows.astype(float)      # row 0 north
    p = np.column_stack([x, y])[tris]
    d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    assert np.allclose(0.5 * (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]), 0.5)
    flipped = grid_triangles(valid, south_up=True)
    q = np.column_stack([x, -y])[flipped]                # row 0 south
    e1, e2 = q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]
    assert (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] > 0).all()


def test_ring_vertices_link_each_ring_back_to_its_start():
    court = shapely.Polygon([(0, 0), (30, 0), (30, 30), (0, 30)],
                            [[(10, 10), (10, 20), (20, 20), (20, 10)]])
    xy, nxt, part = ring_vertices(np.array([court, shapely.box(0, 0, 1, 1)]))
    assert len(xy) == 4 + 4 + 4 and part.tolist() == [0] * 8 + [1] * 4
    assert nxt[:4].tolist() == [1, 2, 3, 0] and nxt[4:8].tolist() == [5, 6, 7, 4]


def test_feature_ids_fall_back_to_the_index():
    import pandas as pd
    assert feature_ids(pd.DataFrame({"a": [1]}, index=[7])).tolist() == ["7"]


def test_ground_height_bilinear_and_outside(terrain):
    x = np.array([X0 + 100.0, X0 - 50.0])
    z = ground_height(terrain, x, [Y0 + 100.0, Y0 + 100.0])
    assert z[0] == pytest.approx(_plane(X0 + 100.0), abs=1e-5)
    assert z[1] == pytest.approx(_plane(X0 + 2.5), abs=1e-5)   # clamped to the edge cell
