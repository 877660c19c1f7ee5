"""The flood water surface of one replay frame.

Each wet cell (depth above a threshold) becomes one quad at the height of its
water surface (ground + depth). Corners shared by wet neighbours are lifted to
the mean water level of the wet cells around them, so the surface is closed
where the water is continuous.

Two forms: :meth:`WaterSurface.frame` gives a mesh of the wet cells only;
:meth:`WaterSurface.grid` gives one quad per flood cell with a fixed topology,
whose points :meth:`WaterSurface.points` moves each frame (dry cells collapse
to a point and draw nothing), so the browser keeps its buffers and only the
levels of the wet corners travel (see :mod:`viewer.scenestream`).
"""
from __future__ import annotations

import numpy as np
import pyvista as pv

__all__ = ["WaterSurface"]


class WaterSurface:
    """Build water meshes on a fixed grid of flood cells.

    Parameters
    ----------
    ground : numpy.ndarray
        Ground elevation (m) of each flood cell, shape ``(rows, cols)``, row 0 north.
    x, y : numpy.ndarray
        Cell-centre coordinates (m, city CRS) of the columns and rows; regular spacing.
    origin : tuple of float
        ``(x0, y0, z0)`` subtracted from the coordinates, the scene's local origin.
    threshold : float
        Cells with depth above this (m) are wet.
    cells : numpy.ndarray, optional
        Row-major indices of the flood cells that :meth:`grid` covers (those that
        are ever wet, say); all cells by default.

    Examples
    --------
    >>> import numpy as np
    >>> ws = WaterSurface(np.zeros((2, 2)), np.array([0.5, 1.5]), np.array([1.5, 0.5]), (0, 0, 0))
    >>> ws.frame(np.array([[0.5, 0.0], [0.0, 0.0]])).n_cells
    1
    """

    def __init__(self, ground: np.ndarray, x: np.ndarray, y: np.ndarray,
                 origin: tuple[float, float, float], *, threshold: float = 0.01,
                 cells: np.ndarray | None = None) -> None:
        ground = np.asarray(ground, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if ground.shape != (y.size, x.size):
            raise ValueError(f"ground has shape {ground.shape}, expected (len(y), len(x)) = "
                             f"{(y.size, x.size)}")
        low = float(np.nanmin(ground)) if np.isfinite(ground).any() else 0.0
        self.ground = np.nan_to_num(ground, nan=low)
        self.threshold = float(threshold)
        dx = float(x[1] - x[0]) if x.size > 1 else 1.0
        dy = float(y[1] - y[0]) if y.size > 1 else -1.0
        # corner coordinates, local: cols+1 x edges, rows+1 y edges
        self._cx = np.concatenate([x - dx / 2, [x[-1] + dx / 2]]) - origin[0]
        self._cy = np.concatenate([y - dy / 2, [y[-1] + dy / 2]]) - origin[1]
        self._z0 = float(origin[2])
        self.shape = ground.shape
        self.cells = np.arange(ground.size) if cells is None else \
            np.asarray(cells, dtype=np.int64).ravel()

    def wet(self, depth: np.ndarray) -> np.ndarray:
        """Boolean mask of the wet cells (depth above the threshold; NaN is dry)."""
        d = np.asarray(depth)
        if d.shape != self.shape:
            raise ValueError(f"depth frame has shape {d.shape}, the flood grid is {self.shape}")
        return np.nan_to_num(d, nan=0.0) > self.threshold

    def levels(self, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wet cells and the water level of every cell corner.

        Parameters
        ----------
        depth : numpy.ndarray
            Water depth (m), shape ``(rows, cols)``.

        Returns
        -------
        wet : numpy.ndarray
            bool ``(rows, cols)``.
        level : numpy.ndarray
            float64 ``(rows + 1, cols + 1)``: local height of each corner, the mean
            water level of the wet cells touching it; NaN where no wet cell touches it.
        """
        d = np.nan_to_num(np.asarray(depth, dtype=np.float64), nan=0.0)
        wet = self.wet(d)
        rows, cols = self.shape
        level = np.where(wet, self.ground + d, 0.0)
        # each corner (i, j) touches cells (i-1..i, j-1..j): mean level over its wet cells
        total = np.zeros((rows + 1, cols + 1))
        count = np.zeros((rows + 1, cols + 1))
        w = wet.astype(np.float64)
        for di in (0, 1):
            for dj in (0, 1):
                total[di:di + rows, dj:dj + cols] += level
                count[di:di + rows, dj:dj + cols] += w
        with np.errstate(invalid="ignore", divide="ignore"):
            return wet, total / count - self._z0

    def grid(self) -> pv.PolyData:
        """One quad per flood cell of :attr:`cells` (4 own points each, in that order),
        all dry: the fixed mesh whose points :meth:`points` moves.

        Examples
        --------
        >>> import numpy as np
        >>> ws = WaterSurface(np.zeros((2, 2)), np.array([0.5, 1.5]), np.array([1.5, 0.5]), (0, 0, 0))
        >>> g = ws.grid(); g.points = ws.points(*ws.levels(np.full((2, 2), 0.5)))
        >>> round(g.area, 6)
        4.0
        """
        rows, cols = self.shape
        n = self.cells.size
        faces = np.column_stack([np.full(n, 4), np.arange(4 * n).reshape(n, 4)])
        wet = np.zeros(self.shape, bool)
        return pv.PolyData(self.points(wet, np.full((rows + 1, cols + 1), np.nan)),
                           faces=faces.astype(np.int64).ravel())

    @property
    def floor(self) -> float:
        """Local height where the points of dry cells of :meth:`grid` collapse."""
        return float(self.ground.min()) - self._z0

    @property
    def corners(self) -> tuple[np.ndarray, np.ndarray]:
        """Local x of the ``cols + 1`` corner columns and y of the ``rows + 1`` corner rows."""
        return self._cx, self._cy

    def points(self, wet: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Points of :meth:`grid` for the output of :meth:`levels`: wet cells get
        their corners at the water level (counter-clockwise from the south-west,
        seen from above), dry cells collapse onto their north-west corner at
        :attr:`floor`. float32 ``(4 * len(cells), 3)``."""
        cols = self.shape[1]
        r, c = np.divmod(self.cells, cols)
        ci = np.stack([r + 1, r + 1, r, r], axis=1)
        cj = np.stack([c, c + 1, c + 1, c], axis=1)
        dry = ~wet.ravel()[self.cells]
        ci[dry], cj[dry] = r[dry, None], c[dry, None]
        z = level[ci, cj]
        z[dry] = self.floor
        return np.column_stack([self._cx[cj.ravel()], self._cy[ci.ravel()],
                                z.ravel()]).astype(np.float32)

    def frame(self, depth: np.ndarray) -> pv.PolyData:
        """The water surface of one depth grid, wet cells only.

        Parameters
        ----------
        depth : numpy.ndarray
            Water depth (m), shape ``(rows, cols)``.

        Returns
        -------
        pyvista.PolyData
            Quads of the wet cells in local coordinates, cell data ``depth`` (m);
            empty when nothing is wet.
        """
        d = np.nan_to_num(np.asarray(depth, dtype=np.float64), nan=0.0)
        wet, level = self.levels(d)
        cols = self.shape[1]
        r, c = np.nonzero(wet)
        if r.size == 0:
            return pv.PolyData()
        # corners of each wet cell, counter-clockwise seen from above (row 0 is north)
        ci = np.stack([r + 1, r + 1, r, r], axis=1)
        cj = np.stack([c, c + 1, c + 1, c], axis=1)
        flat = (ci * (cols + 1) + cj).ravel()
        used, inverse = np.unique(flat, return_inverse=True)
        ui, uj = np.divmod(used, cols + 1)
        points = np.column_stack([self._cx[uj], self._cy[ui], level[ui, uj]]).astype(np.float32)
        faces = np.column_stack([np.full(r.size, 4), inverse.reshape(-1, 4)]).astype(np.int64)
        mesh = pv.PolyData(points, faces=faces.ravel())
        mesh.cell_data["depth"] = d[r, c].astype(np.float32)
        return mesh
