"""Grid layers in 3D: wet cells as quads (the map's and exports' form) and the
terrain drape the 3D view draws, checked against closed-form answers: a lake in a
paraboloid bowl is flat and its shoreline is where the ground reaches the level; the
drape's area and volume match the grid's; its vertices lie on the terrain mesh."""
import numpy as np
import pytest
from affine import Affine

from geodata.raster import Raster
from scenes.meshes import terrain_mesh
from scenes.water import clip_surface
from viewer.water import TerrainDrape, WaterSurface

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


# -- the terrain drape ------------------------------------------------------------------

A = 1e-3                     # bowl z = A * r^2 (m), r from the centre
CELL = 10.0
N = 41                       # 41 x 41 cells of 10 m: the centre is the middle cell
LEVEL = 5.0                  # shore at r = sqrt(LEVEL / A) = 70.7 m


def bowl(cell=CELL, n=N, shift=0.0):
    """Cell centres (x east, y north, row 0 north) and the bowl's ground there."""
    x = (np.arange(n) - n // 2) * cell + shift
    y = ((n // 2) - np.arange(n)) * cell + shift
    xx, yy = np.meshgrid(x, y)
    return x, y, A * (xx ** 2 + yy ** 2)


def lake(ground):
    """Still water at LEVEL in the bowl: level of the wet cells, NaN where dry."""
    depth = LEVEL - ground
    return np.where(depth > 0.01, ground + depth, np.nan), np.clip(depth, 0, None)


def lake_drape(shift=0.0, **kw):
    """The drape of a lake whose grid is the terrain's (shift 0) or offset from it."""
    x, y, z = bowl()
    cx, cy, cz = bowl(shift=shift)
    level, depth = lake(cz)
    drape = TerrainDrape(x, y, z, cx, cy, depth > 0.01, (0, 0, 0), **kw)
    return drape, drape.water_height(level, cz), depth


def shore_points(drape, h):
    """Where the water meets the ground: the zero crossings of the height along the
    mesh edges (in each triangle water and ground are planes, so the depth test
    draws the shore exactly there)."""
    pts, _, inside = clip_surface(drape.x, drape.y, drape.ground, h, drape.triangles)
    return pts[~inside]


def test_a_lake_is_flat_at_its_level():
    drape, h, _ = lake_drape()
    wet = h > 0
    assert wet.sum() > 100
    np.testing.assert_allclose(drape.ground[wet] + h[wet], LEVEL, atol=1e-9)
    z = drape.heights(h)
    np.testing.assert_allclose(z[wet], LEVEL, atol=1e-9)
    assert (z[~wet] < drape.ground[~wet]).all()                 # dry: under the ground
    parked = drape.ground[~wet] - z[~wet] == 1.0                # far from the water: 1 m down
    assert 0 < parked.sum() < (~wet).sum()


def test_the_shoreline_lies_where_the_ground_reaches_the_level():
    drape, h, _ = lake_drape()
    shore = shore_points(drape, h)
    r = np.hypot(shore[:, 0], shore[:, 1])
    assert len(shore) > 40
    np.testing.assert_allclose(shore[:, 2], LEVEL, atol=1e-5)   # on the mesh's ground
    # the mesh's ground is the bowl sampled at 10 m, linear along each edge: on an edge
    # of length l that is at most A l^2 / 4 off in height, l^2 / (8 r) off the circle
    # (0.35 m on the 14 m diagonals); a staircase of cells would be off by up to 7 m
    r0 = np.sqrt(LEVEL / A)
    assert np.abs(r - r0).max() <= 2 * CELL ** 2 / (8 * r0) + 1e-6


def test_a_grid_offset_from_the_terrain_still_gives_a_smooth_shore_at_the_level():
    drape, h, _ = lake_drape(shift=6.0)                         # as the demo: 6 m apart
    shore = shore_points(drape, h)
    r = np.hypot(shore[:, 0], shore[:, 1])
    assert np.abs(r - np.sqrt(LEVEL / A)).max() < 0.1 * CELL
    wet = h > 0
    assert np.abs(drape.ground[wet] + h[wet] - LEVEL).max() < 1e-9


def test_area_and_volume_match_the_grid():
    drape, h, depth = lake_drape(shift=6.0)
    pts, tris, _ = clip_surface(drape.x, drape.y, drape.ground, h, drape.triangles)
    a, b, c = pts[tris, :2].transpose(1, 0, 2)
    area = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    volume = (area * pts[tris, 3].mean(axis=1)).sum()           # depth linear on a triangle
    exact_area = np.pi * LEVEL / A                               # disc of radius sqrt(L/A)
    exact_volume = np.pi * LEVEL ** 2 / (2 * A)                  # paraboloid bowl
    cells = depth > 0.01
    assert area.sum() == pytest.approx(exact_area, rel=0.01)
    assert cells.sum() * CELL ** 2 == pytest.approx(exact_area, rel=0.03)
    # the mesh's ground lies above the bowl between its vertices (by A (sum of the squared
    # edges) / 12 = 0.033 m on average): the mesh holds 1.3 % less water than the bowl
    bias = A * (2 * CELL ** 2 + 2 * CELL ** 2) / 12 * exact_area
    assert volume == pytest.approx(exact_volume - bias, rel=0.002)
    assert (depth * CELL ** 2).sum() == pytest.approx(exact_volume, rel=0.01)


def test_a_sheet_on_flat_ground_ends_at_the_edge_of_its_wet_cells():
    x, y, _ = bowl(n=11)
    ground = np.full((11, 11), 3.0)
    depth = np.zeros((11, 11))
    depth[4:6, 2:9] = 0.4                              # 2 x 7 cells, a front on flat ground
    level = np.where(depth > 0.01, ground + depth, np.nan)
    for shift in (0.0, 6.0):                            # the grid on the vertices, or offset
        drape = TerrainDrape(x, y, ground, x + shift, y + shift, depth > 0.01, (0, 0, 0))
        h = drape.water_height(level, ground)
        pts, tris, _ = clip_surface(drape.x, drape.y, drape.ground, h, drape.triangles)
        a, b, c = pts[tris, :2].transpose(1, 0, 2)
        area = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
        # the cells' area, give or take a strip of a tenth of a cell round the edge
        cells = 14 * CELL ** 2
        assert abs(area.sum() - cells) < 0.1 * CELL * 18 * CELL, shift
        z = drape.heights(h)[h > 0]                     # never above the level; flat at it
        assert z.max() <= 3.4 + 1e-9 and np.isclose(z, 3.4).sum() >= (6 if shift else 14)


def test_a_dry_frame_is_all_under_the_ground_and_covers_only_the_ever_wet_area():
    x, y, z = bowl()
    cover = np.zeros(z.shape, bool)
    cover[18:23, 18:23] = True
    drape = TerrainDrape(x, y, z, x, y, cover, (0, 0, 0))
    assert 25 < drape.n_points < z.size / 4
    assert (drape.water_height(np.full(z.shape, np.nan)) < 0).all()
    mesh = drape.mesh()
    assert mesh.n_cells == len(drape.triangles) and "rgb" in mesh.point_data


def test_the_drape_shares_the_terrain_mesh_and_subdivides_it_for_a_finer_grid():
    rng = np.random.default_rng(4)
    z = rng.uniform(10, 14, (12, 16)).astype("float32")        # rough ground, 4 m cells
    raster = Raster(z, Affine(4.0, 0, 1000.0, 0, -4.0, 2000.0), "EPSG:4547")
    origin = (1000.0, 1950.0, 10.0)
    terrain = terrain_mesh(raster, origin, step=2)              # the 3D view's: 8 m
    # a 16 m layer grid: the drape takes the terrain mesh's vertices and triangles
    cx, cy = 1000.0 + 8 + 16 * np.arange(4), 2000.0 - 8 - 16 * np.arange(3)
    coarse = TerrainDrape.on_terrain(raster, terrain, cx, cy, None, np.ones((3, 4), bool),
                                     origin)
    assert coarse.spacing == 8.0
    local = (np.column_stack([coarse.x, coarse.y, coarse.ground]) - origin).astype(np.float32)
    ter = np.asarray(terrain.points)
    key = {tuple(p) for p in np.round(ter, 3)}
    assert all(tuple(p) in key for p in np.round(local, 3))
    faces = {frozenset(map(tuple, np.round(ter[f], 3))) for f in terrain.regular_faces}
    assert all(frozenset(map(tuple, np.round(local[t], 3))) in faces for t in coarse.triangles)
    # a 1 m layer grid: 8 drape spacings per terrain spacing, every vertex on the terrain
    fx, fy = 1000.5 + np.arange(56), 1999.5 - np.arange(40)
    fine = TerrainDrape.on_terrain(raster, terrain, fx, fy, None, np.ones((40, 56), bool),
                                   origin)
    assert fine.spacing == 1.0
    pts = np.column_stack([fine.x, fine.y, fine.ground]) - origin
    _, closest = terrain.find_closest_cell(pts, return_closest_point=True)
    assert np.abs(closest - pts).max() < 1e-3


def test_bad_shapes_are_refused_with_the_sizes():
    x, y, z = bowl(n=5)
    with pytest.raises(ValueError, match="expected"):
        TerrainDrape(x, y, z[:4], x, y, np.ones((5, 5), bool), (0, 0, 0))
    drape = TerrainDrape(x, y, z, x, y, np.ones((5, 5), bool), (0, 0, 0))
    with pytest.raises(ValueError, match="layer grid"):
        drape.water_height(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="layer grid"):
        drape.at_cells(np.zeros(3))


def test_over_permanent_water_only_a_rise_above_the_normal_level_is_drawn():
    """A lake 3 m deep at its normal level 10 m: nothing drawn on it (the static lake
    shows); risen 0.5 m: drawn at 10.5 m and classed by the 0.5 m rise; a bank inside
    the body above the normal level keeps its own depth; off the body nothing changes."""
    x, y = np.arange(4.0), np.array([1.0, 0.0])
    ground = np.array([[7.0, 7.0, 10.2, 9.0], [7.0, 7.0, 10.2, 9.0]])
    drape = TerrainDrape(x, y, ground, x, y, np.ones((2, 4), bool), (0, 0, 0))
    normal = np.where(drape.x < 3, 10.0, np.nan)          # the last column is land
    g = drape.ground
    calm = np.where(g == 7.0, 3.0, np.where(g == 10.2, -0.2, 0.5))
    h, depth = drape.above_normal(calm, normal)
    assert (h[g == 7.0] < 0).all() and (h[g == 10.2] < 0).all()   # hidden: under the ground
    np.testing.assert_allclose(depth[g == 7.0], 0.0)
    np.testing.assert_allclose(h[g == 9.0], 0.5)                  # land: as it was
    # 3 cm above the normal level is not shown either (never coplanar with the lake)
    h, _ = drape.above_normal(np.where(g == 7.0, 3.03, calm), normal)
    assert (h[g == 7.0] < 0).all()
    risen = np.where(g == 7.0, 3.5, np.where(g == 10.2, 0.3, 0.5))
    h, depth = drape.above_normal(risen, normal)
    np.testing.assert_allclose((g + h)[g == 7.0], 10.5)           # the risen level
    np.testing.assert_allclose(depth[g == 7.0], 0.5)              # the rise, not 3.5 m
    np.testing.assert_allclose(h[g == 10.2], 0.3)                 # bank above the level
    np.testing.assert_allclose(depth[g == 10.2], 0.3)
    # 2 cm of rain on the bank 0.2 m above the normal level: an ordinary flood there
    h, depth = drape.above_normal(np.where(g == 10.2, 0.02, calm), normal)
    np.testing.assert_allclose(h[g == 10.2], 0.02)
    assert (h[g == 7.0] < 0).all()
    with pytest.raises(ValueError, match="one value per drape vertex"):
        drape.above_normal(calm, normal[:3])
