"""The geometry of a north-up grid: one concept shared by every raster and engine grid.

A :class:`GridSpec` is an affine ``transform`` and a ``shape`` ``(rows, cols)``.
Row 0 is the north edge and ``transform * (col, row)`` gives the (x, y) of a
cell's upper-left corner. It answers every geometric question about a grid
(cell size, edges, cell centres, which cell holds a point, values at points)
so that no module re-derives them from the transform.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine

from geodata.errors import DataError
from geodata.memory import check_memory

__all__ = ["GridSpec", "check_grid_memory"]


@dataclass(frozen=True)
class GridSpec:
    """A north-up grid: affine transform and shape.

    Parameters
    ----------
    transform : affine.Affine
        Maps ``(col, row)`` to ``(x, y)`` of a cell's upper-left corner;
        north-up: ``a > 0``, ``e < 0``, no rotation terms.
    shape : (int, int)
        ``(rows, cols)``, both at least 1.

    Examples
    --------
    >>> g = GridSpec.from_origin(500000.0, 3360000.0, 2.0, (3, 4))
    >>> g.cell_size, g.bounds
    (2.0, (500000.0, 3359994.0, 500008.0, 3360000.0))
    >>> g.index([500001.0, 500009.0], [3359999.0, 3359999.0])
    (array([0, 0]), array([0, 4]))
    """

    transform: Affine
    shape: tuple[int, int]

    def __post_init__(self) -> None:
        t = self.transform
        if not isinstance(t, Affine):
            try:
                t = Affine(*list(t)[:6])
            except (TypeError, ValueError):
                raise DataError(f"grid transform {self.transform!r} is not an affine transform",
                                fix="pass an affine.Affine or its six coefficients") from None
            object.__setattr__(self, "transform", t)
        if not all(math.isfinite(v) for v in (t.a, t.b, t.c, t.d, t.e, t.f)):
            raise DataError(f"grid transform {tuple(t)[:6]} holds a non-finite number",
                            fix="check the raster's georeferencing")
        if t.b != 0 or t.d != 0:
            raise DataError("rotated grids are not supported",
                            fix="warp it to a north-up grid with gdalwarp")
        if not (t.a > 0 and t.e < 0):
            raise DataError(f"grid cell size ({t.a:g}, {t.e:g}) is not north-up with positive "
                            "cells", fix="use a positive cell size; flip south-up grids "
                            "(data[::-1]) so that row 0 is north")
        try:
            rows, cols = (int(n) for n in self.shape)
        except (TypeError, ValueError):
            raise DataError(f"grid shape {self.shape!r} is not (rows, cols)",
                            fix="pass two integers") from None
        if rows < 1 or cols < 1:
            raise DataError(f"grid shape {(rows, cols)} is empty",
                            fix="pass at least one row and one column")
        object.__setattr__(self, "shape", (rows, cols))

    # -- construction -------------------------------------------------------
    @classmethod
    def from_origin(cls, west: float, north: float, cell_size: float,
                    shape: tuple[int, int]) -> "GridSpec":
        """Grid of square cells whose upper-left corner is ``(west, north)``.

        Examples
        --------
        >>> GridSpec.from_origin(0, 10, 5, (2, 3)).bounds
        (0.0, 0.0, 15.0, 10.0)
        """
        cell_size = _cell(cell_size)
        return cls(Affine(cell_size, 0.0, float(west), 0.0, -cell_size, float(north)), shape)

    @classmethod
    def from_bounds(cls, xmin: float, ymin: float, xmax: float, ymax: float,
                    cell_size: float) -> "GridSpec":
        """Smallest grid of square cells from ``(xmin, ymax)`` that covers the bounds.

        Examples
        --------
        >>> GridSpec.from_bounds(0, 0, 10, 4.5, 2).shape
        (3, 5)
        """
        cell_size = _cell(cell_size)
        xmin, ymin, xmax, ymax = (float(v) for v in (xmin, ymin, xmax, ymax))
        if not (xmin < xmax and ymin < ymax):
            raise DataError(f"grid bounds {(xmin, ymin, xmax, ymax)} are empty",
                            fix="pass xmin < xmax and ymin < ymax")
        cols = max(1, math.ceil((xmax - xmin) / cell_size - 1e-9))
        rows = max(1, math.ceil((ymax - ymin) / cell_size - 1e-9))
        return cls.from_origin(xmin, ymax, cell_size, (rows, cols))

    # -- geometry -----------------------------------------------------------
    @property
    def res(self) -> tuple[float, float]:
        """``(dx, dy)``: cell width and height, both positive."""
        return (float(self.transform.a), float(-self.transform.e))

    @property
    def cell_size(self) -> float:
        """Cell width; raises :class:`DataError` when cells are not square."""
        dx, dy = self.res
        if not math.isclose(dx, dy, rel_tol=1e-6):
            raise DataError(f"grid cells are not square ({dx:g} x {dy:g})",
                            fix="resample to square cells, e.g. gdalwarp -tr 5 5")
        return dx

    @property
    def origin(self) -> tuple[float, float]:
        """``(x, y)`` of the west edge and north edge."""
        return (float(self.transform.c), float(self.transform.f))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the outer edges."""
        (rows, cols), (dx, dy), (x0, y0) = self.shape, self.res, self.origin
        return (x0, y0 - rows * dy, x0 + cols * dx, y0)

    @property
    def x(self) -> np.ndarray:
        """x of cell centres along a row, shape ``(cols,)``."""
        return self.transform.c + self.transform.a * (np.arange(self.shape[1]) + 0.5)

    @property
    def y(self) -> np.ndarray:
        """y of cell centres down a column, shape ``(rows,)``, north first."""
        return self.transform.f + self.transform.e * (np.arange(self.shape[0]) + 0.5)

    @property
    def cell_area(self) -> float:
        """Area of one cell (CRS units squared)."""
        dx, dy = self.res
        return dx * dy

    def to_local(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """CRS ``(x, y)`` -> engine metres: x east of the west edge, y north of the south edge.

        Examples
        --------
        >>> g = GridSpec.from_origin(500000.0, 3360000.0, 2.0, (3, 4))
        >>> [v.tolist() for v in g.to_local([500001.0], [3359995.0])]
        [[1.0], [1.0]]
        """
        xmin, ymin, _, _ = self.bounds
        return np.asarray(x, float) - xmin, np.asarray(y, float) - ymin

    def to_world(self, x_local, y_local) -> tuple[np.ndarray, np.ndarray]:
        """Engine metres (from the south-west corner) -> CRS ``(x, y)``; the inverse of
        :meth:`to_local`."""
        xmin, ymin, _, _ = self.bounds
        return np.asarray(x_local, float) + xmin, np.asarray(y_local, float) + ymin

    # -- points -------------------------------------------------------------
    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Integer ``(row, col)`` of the cells holding points ``(x, y)`` (floor).

        Points outside the grid get indices outside ``[0, rows)`` / ``[0, cols)``;
        test them with :meth:`contains`. Non-finite points get ``-1``.
        """
        fr, fc = self._fractional(x, y)
        ok = np.isfinite(fr) & np.isfinite(fc)
        row = np.where(ok, np.floor(np.where(ok, fr, 0.0)), -1).astype(np.int64)
        col = np.where(ok, np.floor(np.where(ok, fc, 0.0)), -1).astype(np.int64)
        return row, col

    def contains(self, row, col) -> np.ndarray:
        """Whether integer ``(row, col)`` lies on the grid (element-wise)."""
        row, col = np.asarray(row), np.asarray(col)
        return (row >= 0) & (row < self.shape[0]) & (col >= 0) & (col < self.shape[1])

    def sample(self, array, x, y) -> np.ndarray:
        """Bilinear value of ``array`` at points ``(x, y)``; NaN outside the grid.

        Values are taken to sit at cell centres; between the outermost centres
        and the grid's edge the nearest edge value is used.

        Examples
        --------
        >>> g = GridSpec.from_origin(0, 2, 1, (2, 2))
        >>> a = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> g.sample(a, [1.0, 0.5, 5.0], [1.0, 1.5, 1.0]).tolist()
        [1.5, 0.0, nan]
        """
        array = np.asarray(array)
        if array.shape[:2] != self.shape:
            raise ValueError(f"array shape {array.shape} does not match the grid {self.shape}")
        fr, fc = self._fractional(x, y)
        rows, cols = self.shape
        inside = (fr >= 0) & (fr <= rows) & (fc >= 0) & (fc <= cols)
        out = np.full(fr.shape, np.nan)
        r = np.clip(fr[inside] - 0.5, 0, rows - 1)
        c = np.clip(fc[inside] - 0.5, 0, cols - 1)
        r0 = np.minimum(np.floor(r).astype(np.int64), max(rows - 2, 0))
        c0 = np.minimum(np.floor(c).astype(np.int64), max(cols - 2, 0))
        r1, c1 = np.minimum(r0 + 1, rows - 1), np.minimum(c0 + 1, cols - 1)
        wr, wc = r - r0, c - c0
        top = array[r0, c0] * (1 - wc) + array[r0, c1] * wc
        bottom = array[r1, c0] * (1 - wc) + array[r1, c1] * wc
        out[inside] = top * (1 - wr) + bottom * wr
        return out

    def _fractional(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Fractional ``(row, col)`` of points; 0 is the north/west edge."""
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        (dx, dy), (x0, y0) = self.res, self.origin
        return (y0 - y) / dy, (x - x0) / dx


def check_grid_memory(shape, bytes_per_cell: float, what: str, *,
                      available: float | None = None, fraction: float = 0.5) -> int:
    """Refuse a grid that would not fit in memory; return its size in bytes.

    Parameters
    ----------
    shape : tuple of int
        Shape of the arrays to allocate, e.g. ``(rows, cols)``.
    bytes_per_cell : float
        Bytes per cell summed over every array the caller allocates.
    what : str
        What the grid is for, named in the message (e.g. ``"flood grid"``).
    available : float, optional
        Bytes of memory available; default: read from the system.
    fraction : float
        Share of the available memory one grid may take.

    Raises
    ------
    DataError
        With the estimate, what is available and the fix.

    Examples
    --------
    >>> check_grid_memory((1000, 1000), 8, "flood grid", available=1e9)
    8000000
    """
    cells = 1
    for n in shape:
        cells *= int(n)
    need = int(cells * float(bytes_per_cell))
    check_memory(need, f"{what} of {' x '.join(str(int(n)) for n in shape)} cells",
                 "use a larger cell size or clip to a smaller area", available=available,
                 fraction=fraction)
    return need


def _cell(cell_size: float) -> float:
    try:
        value = float(cell_size)
    except (TypeError, ValueError):
        raise DataError(f"cell size {cell_size!r} is not a number",
                        fix="give the cell size in metres, e.g. 5") from None
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"cell size must be a positive number of metres, got {value:g}",
                        fix="give a cell size above 0, e.g. 5")
    return value
