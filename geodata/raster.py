"""Georeferenced grids: the terrain and any other raster layer.

A :class:`Raster` is a 2-D float32 array plus an affine transform and a CRS,
following the raster convention: row 0 is the north edge and
``transform * (col, row)`` gives the (x, y) of a cell's upper-left corner.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
import rasterio.warp
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from scipy import ndimage, sparse
from scipy.sparse.linalg import spsolve

from geodata.crs import check_coordinates
from geodata.errors import DataError, DataWarning
from geodata.grid import GridSpec, check_grid_memory
from geodata.memory import check_memory

__all__ = ["GridSpec", "Raster", "check_grid_memory", "read_raster"]


@dataclass
class Raster:
    """A single-band georeferenced grid.

    Parameters
    ----------
    data : numpy.ndarray
        Values, shape ``(rows, cols)``, float32. Missing cells are NaN.
    transform : affine.Affine
        Maps ``(col, row)`` to ``(x, y)`` of the cell's upper-left corner.
    crs : pyproj.CRS
        Coordinate reference system of ``transform``.
    nodata : float
        Value used for missing cells when written to file (NaN in memory).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> r = Raster(np.zeros((3, 4), "float32"), Affine(2, 0, 500000, 0, -2, 3360000),
    ...            CRS.from_epsg(4547))
    >>> r.cell_size, r.shape, r.bounds
    (2.0, (3, 4), (500000.0, 3359994.0, 500008.0, 3360000.0))
    """

    data: np.ndarray
    transform: Affine
    crs: CRS
    nodata: float = float("nan")

    def __post_init__(self) -> None:
        self.data = np.asarray(self.data, dtype="float32")
        if self.data.ndim != 2:
            raise DataError(f"raster must be 2-D, got shape {self.data.shape}",
                            fix="pass a single band")
        self.transform = self.grid.transform      # validates: north-up, finite, non-empty
        self.crs = CRS.from_user_input(self.crs)

    # -- geometry (all of it from :class:`GridSpec`) -------------------------
    @property
    def grid(self) -> GridSpec:
        """The grid's geometry: transform and shape."""
        return GridSpec(self.transform, self.data.shape)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.data.shape

    @property
    def cell_size(self) -> float:
        """Cell width in CRS units (cells must be square)."""
        return self.grid.cell_size

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the grid's outer edges."""
        return self.grid.bounds

    @property
    def x(self) -> np.ndarray:
        """x of cell centres along a row, shape ``(cols,)``."""
        return self.grid.x

    @property
    def y(self) -> np.ndarray:
        """y of cell centres down a column, shape ``(rows,)`` (north first)."""
        return self.grid.y

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Return integer ``(row, col)`` of the cells containing points ``(x, y)``.

        Points outside the grid get indices outside ``[0, rows)`` / ``[0, cols)``.
        """
        return self.grid.index(x, y)

    def sample(self, x, y) -> np.ndarray:
        """Value of the cell under each point; NaN outside the grid.

        For a bilinear value between cell centres use
        ``raster.grid.sample(raster.data, x, y)``.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> r = Raster(np.arange(4, dtype="float32").reshape(2, 2), Affine(1, 0, 0, 0, -1, 2), 4547)
        >>> r.sample([0.5, 1.5, 9.0], [1.5, 0.5, 0.0]).tolist()
        [0.0, 3.0, nan]
        """
        grid = self.grid
        row, col = grid.index(x, y)
        inside = grid.contains(row, col)
        out = np.full(np.shape(row), np.nan, dtype="float32")
        out[inside] = self.data[row[inside], col[inside]]
        return out

    # -- regridding ---------------------------------------------------------
    def reproject(self, crs, cell_size: float | None = None, *,
                  resampling: str = "bilinear") -> "Raster":
        """Warp the grid to another CRS (GDAL warp via rasterio).

        Parameters
        ----------
        crs : anything :class:`pyproj.CRS` accepts
            Target coordinate reference system.
        cell_size : float, optional
            Target cell size in target CRS units; GDAL's default keeps about
            the same number of cells.
        resampling : str
            A :class:`rasterio.enums.Resampling` name: ``"nearest"``,
            ``"bilinear"``, ``"cubic"``, ``"average"``, ...

        Returns
        -------
        Raster
            Cells that no source cell reaches stay NaN.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> r = Raster(np.ones((4, 4), "float32"), Affine(10, 0, 500000, 0, -10, 3360000), 4547)
        >>> r.reproject(32650, cell_size=10).crs.to_epsg()
        32650
        """
        dst_crs = CRS.from_user_input(crs)
        rows, cols = self.shape
        resolution = None if cell_size is None else _positive(cell_size, "cell_size")
        transform, width, height = rasterio.warp.calculate_default_transform(
            self.crs.to_wkt(), dst_crs.to_wkt(), cols, rows, *self.bounds,
            resolution=resolution)
        return self._warp(dst_crs, transform, (height, width), resampling)

    def resample(self, cell_size: float, *, resampling: str = "bilinear") -> "Raster":
        """Regrid to a new cell size in the same CRS, keeping the upper-left corner.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> r = Raster(np.ones((4, 4), "float32"), Affine(1, 0, 0, 0, -1, 4), 4547)
        >>> r.resample(2.0).shape
        (2, 2)
        """
        cell_size = _positive(cell_size, "cell_size")
        grid = GridSpec.from_bounds(*self.bounds, cell_size)
        return self._warp(self.crs, grid.transform, grid.shape, resampling)

    def _warp(self, dst_crs: CRS, transform: Affine, shape: tuple[int, int],
              resampling: str) -> "Raster":
        try:
            method = Resampling[resampling]
        except KeyError:
            names = ", ".join(m.name for m in Resampling)
            raise ValueError(f"unknown resampling '{resampling}'; use one of {names}") from None
        check_grid_memory(shape, _BYTES_PER_CELL, "the regridded raster")
        out = np.full(shape, np.nan, dtype="float32")
        rasterio.warp.reproject(
            self.data, out, src_transform=self.transform, src_crs=self.crs.to_wkt(),
            src_nodata=np.nan, dst_transform=transform, dst_crs=dst_crs.to_wkt(),
            dst_nodata=np.nan, resampling=method)
        return Raster(out, transform, dst_crs, self.nodata)

    def clip(self, bounds: tuple[float, float, float, float]) -> "Raster":
        """Cut out the cells that overlap ``(xmin, ymin, xmax, ymax)``.

        Cells are kept whole, so the result may reach slightly beyond
        ``bounds``. Raises :class:`DataError` when nothing overlaps.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> r = Raster(np.zeros((10, 10), "float32"), Affine(1, 0, 0, 0, -1, 10), 4547)
        >>> r.clip((2.5, 2.0, 5.0, 4.0)).bounds
        (2.0, 2.0, 5.0, 4.0)
        """
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        if not (xmin < xmax and ymin < ymax):
            raise DataError(f"clip bounds {bounds} are empty",
                            fix="pass (xmin, ymin, xmax, ymax) with xmin < xmax and ymin < ymax")
        rows, cols = self.shape
        inverse = ~self.transform
        c0, r0 = inverse @ (xmin, ymax)
        c1, r1 = inverse @ (xmax, ymin)
        col0, col1 = sorted((c0, c1))
        row0, row1 = sorted((r0, r1))
        col0 = max(0, int(np.floor(col0 + 1e-9)))
        row0 = max(0, int(np.floor(row0 + 1e-9)))
        col1 = min(cols, int(np.ceil(col1 - 1e-9)))
        row1 = min(rows, int(np.ceil(row1 - 1e-9)))
        if col1 <= col0 or row1 <= row0:
            raise DataError(f"clip bounds {bounds} do not overlap the raster {self.bounds}",
                            fix="pass bounds in the raster's CRS that overlap it")
        transform = self.transform @ Affine.translation(col0, row0)
        return Raster(self.data[row0:row1, col0:col1].copy(), transform, self.crs, self.nodata)

    # -- repair -------------------------------------------------------------
    def fill_nodata(self, max_distance: float | None = None) -> tuple["Raster", int]:
        """Fill NaN holes with a smooth (harmonic) surface through their rims.

        Each hole is filled with the solution of Laplace's equation whose
        boundary values are the valid cells around it (edges of the grid act
        as no-flux boundaries). By the maximum principle, filled values never
        leave the range of the hole's rim, so no pits or spikes are invented.

        Parameters
        ----------
        max_distance : float, optional
            Only fill cells within this distance (CRS units) of a valid cell;
            farther cells stay NaN. Default: fill everything.

        Returns
        -------
        (Raster, int)
            The filled raster and the number of cells filled.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> data = np.array([[1, 1, 1], [1, np.nan, 3], [3, 3, 3]], "float32")
        >>> filled, n = Raster(data, Affine(1, 0, 0, 0, -1, 3), 4547).fill_nodata()
        >>> n, float(filled.data[1, 1])
        (1, 2.0)
        """
        holes = ~np.isfinite(self.data)
        if holes.all():
            raise DataError("raster holds only nodata cells; nothing to fill from",
                            fix="check the nodata value or the source grid")
        if max_distance is not None:
            distance = ndimage.distance_transform_edt(holes) * self.cell_size
            holes &= distance <= _positive(max_distance, "max_distance")
        out = self.data.copy()
        out[holes] = _harmonic_fill(np.where(np.isfinite(self.data), self.data, 0.0), holes,
                                    np.isfinite(self.data))
        return Raster(out, self.transform, self.crs, self.nodata), int(holes.sum())

    # -- terrain analysis ---------------------------------------------------
    def _gradient(self) -> tuple[np.ndarray, np.ndarray]:
        """``(dz/dx, dz/dy)`` with x east and y north, central differences."""
        if self.crs.is_geographic:
            raise DataError("slope needs a projected CRS in metres, this raster is in degrees",
                            fix="reproject it first, e.g. raster.reproject(4547, cell_size=5)")
        dzdy, dzdx = np.gradient(self.data.astype("float64"), self.transform.e, self.transform.a)
        return dzdx, dzdy

    def slope(self) -> np.ndarray:
        """Steepest slope of each cell in degrees, shape ``(rows, cols)``.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> x = np.tile(np.arange(5, dtype="float32"), (5, 1))
        >>> Raster(x, Affine(1, 0, 0, 0, -1, 5), 4547).slope()[2, 2].round(3)
        np.float32(45.0)
        """
        dzdx, dzdy = self._gradient()
        return np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype("float32")

    def hillshade(self, azimuth: float = 315.0, altitude: float = 45.0) -> np.ndarray:
        """Relief shading in ``[0, 1]``: cosine of the angle between surface and sun.

        Parameters
        ----------
        azimuth : float
            Direction the light comes from, degrees clockwise from north.
        altitude : float
            Sun height above the horizon in degrees.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> flat = Raster(np.zeros((3, 3), "float32"), Affine(1, 0, 0, 0, -1, 3), 4547)
        >>> float(flat.hillshade(altitude=30)[1, 1])
        0.5
        """
        dzdx, dzdy = self._gradient()
        az, alt = np.radians(azimuth), np.radians(altitude)
        sun = (np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt))
        shade = (-dzdx * sun[0] - dzdy * sun[1] + sun[2]) / np.sqrt(1.0 + dzdx**2 + dzdy**2)
        return np.clip(shade, 0.0, 1.0).astype("float32")

    # -- file I/O -----------------------------------------------------------
    def write(self, path: str | os.PathLike) -> Path:
        """Write a compressed GeoTIFF atomically (temporary name, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        profile = dict(driver="GTiff", height=self.shape[0], width=self.shape[1],
                       count=1, dtype="float32", crs=self.crs.to_wkt(),
                       transform=self.transform, nodata=np.nan,
                       compress="deflate", predictor=3, tiled=True,
                       blockxsize=256, blockysize=256)
        if self.shape[0] < 256 or self.shape[1] < 256:
            profile.update(tiled=False)
            profile.pop("blockxsize")
            profile.pop("blockysize")
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(self.data, 1)
        os.replace(tmp, path)
        return path


def read_raster(path: str | os.PathLike, *, band: int = 1,
                available: float | None = None) -> Raster:
    """Read one band of a GeoTIFF (or any GDAL raster) into a :class:`Raster`.

    Nodata and infinite cells become NaN. Raises :class:`DataError` when the
    file is missing, unreadable, has no CRS, holds no valid cell, has
    coordinates that cannot be in its CRS, or would not fit in memory
    (``available`` bytes, default: what the system has).

    Examples
    --------
    >>> dem = read_raster("data_samples/ezhou/terrain.tif")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path,
                        fix="check the path in the city manifest")
    try:
        with rasterio.open(path) as src:
            check_memory(src.height * src.width * _BYTES_PER_CELL,
                         f"the raster's {src.height} x {src.width} cells", file=path,
                         available=available,
                         fix="clip it to the city (gdal_translate -projwin) or coarsen it "
                             "(gdalwarp -tr)")
            data = src.read(band).astype("float32")
            nodata = src.nodata
            transform, crs = src.transform, src.crs
    except (rasterio.errors.RasterioError, IndexError) as exc:
        raise DataError(f"cannot be read as a raster ({exc})", file=path,
                        fix="re-export it as a GeoTIFF") from None
    if crs is None:
        raise DataError("raster has no CRS", file=path,
                        fix="assign one, e.g. gdal_edit.py -a_srs EPSG:4547")
    if nodata is not None and not np.isnan(nodata):
        data[data == nodata] = np.nan
    infinite = np.isinf(data)
    if infinite.any():
        warnings.warn(f"{path}: {int(infinite.sum())} cells are infinite; treated as nodata",
                      DataWarning, stacklevel=2)
        data[infinite] = np.nan
    if not np.isfinite(data).any():
        raise DataError("raster holds only nodata cells", file=path,
                        fix="check the nodata value or export the band again")
    if transform.b != 0 or transform.d != 0:
        raise DataError("rotated rasters are not supported", file=path,
                        fix="warp it to a north-up grid with gdalwarp")
    if transform.e > 0:                      # south-up file: flip so that row 0 is north
        data = data[::-1].copy()
        transform = Affine(transform.a, 0.0, transform.c, 0.0, -transform.e,
                           transform.f + transform.e * data.shape[0])
    try:
        raster = Raster(data, transform, CRS.from_user_input(crs.to_wkt()))
    except DataError as exc:
        raise DataError(exc.problem, file=path, fix=exc.fix) from None
    check_coordinates(raster.bounds, raster.crs, file=path)
    return raster


_BYTES_PER_CELL = 12
"""Bytes per cell while a raster is read: the band as read, float32, and a working copy."""


def _positive(value: float, name: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a number, got {value!r}",
                        fix=f"pass {name} in metres") from None
    if not (np.isfinite(value) and value > 0):
        raise DataError(f"{name} must be positive, got {value:g}", fix=f"pass {name} above 0")
    return value


def _harmonic_fill(values: np.ndarray, unknown: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Solve Laplace's equation on the ``unknown`` cells (5-point stencil).

    ``known`` cells are fixed (Dirichlet); grid edges and cells in neither
    mask are no-flux. Returns the solution for ``unknown`` cells in
    row-major order.
    """
    n = int(unknown.sum())
    if n == 0:
        return np.empty(0, dtype="float32")
    rows, cols = unknown.shape
    number = np.full(unknown.shape, -1, dtype=np.int64)
    number[unknown] = np.arange(n)
    r, c = np.nonzero(unknown)
    diagonal = np.zeros(n)
    rhs = np.zeros(n)
    links_i, links_j = [], []
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        rr, cc = np.where(inside, rr, 0), np.where(inside, cc, 0)
        to_unknown = inside & unknown[rr, cc]
        to_known = inside & known[rr, cc]
        diagonal += to_unknown | to_known
        rhs += np.where(to_known, values[rr, cc], 0.0)
        links_i.append(number[r, c][to_unknown])
        links_j.append(number[rr, cc][to_unknown])
    i, j = np.concatenate(links_i), np.concatenate(links_j)
    matrix = sparse.csr_matrix((np.full(i.size, -1.0), (i, j)), shape=(n, n))
    matrix = (matrix + sparse.diags(diagonal)).tocsc()
    return spsolve(matrix, rhs).astype("float32")
