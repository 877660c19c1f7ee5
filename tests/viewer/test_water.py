"""The flood water surface: wet cells become quads at ground + depth."""
import numpy as np
import pytest

from viewer.water import WaterSurface

X = np.array([5.0, 15.0, 25.0])
Y = np.array([25.0, 15.0, 5.0])   # row 0 north


def surface(ground=None, origin=(0.0, 0.0, 0.0)):
    return WaterSurface(np.zeros((3, 3)) if ground is None else ground, X, Y, origin)


def test_dry_grid_gives_an_empty_mesh():
    assert surface().frame(np.zeros((3, 3))).n_cells == 0


def test_one_wet_cell_is_one_quad_on_its_cell_at_the_water_level():
    ground = np.full((3, 3), 7.0)
    depth = np.zeros((3, 3))
    depth[0, 2] = 0.5                       # north-east cell: x 20..30, y 20..30
    mesh = surface(ground, origin=(10.0, 10.0, 5.0)).frame(depth)
    assert mesh.n_cells == 1 and mesh.n_points == 4
    pts = np.asarray(mesh.points)
    assert sorted(set(pts[:, 0])) == [10.0, 20.0]     # world 20, 30 minus origin 10
    assert sorted(set(pts[:, 1])) == [10.0, 20.0]
    np.testing.assert_allclose(pts[:, 2], 7.5 - 5.0)
    assert mesh.area == pytest.approx(100.0)
    assert mesh.cell_data["depth"][0] == pytest.approx(0.5)
    assert mesh.compute_normals().cell_data["Normals"][0][2] == pytest.approx(1.0)  # faces up


def test_neighbours_share_corners_at_their_mean_level():
    depth = np.zeros((3, 3))
    depth[1, 0], depth[1, 1] = 1.0, 2.0
    mesh = surface().frame(depth)
    assert mesh.n_points == 6
    shared = np.asarray(mesh.points)[np.isclose(mesh.points[:, 0], 10.0)]
    np.testing.assert_allclose(shared[:, 2], 1.5)


def test_wet_area_is_the_number_of_wet_cells_times_the_cell_area():
    rng = np.random.default_rng(1)
    depth = rng.uniform(0, 0.05, (3, 3))
    ws = surface()
    n_wet = int((depth > 0.01).sum())
    assert ws.frame(depth).area == pytest.approx(100.0 * n_wet)


def test_threshold_and_nan_are_dry():
    depth = np.array([[0.01, np.nan, 0.0], [0, 0, 0], [0, 0, 0.02]])
    assert surface().frame(depth).n_cells == 1


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="expected"):
        WaterSurface(np.zeros((2, 3)), X, Y, (0, 0, 0))
    with pytest.raises(ValueError, match="flood grid"):
        surface().frame(np.zeros((4, 4)))


def test_fixed_grid_shows_exactly_the_wet_cells_at_the_levels_of_frame():
    rng = np.random.default_rng(3)
    ground = rng.uniform(5, 6, (3, 3))
    depth = np.where(rng.random((3, 3)) < 0.5, rng.uniform(0.1, 1.0, (3, 3)), 0.0)
    ws = surface(ground, origin=(1.0, 2.0, 3.0))
    grid = ws.grid()
    assert grid.n_cells == 9 and grid.area == pytest.approx(0.0)     # all dry: nothing drawn
    grid.points = ws.points(*ws.levels(depth))
    wet = ws.frame(depth)
    assert grid.area == pytest.approx(wet.area)                      # quads slope a little
    assert grid.area == pytest.approx(100.0 * (depth > 0.01).sum(), rel=0.01)
    # the quads of the wet cells sit on the same corners as the wet-cell mesh
    drawn = np.asarray(grid.points).reshape(9, 4, 3)[(depth > 0.01).ravel()].reshape(-1, 3)
    assert sorted(map(tuple, np.round(drawn, 4))) == sorted(
        map(tuple, np.round(np.asarray(wet.points)[wet.faces.reshape(-1, 5)[:, 1:].ravel()], 4)))
    dry = np.asarray(grid.points).reshape(9, 4, 3)[(depth <= 0.01).ravel()]
    assert (dry == dry[:, :1]).all()                                 # collapsed to a point
