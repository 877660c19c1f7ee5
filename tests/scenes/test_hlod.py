"""Building levels of detail: prism surfaces have the right areas and outward
normals; boxes cover footprints; selection gathers exactly the chosen buildings."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from scenes.hlod import box_error, box_surfaces, detail_surfaces


def _areas(s, rows=None):
    p, t = s.positions, s.triangles
    if rows is not None:
        v, _, t, _ = s.select(rows)
        p = p[v]
    cross = np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]])
    return 0.5 * np.linalg.norm(cross, axis=1), cross


def test_detail_surfaces_have_wall_and_roof_areas_of_the_footprints(buildings):
    s = detail_surfaces(buildings)
    for row in range(len(buildings)):
        geom = buildings.geometry.iloc[row]
        h = buildings["height"].iloc[row]
        area, _ = _areas(s, [row])
        assert area.sum() == pytest.approx(geom.area + geom.length * h, rel=1e-9)


def test_normals_point_out_of_the_building(buildings):
    s = detail_surfaces(buildings)
    _, cross = _areas(s)
    tri_normal = cross / np.linalg.norm(cross, axis=1, keepdims=True)
    vertex_normal = s.normals[s.triangles[:, 0]]
    assert np.allclose(tri_normal, vertex_normal, atol=1e-9)      # winding agrees with normals
    centre = s.positions[s.triangles].mean(axis=1)
    probe = centre + 0.01 * tri_normal
    probe[:, 2] = np.minimum(probe[:, 2], centre[:, 2])             # roofs: step off sideways only
    walls = np.abs(tri_normal[:, 2]) < 1e-9
    inside = shapely.contains_xy(shapely.union_all(buildings.geometry.values),
                                 probe[walls, 0], probe[walls, 1])
    assert not inside.any()


def test_select_gathers_the_chosen_buildings_only(buildings):
    s = detail_surfaces(buildings)
    v, feature, tris, tri_row = s.select([2, 0])
    assert feature.max() == 1 and tris.max() == len(v) - 1
    pts = s.positions[v]
    first = shapely.distance(buildings.geometry.iloc[2], shapely.points(pts[feature == 0, :2]))
    assert first.max() < 1e-9
    assert (feature[tris] == tri_row[:, None]).all()


def test_boxes_cover_the_footprints_and_their_error_is_the_wall_distance(buildings):
    s = box_surfaces(buildings)
    assert len(s.triangles) == 10 * len(buildings)
    err = box_error(buildings)
    assert err[0] == pytest.approx(10.0)              # courtyard walls 10 m inside the box
    assert err[1] == pytest.approx(12.0)              # the vee's notch: 12 m from the box's edge
    for row in range(len(buildings)):
        v, *_ = s.select([row])
        hull = shapely.MultiPoint(s.positions[v][:, :2]).convex_hull
        assert hull.buffer(1e-6).contains(buildings.geometry.iloc[row])
