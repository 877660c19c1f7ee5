"""Fast marching against exact distances: open ground, round a wall, unreachable pockets."""
from __future__ import annotations

import numpy as np

from simulations.crowd.floorfield import descent, travel_time


def test_point_source_gives_euclidean_distance_within_first_order_error():
    n, h = 81, 0.5
    seed = np.full((n, n), np.inf)
    seed[40, 40] = 0.0
    t = travel_time(np.ones((n, n)), seed, h)
    r, c = np.indices((n, n))
    exact = np.hypot(r - 40, c - 40) * h
    far = exact > 10 * h
    rel = np.abs(t[far] - exact[far]) / exact[far]
    assert rel.max() < 0.10          # first-order FMM overestimates most on the diagonals
    assert np.all(t >= exact - 1e-9)  # a 4-neighbour upwind solve never undercuts the distance


def test_slowness_scales_time():
    seed = np.full((1, 11), np.inf)
    seed[0, 0] = 0.0
    t1 = travel_time(np.ones((1, 11)), seed, 1.0)
    t2 = travel_time(np.full((1, 11), 2.0), seed, 1.0)
    np.testing.assert_allclose(t2, 2 * t1)
    np.testing.assert_allclose(t1[0], np.arange(11.0))


def test_route_round_a_wall_is_the_shortest_path():
    # 41 x 41 cells of 1 m; a wall along column 20 from row 0 to row 29; target at (row 5, col 10)
    n = 41
    cost = np.ones((n, n))
    cost[:30, 20] = np.inf
    seed = np.full((n, n), np.inf)
    seed[5, 10] = 0.0
    t = travel_time(cost, seed, 1.0)
    assert np.isinf(t[10, 20])
    # (5, 30) behind the wall: round the wall's end at (30, 20): two straight legs
    exact = np.hypot(30 - 5, 20 - 10) + np.hypot(30 - 5, 30 - 20)
    assert exact <= t[5, 30] < exact * 1.08


def test_enclosed_pocket_is_unreachable_and_has_no_direction():
    cost = np.ones((10, 10))
    cost[3, 3:7] = cost[6, 3:7] = cost[3:7, 3] = cost[3:7, 6] = np.inf
    seed = np.full((10, 10), np.inf)
    seed[0, 0] = 0.0
    t = travel_time(cost, seed, 1.0)
    assert np.isinf(t[4:6, 4:6]).all() and np.isfinite(t[0:3, :]).all()
    gx, gy = descent(t, 1.0)
    assert (gx[4:6, 4:6] == 0).all() and (gy[4:6, 4:6] == 0).all()


def test_descent_is_unit_and_points_downhill():
    n = 31
    seed = np.full((n, n), np.inf)
    seed[0, 0] = 0.0                                  # target in the north-west corner
    t = travel_time(np.ones((n, n)), seed, 1.0)
    gx, gy = descent(t, 1.0)
    norm = np.hypot(gx, gy)
    np.testing.assert_allclose(norm[1:, 1:], 1.0, atol=1e-6)
    assert (gx[1:, 1:] < 0).all() and (gy[1:, 1:] > 0).all()   # west and north


def test_descent_kept_in_a_zone_never_points_out_of_it():
    # a dry strip (row 0) beside water (row 1) whose times are lower: dry cells still walk west
    t = np.array([[0.0, 1.0, 2.0, 3.0], [0.5, 0.6, 0.7, 0.8]])
    dry = np.array([[True] * 4, [False] * 4])
    gx, gy = descent(t, 1.0, keep_in=dry)
    assert (gx[0, 1:] == -1.0).all() and (gy[0] == 0).all()
    gx_free, gy_free = descent(t, 1.0)
    assert (gy_free[0, 1:] < 0).all()                 # without the zone they would wade south
