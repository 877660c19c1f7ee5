"""Tests for geodata.grid: GridSpec geometry, point lookup, bilinear sampling, memory guard."""
from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from geodata import GridSpec, check_grid_memory
from geodata.errors import DataError

X0, Y0 = 500_000.0, 3_360_000.0


def test_geometry_from_origin():
    g = GridSpec.from_origin(X0, Y0, 2.0, (3, 4))
    assert g.cell_size == 2.0 and g.res == (2.0, 2.0)
    assert g.origin == (X0, Y0)
    assert g.bounds == (X0, Y0 - 6, X0 + 8, Y0)
    np.testing.assert_allclose(g.x, X0 + np.array([1.0, 3.0, 5.0, 7.0]))
    np.testing.assert_allclose(g.y, Y0 - np.array([1.0, 3.0, 5.0]))


def test_from_bounds_covers_the_bounds():
    g = GridSpec.from_bounds(0, 0, 10.0, 4.5, 2.0)
    assert g.shape == (3, 5)
    xmin, ymin, xmax, ymax = g.bounds
    assert xmin == 0 and ymax == 4.5 and xmax >= 10 and ymin <= 0
    assert GridSpec.from_bounds(0, 0, 10, 10, 2.0).shape == (5, 5)  # exact fit, no extra cell


def test_index_is_the_floor_of_the_inverse_transform_and_round_trips():
    g = GridSpec.from_origin(X0, Y0, 5.0, (20, 30))
    rng = np.random.default_rng(0)
    row, col = rng.integers(0, 20, 100), rng.integers(0, 30, 100)
    # any point strictly inside a cell maps back to that cell
    fx, fy = rng.uniform(0.01, 0.99, 100), rng.uniform(0.01, 0.99, 100)
    x = X0 + (col + fx) * 5.0
    y = Y0 - (row + fy) * 5.0
    r, c = g.index(x, y)
    assert np.array_equal(r, row) and np.array_equal(c, col)
    assert g.contains(r, c).all()
    # centres map to their own cell
    r, c = g.index(g.x[col], g.y[row])
    assert np.array_equal(r, row) and np.array_equal(c, col)


def test_points_outside_and_nan_points_are_not_contained():
    g = GridSpec.from_origin(0, 10, 1.0, (10, 10))
    r, c = g.index([-0.5, 10.0, 5.0, np.nan], [5.0, 5.0, 10.5, 5.0])
    assert r.tolist()[:3] == [5, 5, -1] and c.tolist()[:3] == [-1, 10, 5]
    assert not g.contains(r, c).any()


def test_bilinear_sample_is_exact_for_a_plane():
    g = GridSpec.from_origin(X0, Y0, 2.0, (15, 25))
    a, b, c0 = 0.3, -0.7, 12.0
    xx, yy = np.meshgrid(g.x - X0, g.y - Y0)
    z = a * xx + b * yy + c0
    rng = np.random.default_rng(1)
    x = rng.uniform(g.x[0], g.x[-1], 200)
    y = rng.uniform(g.y[-1], g.y[0], 200)
    np.testing.assert_allclose(g.sample(z, x, y), a * (x - X0) + b * (y - Y0) + c0, atol=1e-9)


def test_sample_nan_outside_and_edge_values_between_centre_and_edge():
    g = GridSpec.from_origin(0, 2, 1, (2, 2))
    z = np.array([[0.0, 1.0], [2.0, 3.0]])
    out = g.sample(z, [0.1, 1.9, -0.1, 1.0, 2.1], [1.9, 0.1, 1.0, 2.5, 1.0])
    assert out[0] == 0.0 and out[1] == 3.0
    assert np.isnan(out[2:]).all()
    with pytest.raises(ValueError, match="does not match"):
        g.sample(np.zeros((3, 3)), [0.5], [0.5])


def test_single_cell_grid_samples_its_value():
    g = GridSpec.from_origin(0, 1, 1, (1, 1))
    assert g.sample(np.array([[7.0]]), [0.2, 0.9], [0.3, 0.8]).tolist() == [7.0, 7.0]


@pytest.mark.parametrize("transform, shape, match", [
    (Affine(0, 0, 0, 0, -1, 0), (2, 2), "north-up"),
    (Affine(-1, 0, 0, 0, -1, 0), (2, 2), "north-up"),
    (Affine(1, 0, 0, 0, 1, 0), (2, 2), "north-up"),
    (Affine(1, 0.1, 0, 0, -1, 0), (2, 2), "rotated"),
    (Affine(1, 0, np.inf, 0, -1, 0), (2, 2), "non-finite"),
    (Affine(1, 0, 0, 0, -1, 0), (0, 2), "empty"),
    (Affine(1, 0, 0, 0, -1, 0), (2,), "rows, cols"),
])
def test_bad_grids_raise_data_error(transform, shape, match):
    with pytest.raises(DataError, match=match):
        GridSpec(transform, shape)


@pytest.mark.parametrize("cell", [0, -5, float("nan"), "five"])
def test_bad_cell_size(cell):
    with pytest.raises(DataError, match="cell size"):
        GridSpec.from_origin(0, 0, cell, (2, 2))


def test_non_square_cells_have_no_single_cell_size():
    g = GridSpec(Affine(1, 0, 0, 0, -2, 0), (2, 2))
    assert g.res == (1.0, 2.0)
    with pytest.raises(DataError, match="not square"):
        g.cell_size


def test_grid_is_frozen_and_comparable():
    g = GridSpec.from_origin(0, 0, 1, (2, 2))
    assert g == GridSpec(Affine(1, 0, 0, 0, -1, 0), [2, 2])
    with pytest.raises(AttributeError):
        g.shape = (3, 3)


def test_memory_guard_refuses_with_the_estimate_and_the_fix():
    assert check_grid_memory((100, 100), 8, "flood grid", available=1e9) == 80_000
    with pytest.raises(DataError) as err:
        check_grid_memory((100_000, 100_000), 16, "flood grid", available=8 * 2**30)
    msg = str(err.value)
    assert "flood grid of 100000 x 100000 cells would take about 149.0 GiB" in msg
    assert "8.0 GiB available" in msg and "larger cell size or clip" in msg
    # the system figure is used by default and is positive
    assert check_grid_memory((10, 10), 4, "test grid") == 400


def test_local_engine_coordinates_start_at_the_south_west_corner():
    g = GridSpec.from_origin(X0, Y0, 5.0, (20, 30))          # 150 m wide, 100 m high
    x, y = g.to_local([X0, X0 + 150.0], [Y0, Y0 - 100.0])
    assert x.tolist() == [0.0, 150.0] and y.tolist() == [100.0, 0.0]
    # the centre of cell (row, col) lies at ((col + 0.5) * cell, (rows - row - 0.5) * cell)
    lx, ly = g.to_local(g.x[7], g.y[3])
    assert (float(lx), float(ly)) == (7.5 * 5.0, (20 - 3 - 0.5) * 5.0)
    wx, wy = g.to_world(lx, ly)
    assert (float(wx), float(wy)) == (g.x[7], g.y[3])
    assert g.cell_area == 25.0
