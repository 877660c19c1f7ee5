"""Tests for geodata.raster: regridding, hole filling, terrain analysis, bad files."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from scipy import ndimage

from geodata.errors import DataError
from geodata.raster import Raster, read_raster

X0, Y0 = 500_000.0, 3_360_000.0  # EPSG:4547 near Ezhou


def plane(a: float, b: float, c: float = 10.0, *, rows: int = 40, cols: int = 50,
          cell: float = 2.0) -> Raster:
    """z = a*x + b*y + c (x, y relative to the upper-left corner) as a Raster."""
    transform = Affine(cell, 0, X0, 0, -cell, Y0)
    x = (np.arange(cols) + 0.5) * cell
    y = -(np.arange(rows) + 0.5) * cell
    z = a * x[None, :] + b * y[:, None] + c
    return Raster(z.astype("float32"), transform, CRS.from_epsg(4547))


# -- reading ---------------------------------------------------------------

def test_roundtrip_keeps_values_and_nan(tmp_path):
    r = plane(0.1, 0.2)
    r.data[3, 4] = np.nan
    back = read_raster(r.write(tmp_path / "dem.tif"))
    assert back.crs.to_epsg() == 4547
    assert back.transform == r.transform
    np.testing.assert_array_equal(np.isnan(back.data), np.isnan(r.data))
    np.testing.assert_allclose(back.data, r.data, equal_nan=True)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(DataError, match="nowhere.tif: file not found"):
        read_raster(tmp_path / "nowhere.tif")


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / "garbage.tif"
    path.write_bytes(b"II*\x00this is not a tiff at all" * 10)
    with pytest.raises(DataError, match="garbage.tif: cannot be read as a raster"):
        read_raster(path)


def test_all_nodata_raster(tmp_path):
    path = tmp_path / "empty.tif"
    with rasterio.open(path, "w", driver="GTiff", height=4, width=4, count=1, dtype="float32",
                       crs="EPSG:4547", transform=Affine(1, 0, X0, 0, -1, Y0), nodata=-9999) as dst:
        dst.write(np.full((4, 4), -9999, "float32"), 1)
    with pytest.raises(DataError, match="empty.tif: raster holds only nodata"):
        read_raster(path)


def test_nodata_value_becomes_nan(tmp_path):
    path = tmp_path / "holes.tif"
    data = np.arange(16, dtype="float32").reshape(4, 4)
    data[1, 2] = -9999
    with rasterio.open(path, "w", driver="GTiff", height=4, width=4, count=1, dtype="float32",
                       crs="EPSG:4547", transform=Affine(1, 0, X0, 0, -1, Y0), nodata=-9999) as dst:
        dst.write(data, 1)
    r = read_raster(path)
    assert np.isnan(r.data[1, 2]) and np.isfinite(r.data).sum() == 15


def test_raster_without_crs(tmp_path):
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", height=4, width=4, count=1, dtype="float32",
                       transform=Affine(1, 0, X0, 0, -1, Y0)) as dst:
        dst.write(np.ones((4, 4), "float32"), 1)
    with pytest.raises(DataError, match="nocrs.tif: raster has no CRS"):
        read_raster(path)


def test_write_leaves_no_partial_file(tmp_path):
    plane(0, 0).write(tmp_path / "a.tif")
    assert [p.name for p in tmp_path.iterdir()] == ["a.tif"]


# -- regridding ------------------------------------------------------------

def test_resample_of_a_plane_is_exact_inside():
    r = plane(0.3, -0.2, cell=1.0, rows=60, cols=60)
    coarse = r.resample(3.0)
    assert coarse.cell_size == 3.0 and coarse.shape == (20, 20)
    assert coarse.bounds == r.bounds
    xx, yy = np.meshgrid(coarse.x - X0, coarse.y - Y0)
    expected = 0.3 * xx - 0.2 * yy + 10.0
    inner = (slice(2, -2), slice(2, -2))
    np.testing.assert_allclose(coarse.data[inner], expected[inner], atol=1e-3)


def test_reproject_matches_pyproj():
    """A plane z = easting in EPSG:4547, warped to UTM 50N: each cell still
    holds its own EPSG:4547 easting, which pyproj computes independently."""
    cell = 10.0
    r = plane(1.0, 0.0, c=0.0, rows=80, cols=80, cell=cell)
    utm = r.reproject(32650, cell_size=cell)
    assert utm.crs.to_epsg() == 32650 and utm.cell_size == pytest.approx(cell)
    xx, yy = np.meshgrid(utm.x, utm.y)
    back_x, _ = Transformer.from_crs(32650, 4547, always_xy=True).transform(xx, yy)
    expected = back_x - X0
    interior = ndimage.binary_erosion(np.isfinite(utm.data), iterations=2)
    assert interior.sum() > 3000
    # GDAL's approximate transformer may err by 1/8 cell
    np.testing.assert_allclose(utm.data[interior], expected[interior], atol=0.15 * cell)
    # cells outside the source footprint are nodata (NaN), not 0
    assert np.isnan(utm.data).any()
    assert not (utm.data == 0).any()


def test_reproject_point_to_geographic():
    r = plane(0, 0, rows=10, cols=10, cell=100.0)
    geo = r.reproject(4326)
    lon, lat = Transformer.from_crs(4547, 4326, always_xy=True).transform(*r.bounds[:2])
    assert geo.bounds[0] == pytest.approx(lon, abs=1e-3)
    assert geo.bounds[1] == pytest.approx(lat, abs=1e-3)


def test_unknown_resampling_is_rejected():
    with pytest.raises(ValueError, match="unknown resampling 'smooth'"):
        plane(0, 0).resample(4.0, resampling="smooth")


def test_clip_keeps_whole_cells_and_values():
    r = plane(0.5, 0.25)
    part = r.clip((X0 + 3.0, Y0 - 21.0, X0 + 11.0, Y0 - 9.5))
    assert part.bounds == (X0 + 2.0, Y0 - 22.0, X0 + 12.0, Y0 - 8.0)
    np.testing.assert_array_equal(part.data, r.data[4:11, 1:6])
    assert part.sample([X0 + 5.0], [Y0 - 15.0])[0] == r.sample([X0 + 5.0], [Y0 - 15.0])[0]


def test_clip_outside_raises():
    with pytest.raises(DataError, match="do not overlap"):
        plane(0, 0).clip((0, 0, 10, 10))


# -- hole filling ----------------------------------------------------------

def test_fill_reproduces_a_plane():
    """A linear surface is harmonic, so the fill must reproduce it exactly."""
    r = plane(0.2, 0.1)
    truth = r.data.copy()
    r.data[10:20, 15:30] = np.nan
    filled, n = r.fill_nodata()
    assert n == 150
    np.testing.assert_allclose(filled.data, truth, atol=1e-3)
    assert np.isnan(r.data).sum() == 150  # the input is untouched


def test_fill_max_distance_leaves_far_cells():
    r = plane(0, 0)
    r.data[10:30, 10:30] = np.nan
    filled, n = r.fill_nodata(max_distance=4.0)  # 2 cells of 2 m
    assert n == 400 - 16 * 16
    assert np.isnan(filled.data[12:28, 12:28]).all()
    assert np.isfinite(filled.data[10:12, 10:30]).all()


def test_fill_all_nodata_raises():
    r = plane(0, 0)
    r.data[:] = np.nan
    with pytest.raises(DataError, match="only nodata"):
        r.fill_nodata()


def test_fill_delft_dtm(delft_dtm):
    dtm = read_raster(delft_dtm)
    assert dtm.crs.to_epsg() == 28992
    holes = np.isnan(dtm.data)
    assert holes.sum() > 1000
    filled, n = dtm.fill_nodata()
    assert n == holes.sum()
    assert not np.isnan(filled.data).any()
    np.testing.assert_array_equal(filled.data[~holes], dtm.data[~holes])
    labels, count = ndimage.label(holes)  # 4-connected, like the fill's stencil
    # rim of each hole: its valid 4-neighbours, gathered as (hole label, rim value) pairs
    padded = np.pad(dtm.data, 1, constant_values=np.nan)
    pad_labels = np.pad(labels, 1)
    lo = np.full(count + 1, np.inf)
    hi = np.full(count + 1, -np.inf)
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        neighbour = np.roll(padded, (dr, dc), axis=(0, 1))
        pair = (pad_labels > 0) & np.isfinite(neighbour)
        np.minimum.at(lo, pad_labels[pair], neighbour[pair])
        np.maximum.at(hi, pad_labels[pair], neighbour[pair])
    index = np.arange(1, count + 1)
    value_lo = np.asarray(ndimage.minimum(filled.data, labels, index))
    value_hi = np.asarray(ndimage.maximum(filled.data, labels, index))
    # maximum principle: each hole's values lie within the range of its rim
    assert (value_lo >= lo[1:] - 1e-4).all()
    assert (value_hi <= hi[1:] + 1e-4).all()
    # and the fill is not trivially flat: holes with a varied rim get varied values
    varied = hi[1:] - lo[1:] > 0.2
    assert (value_hi - value_lo)[varied].mean() > 0.05


# -- terrain analysis ------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [(0.0, 0.0), (1.0, 0.0), (0.3, -0.4), (0.0, 2.0)])
def test_slope_of_a_plane(a, b):
    slope = plane(a, b).slope()
    expected = np.degrees(np.arctan(np.hypot(a, b)))
    np.testing.assert_allclose(slope, expected, atol=1e-3)


def test_hillshade_analytic():
    # flat ground: cos of the sun's zenith angle
    flat = plane(0, 0).hillshade(azimuth=123, altitude=30)
    np.testing.assert_allclose(flat, 0.5, atol=1e-6)
    # a slope of 45 deg facing north-west (down towards the NW) faces a sun at
    # azimuth 315, altitude 45 squarely
    g = np.tan(np.radians(45)) / np.sqrt(2)
    facing = plane(g, -g).hillshade(azimuth=315, altitude=45)  # rises to the east and south
    np.testing.assert_allclose(facing, 1.0, atol=1e-5)
    # the opposite slope is in shadow
    away = plane(-g, g).hillshade(azimuth=315, altitude=45)
    np.testing.assert_allclose(away, 0.0, atol=1e-5)


def test_slope_in_degrees_crs_raises():
    r = Raster(np.zeros((3, 3), "float32"), Affine(0.01, 0, 114, 0, -0.01, 30), 4326)
    with pytest.raises(DataError, match="projected CRS"):
        r.slope()


# -- grid geometry ----------------------------------------------------------

def test_raster_geometry_comes_from_its_grid():
    r = plane(0.1, 0.2)
    assert r.grid.shape == r.shape and r.grid.transform == r.transform
    assert r.bounds == r.grid.bounds and r.cell_size == r.grid.cell_size
    # bilinear sampling of a plane through the grid is exact between centres
    x, y = r.x[3] + 0.7, r.y[5] - 1.3
    expected = 0.1 * (x - X0) + 0.2 * (y - Y0) + 10.0
    assert r.grid.sample(r.data, [x], [y])[0] == pytest.approx(expected, abs=1e-4)


def test_south_up_raster_is_rejected_in_memory_and_flipped_on_read(tmp_path):
    data = np.arange(6, dtype="float32").reshape(2, 3)
    with pytest.raises(DataError, match="north-up"):
        Raster(data, Affine(1, 0, 0, 0, 1, 0), CRS.from_epsg(4547))
    path = tmp_path / "south_up.tif"
    with rasterio.open(path, "w", driver="GTiff", height=2, width=3, count=1, dtype="float32",
                       crs="EPSG:4547", transform=Affine(1, 0, X0, 0, 1, Y0)) as dst:
        dst.write(data, 1)
    r = read_raster(path)
    assert r.transform.e < 0 and r.bounds == (X0, Y0, X0 + 3, Y0 + 2)
    # the file's row 1 is the northern one (y from Y0+1 to Y0+2)
    assert r.sample([X0 + 0.5], [Y0 + 1.5])[0] == 3.0


@pytest.mark.parametrize("cell", [0, -2.0])
def test_resample_bad_cell_size(cell):
    with pytest.raises(DataError, match="cell_size"):
        plane(0, 0).resample(cell)


def test_infinite_cells_become_nodata_with_a_warning(tmp_path):
    from geodata.errors import DataWarning
    data = np.full((4, 5), 20.0, "float32")
    data[1, 2], data[3, 0] = np.inf, -np.inf
    path = Raster(data, Affine(1, 0, X0, 0, -1, Y0), CRS.from_epsg(4547)).write(tmp_path / "inf.tif")
    with pytest.warns(DataWarning, match="2 cells are infinite"):
        r = read_raster(path)
    assert np.isnan(r.data[1, 2]) and np.isnan(r.data[3, 0]) and np.isfinite(r.data).sum() == 18


def test_raster_in_lonlat_numbers_under_a_projected_crs_is_named(tmp_path):
    path = tmp_path / "lonlat.tif"
    with rasterio.open(path, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32",
                       crs="EPSG:4547", transform=Affine(0.001, 0, 114.89, 0, -0.001, 30.39)) as dst:
        dst.write(np.ones((2, 2), "float32"), 1)
    with pytest.raises(DataError, match="lonlat.tif.*look like longitude/latitude"):
        read_raster(path)


def test_raster_too_large_for_memory_is_refused_before_reading(tmp_path):
    path = plane(0.1, 0.2).write(tmp_path / "dem.tif")          # 40 x 50 cells
    with pytest.raises(DataError) as err:
        read_raster(path, available=20_000)
    msg = str(err.value)
    assert "dem.tif" in msg and "40 x 50 cells would take about 23.4 KiB" in msg
    assert "gdal_translate -projwin" in msg
    assert read_raster(path, available=1e9).shape == (40, 50)


def test_regridding_to_a_grid_too_large_for_memory_is_refused():
    r = plane(0.0, 0.0)                                      # 80 m x 100 m
    with pytest.raises(DataError, match="regridded raster of .* cells would take about .*"
                                        "larger cell size or clip"):
        r.resample(0.0001)                                   # 8e5 x 1e6 cells
