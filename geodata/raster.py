"""Georeferenced grids: the terrain and any other raster layer.

A :class:`Raster` is a 2-D float32 array plus an affine transform and a CRS,
following the raster convention: row 0 is the north edge and
``transform * (col, row)`` gives the (x, y) of a cell's upper-left corner.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from affine import Affine
from pyproj import CRS

from geodata.errors import DataError

__all__ = ["Raster", "read_raster"]


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
        self.crs = CRS.from_user_input(self.crs)

    # -- geometry -----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)``."""
        return self.data.shape

    @property
    def cell_size(self) -> float:
        """Cell width in CRS units (cells are assumed square)."""
        return float(abs(self.transform.a))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the grid's outer edges."""
        rows, cols = self.shape
        x0, y0 = self.transform * (0, 0)
        x1, y1 = self.transform * (cols, rows)
        return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    @property
    def x(self) -> np.ndarray:
        """x of cell centres along a row, shape ``(cols,)``."""
        cols = self.shape[1]
        return self.transform.c + self.transform.a * (np.arange(cols) + 0.5)

    @property
    def y(self) -> np.ndarray:
        """y of cell centres down a column, shape ``(rows,)`` (north first)."""
        rows = self.shape[0]
        return self.transform.f + self.transform.e * (np.arange(rows) + 0.5)

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Return integer ``(row, col)`` of the cells containing points ``(x, y)``.

        Points outside the grid get indices outside ``[0, rows)`` / ``[0, cols)``.
        """
        col, row = ~self.transform * (np.asarray(x, float), np.asarray(y, float))
        return np.floor(row).astype(int), np.floor(col).astype(int)

    def sample(self, x, y) -> np.ndarray:
        """Value of the cell under each point; NaN outside the grid.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> r = Raster(np.arange(4, dtype="float32").reshape(2, 2), Affine(1, 0, 0, 0, -1, 2), 4547)
        >>> r.sample([0.5, 1.5, 9.0], [1.5, 0.5, 0.0]).tolist()
        [0.0, 3.0, nan]
        """
        row, col = self.index(x, y)
        rows, cols = self.shape
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        out = np.full(np.shape(row), np.nan, dtype="float32")
        out[inside] = self.data[row[inside], col[inside]]
        return out

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


def read_raster(path: str | os.PathLike, *, band: int = 1) -> Raster:
    """Read one band of a GeoTIFF (or any GDAL raster) into a :class:`Raster`.

    Nodata cells become NaN. Raises :class:`DataError` when the file is
    missing, unreadable, has no CRS, or holds no valid cell.

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
    if not np.isfinite(data).any():
        raise DataError("raster holds only nodata cells", file=path,
                        fix="check the nodata value or export the band again")
    if transform.b != 0 or transform.d != 0:
        raise DataError("rotated rasters are not supported", file=path,
                        fix="warp it to a north-up grid with gdalwarp")
    return Raster(data, transform, CRS.from_user_input(crs.to_wkt()))
