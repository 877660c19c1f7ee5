"""The flood water surface of one replay frame, as a mesh of the wet cells.

Each wet cell (depth above a threshold) becomes one quad at the height of its
water surface (ground + depth). Corners shared by wet neighbours are shared
points, lifted to the mean water level of the wet cells around them, so the
surface is closed where the water is continuous. Only the wet cells are sent
to the browser, so a dry city costs nothing and a flooded frame costs a few
bytes per wet cell.
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

    Examples
    --------
    >>> import numpy as np
    >>> ws = WaterSurface(np.zeros((2, 2)), np.array([0.5, 1.5]), np.array([1.5, 0.5]), (0, 0, 0))
    >>> ws.frame(np.array([[0.5, 0.0], [0.0, 0.0]])).n_cells
    1
    """

    def __init__(self, ground: np.ndarray, x: np.ndarray, y: np.ndarray,
                 origin: tuple[float, float, float], *, threshold: float = 0.01) -> None:
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

    def wet(self, depth: np.ndarray) -> np.ndarray:
        """Boolean mask of the wet cells (depth above the threshold; NaN is dry)."""
        d = np.asarray(depth)
        if d.shape != self.shape:
            raise ValueError(f"depth frame has shape {d.shape}, the flood grid is {self.shape}")
        return np.nan_to_num(d, nan=0.0) > self.threshold

    def frame(self, depth: np.ndarray) -> pv.PolyData:
        """The water surface of one depth grid.

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
        wet = self.wet(d)
        rows, cols = self.shape
        r, c = np.nonzero(wet)
        if r.size == 0:
            return pv.PolyData()
        level = np.where(wet, self.ground + d, 0.0)
        # each corner (i, j) touches cells (i-1..i, j-1..j): mean level over its wet cells
        total = np.zeros((rows + 1, cols + 1))
        count = np.zeros((rows + 1, cols + 1))
        w = wet.astype(np.float64)
        for di in (0, 1):
            for dj in (0, 1):
                total[di:di + rows, dj:dj + cols] += level
                count[di:di + rows, dj:dj + cols] += w
        # corners of each wet cell, counter-clockwise seen from above (row 0 is north)
        ci = np.stack([r + 1, r + 1, r, r], axis=1)
        cj = np.stack([c, c + 1, c + 1, c], axis=1)
        flat = (ci * (cols + 1) + cj).ravel()
        used, inverse = np.unique(flat, return_inverse=True)
        ui, uj = np.divmod(used, cols + 1)
        z = total[ui, uj] / count[ui, uj] - self._z0
        points = np.column_stack([self._cx[uj], self._cy[ui], z]).astype(np.float32)
        faces = np.column_stack([np.full(r.size, 4), inverse.reshape(-1, 4)]).astype(np.int64)
        mesh = pv.PolyData(points, faces=faces.ravel())
        mesh.cell_data["depth"] = d[r, c].astype(np.float32)
        return mesh
