"""Grid layers (flood water, crowd density) as surfaces in the 3D view.

Two forms of a layer grid:

* :class:`WaterSurface`, the engine's cells themselves: the wet cells and the
  level of their corners (:meth:`WaterSurface.levels`), one quad per wet cell at
  its water level (:meth:`WaterSurface.frame`); for the 2D map and exports.
* :class:`TerrainDrape`, what the 3D view draws: a triangle mesh on the
  vertices of the terrain mesh (subdivided where the layer grid is finer than
  the terrain mesh) over the area the layer ever reaches, with a fixed
  topology. A frame moves only the heights of its vertices and their colour
  class (:class:`DrapeFrame`). A vertex under water sits at the water level
  interpolated from the cells (:func:`scenes.water.water_height`); a dry vertex
  sits below the ground by as much as that level falls short of the ground
  there. Drape and terrain share their triangles, so in each triangle both are
  planes and the depth test of the GPU draws the shoreline exactly where the
  interpolated level meets the ground: the zero contour of ``level - ground``
  that :func:`scenes.water.clip_surface` cuts for the exports, at the terrain's
  resolution, with no geometry rebuilt per frame.

Examples
--------
>>> import numpy as np
>>> x, y = np.arange(5.0) + 0.5, np.array([1.5, 0.5])
>>> ground = np.tile(np.arange(5.0), (2, 1))                 # rises 1 m per cell eastwards
>>> d = TerrainDrape(x, y, ground, x, y, np.ones((2, 5), bool), (0, 0, 0))
>>> h = d.water_height(np.where(ground < 2.5, 2.5, np.nan))  # a lake at 2.5 m
>>> (h > 0).tolist()[:5]
[True, True, True, False, False]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv
from scipy import ndimage

from scenes.geometry import grid_triangles
from scenes.water import grid_transform, water_height

__all__ = ["WaterSurface", "TerrainDrape", "DrapeFrame", "PARK_M"]

PARK_M = 1.0
"""Depth under the ground (m) of the vertices that draw nothing in a frame."""

MAX_SUBDIVIDE = 32
"""At most this many drape vertices per terrain mesh spacing (a finer layer grid
is drawn at 1/32 of the terrain spacing)."""


@dataclass(frozen=True)
class DrapeFrame:
    """One frame of a :class:`TerrainDrape`.

    ``height``: float ``(n,)`` metres of the surface above the ground at each
    vertex (drawn where above 0, hidden under the ground elsewhere); ``cls``:
    uint8 ``(n,)`` colour class of each vertex (index into the drape's
    ``palette``); ``cells``: how many cells of the layer grid are shown.
    """

    height: np.ndarray
    cls: np.ndarray
    cells: int


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
        Row-major indices of the cells the layer ever shows (the map's extent);
        all cells by default.

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

    @property
    def corners(self) -> tuple[np.ndarray, np.ndarray]:
        """Local x of the ``cols + 1`` corner columns and y of the ``rows + 1`` corner rows."""
        return self._cx, self._cy

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


class TerrainDrape:
    """A fixed triangle mesh on the terrain under a layer grid; its vertex
    heights and colours change per frame.

    Parameters
    ----------
    x, y : numpy.ndarray
        World coordinates of the columns and rows of the terrain mesh's vertex
        lattice (regular; row 0 north unless ``south_up``).
    ground : numpy.ndarray
        ``(len(y), len(x))`` terrain height (m) at those vertices, NaN for none.
    cell_x, cell_y : numpy.ndarray
        Cell-centre coordinates of the layer grid (regular spacing).
    cover : numpy.ndarray
        bool ``(len(cell_y), len(cell_x))``: the cells the layer ever shows; the
        drape covers them and a margin around them.
    origin : tuple of float
        The scene's local origin ``(x0, y0, z0)``.
    south_up : bool
        Row 0 of ``ground`` is the south edge.
    subdivide : int
        Split each terrain mesh spacing into this many drape spacings (the
        terrain's triangles are split the same way: each drape triangle lies in
        one terrain triangle, so the ground under it is a plane).
    palette : sequence of RGB
        Colours of the classes of :attr:`DrapeFrame.cls`.
    lift : float
        Vertices above the ground are drawn at least this high (m), so thin water
        does not flicker against the terrain in the depth buffer.

    Examples
    --------
    >>> import numpy as np
    >>> x = y = np.arange(3.0)
    >>> d = TerrainDrape(x, y, np.zeros((3, 3)), x, y, np.ones((3, 3), bool), (0, 0, 0),
    ...                  subdivide=2)
    >>> d.n_points, len(d.triangles)
    (25, 32)
    """

    def __init__(self, x, y, ground, cell_x, cell_y, cover, origin, *, south_up: bool = False,
                 subdivide: int = 1, palette=((0, 0, 0),), lift: float = 0.0) -> None:
        x, y = np.asarray(x, float), np.asarray(y, float)
        ground = np.asarray(ground, float)
        cell_x, cell_y = np.asarray(cell_x, float), np.asarray(cell_y, float)
        cover = np.asarray(cover, bool)
        if ground.shape != (y.size, x.size):
            raise ValueError(f"ground has shape {ground.shape}, expected (len(y), len(x)) = "
                             f"{(y.size, x.size)}")
        if cover.shape != (cell_y.size, cell_x.size):
            raise ValueError(f"cover has shape {cover.shape}, the layer grid is "
                             f"{(cell_y.size, cell_x.size)}")
        k = int(subdivide)
        if k < 1:
            raise ValueError(f"subdivide must be >= 1, got {subdivide}")
        xs, ys, z = _subdivide(x, y, ground, k, south_up)
        self.transform = grid_transform(cell_x, cell_y)
        self.spacing = float(abs(xs[1] - xs[0])) if xs.size > 1 else abs(self.transform.a)
        self.origin = tuple(float(v) for v in origin)
        self.palette = np.asarray(palette, np.uint8).reshape(-1, 3)
        self.lift = float(lift)
        self.grid_shape = cover.shape
        # the layer cell of each lattice vertex, and the cover with a margin wide enough
        # for every triangle that touches the water to be in the mesh
        xx, yy = np.meshgrid(xs, ys)
        cell = self._cell_of(xx.ravel(), yy.ravel())
        rings = 2 + int(np.ceil(self.spacing / abs(self.transform.a)))
        wide = ndimage.binary_dilation(cover, np.ones((3, 3), bool), iterations=rings) \
            if cover.any() else cover
        near = np.zeros(cell.size, bool)
        near[cell >= 0] = wide.ravel()[cell[cell >= 0]]
        valid = (near & np.isfinite(z.ravel())).reshape(z.shape)
        tris = grid_triangles(valid, south_up=south_up)
        used = np.unique(tris)
        remap = np.full(z.size, -1, np.int64)
        remap[used] = np.arange(used.size)
        self.triangles = remap[tris]
        """``(m, 3)`` counter-clockwise vertex indices."""
        self.x, self.y = xx.ravel()[used], yy.ravel()[used]
        """World coordinates of the vertices."""
        self.ground = z.ravel()[used]
        """Terrain height (m, world) under each vertex."""
        self.cell = cell[used]
        """Row-major layer cell of each vertex (-1 outside the layer grid)."""

    @classmethod
    def on_terrain(cls, terrain, terrain_mesh, cell_x, cell_y, cell_ground, cover, origin,
                   **kw) -> "TerrainDrape":
        """The drape on the vertices of a scene's terrain mesh.

        Parameters
        ----------
        terrain : geodata.raster.Raster or None
            The city's terrain.
        terrain_mesh : pyvista.PolyData or None
            The scene's terrain block (:func:`scenes.meshes.terrain_mesh` of
            ``terrain`` at some step, local coordinates): its vertex spacing
            gives the step.
        cell_x, cell_y, cell_ground : numpy.ndarray
            The layer grid's cell centres and ground, the lattice when there is no
            terrain.
        cover, origin, **kw
            As for :class:`TerrainDrape` (``palette``, ``lift``).

        Examples
        --------
        >>> drape = TerrainDrape.on_terrain(city.terrain, scene.blocks["terrain"],
        ...                                 x, y, ground, ever_wet, scene.origin)  # doctest: +SKIP
        """
        cell_x, cell_y = np.asarray(cell_x, float), np.asarray(cell_y, float)
        cell_dx = abs(float(cell_x[1] - cell_x[0])) if cell_x.size > 1 else 1.0
        if terrain is None or terrain_mesh is None or not terrain_mesh.n_points:
            return cls(cell_x, cell_y, cell_ground, cell_x, cell_y, cover, origin, **kw)
        t = terrain.transform
        local_x = np.unique(np.round(np.asarray(terrain_mesh.points)[:, 0], 3))
        spacing = float(np.diff(local_x).min()) if local_x.size > 1 else abs(t.a)
        step = max(1, int(round(spacing / abs(t.a))))
        x, y = terrain.x[::step], terrain.y[::step]
        z = np.asarray(terrain.data, float)[::step, ::step]
        if terrain.nodata is not None:
            z = np.where(z == terrain.nodata, np.nan, z)
        k = min(MAX_SUBDIVIDE, max(1, int(np.ceil(abs(t.a) * step / cell_dx - 1e-9))))
        return cls(x, y, z, cell_x, cell_y, cover, origin, south_up=t.e > 0, subdivide=k, **kw)

    @property
    def n_points(self) -> int:
        """Number of vertices."""
        return int(self.x.size)

    def _cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        rows, cols = self.grid_shape
        t = self.transform
        c = np.floor((x - t.c) / t.a).astype(np.int64)
        r = np.floor((y - t.f) / t.e).astype(np.int64)
        inside = (c >= 0) & (c < cols) & (r >= 0) & (r < rows)
        return np.where(inside, r * cols + c, -1)

    def at_cells(self, values: np.ndarray) -> np.ndarray:
        """The value of the layer cell under each vertex (NaN outside the grid).

        Examples
        --------
        >>> import numpy as np
        >>> d = TerrainDrape([0.25, 1.25], [0.75, 0.25], np.zeros((2, 2)), [0.5, 1.5], [0.5],
        ...                  np.ones((1, 2), bool), (0, 0, 0))
        >>> d.at_cells(np.array([[7.0, 8.0]])).tolist()
        [7.0, 8.0, 7.0, 8.0]
        """
        v = np.asarray(values, float).ravel()
        if v.size != self.grid_shape[0] * self.grid_shape[1]:
            raise ValueError(f"values have {v.size} cells, the layer grid {self.grid_shape}")
        return np.where(self.cell >= 0, v[np.maximum(self.cell, 0)], np.nan)

    def water_height(self, level: np.ndarray, ground: np.ndarray | None = None, *,
                     min_depth: float = 0.01) -> np.ndarray:
        """Height (m) of the water above the ground at each vertex for a grid of
        water levels (m, world; NaN where dry): positive where wet, negative where
        dry, crossing zero on the shoreline (:func:`scenes.water.water_height`;
        with the ``ground`` of the layer cells, a front on flat ground ends at the
        edge of the wet cells)."""
        level = np.asarray(level, float)
        if level.shape != self.grid_shape:
            raise ValueError(f"level has shape {level.shape}, the layer grid is {self.grid_shape}")
        return water_height(level, self.transform, self.x, self.y, self.ground,
                            spacing=self.spacing, level_ground=ground, min_depth=min_depth)

    def above_normal(self, height: np.ndarray, normal: np.ndarray, *,
                     rise: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Heights over permanent water that another layer already draws at its
        normal level (a lake, a river): such a vertex is shown only where the
        water stands more than ``rise`` above that level (and above the ground),
        so the two surfaces are never coplanar; elsewhere it is hidden under the
        ground. Thin water on a bank above the normal level shows as on land.

        Parameters
        ----------
        height : numpy.ndarray
            ``(n,)`` water height above the ground (m), as from :meth:`water_height`.
        normal : numpy.ndarray
            ``(n,)`` normal water level (m, world) of the permanent water under each
            vertex, NaN off permanent water.
        rise : float
            How far (m) the water must stand above the normal level to be shown.

        Returns
        -------
        height : numpy.ndarray
            ``(n,)`` heights to draw: unchanged off permanent water; on it the
            same where shown (the water's own level), else below the ground by
            as much as the level falls short of ``normal + rise`` (at least by
            1e-6, and never above ``height``).
        depth : numpy.ndarray
            ``(n,)`` the water's depth above the normal level or the ground,
            whichever is higher (the height itself off permanent water): what
            its colour class shows.

        Examples
        --------
        >>> import numpy as np
        >>> x = y = np.arange(2.0)
        >>> d = TerrainDrape(x, y, np.zeros((2, 2)), x, y, np.ones((2, 2), bool), (0, 0, 0))
        >>> h, depth = d.above_normal(np.array([3.0, 3.5, 0.2, 0.2]),
        ...                           np.array([3.0, 3.0, np.nan, 0.1]))
        >>> h.round(2).tolist(), depth.round(2).tolist()
        ([-0.05, 3.5, 0.2, 0.2], [0.0, 0.5, 0.2, 0.1])
        """
        h = np.asarray(height, float)
        normal = np.asarray(normal, float)
        if h.shape != (self.n_points,) or normal.shape != (self.n_points,):
            raise ValueError(f"height {h.shape} and normal {normal.shape} must both have one "
                             f"value per drape vertex ({self.n_points},)")
        body = np.isfinite(normal)
        base = np.nan_to_num(normal)
        floor = np.where(body, np.maximum(base - self.ground, 0.0), 0.0)
        depth = h - floor
        over = self.ground + h - base - rise          # the level above normal + rise
        hidden = body & ~((over > 0) & (depth > 0))
        return np.where(hidden, np.minimum(np.minimum(h, over), -1e-6), h), depth

    def heights(self, height: np.ndarray) -> np.ndarray:
        """Local z of each vertex for heights above the ground: those above 0 raised
        to at least :attr:`lift`; those in no triangle with a vertex above 0 (whose
        height draws nothing) parked :data:`PARK_M` under the ground, so they do
        not change from frame to frame."""
        h = np.asarray(height, float)
        up = h > 0
        near = np.zeros(h.size, bool)
        near[self.triangles[up[self.triangles].any(axis=1)].ravel()] = True
        h = np.where(up, np.maximum(h, self.lift), np.where(near, h, -PARK_M))
        return self.ground + h - self.origin[2]

    def points(self, height: np.ndarray) -> np.ndarray:
        """float32 ``(n, 3)`` local points for heights above the ground."""
        return np.column_stack([self.x - self.origin[0], self.y - self.origin[1],
                                self.heights(height)]).astype(np.float32)

    def mesh(self, height: np.ndarray | None = None) -> pv.PolyData:
        """The drape as a mesh (point data ``rgb``), all :data:`PARK_M` under the
        ground unless ``height`` is given."""
        h = np.full(self.n_points, -PARK_M) if height is None else height
        if self.n_points == 0:
            return pv.PolyData()
        mesh = pv.PolyData.from_regular_faces(self.points(h), self.triangles)
        mesh.point_data["rgb"] = np.zeros((self.n_points, 3), np.uint8)
        return mesh

    def colors(self, cls: np.ndarray) -> np.ndarray:
        """uint8 ``(n, 3)`` RGB of colour classes."""
        return self.palette[np.asarray(cls, np.intp)]


def _subdivide(x, y, z, k: int, south_up: bool):
    """The lattice ``x, y`` split ``k`` times and the ground under its points on
    the terrain's triangles (diagonal south-west to north-east)."""
    if k == 1 or x.size < 2 or y.size < 2:
        return x, y, z
    cols, rows = x.size, y.size
    xs = x[0] + (x[1] - x[0]) * np.arange((cols - 1) * k + 1) / k
    ys = y[0] + (y[1] - y[0]) * np.arange((rows - 1) * k + 1) / k
    R, C = np.meshgrid(np.arange(ys.size), np.arange(xs.size), indexing="ij")
    r0, c0 = np.minimum(R // k, rows - 2), np.minimum(C // k, cols - 2)
    fr, u = (R - r0 * k) / k, (C - c0 * k) / k      # fraction down the rows, east
    a, b = z[r0, c0], z[r0, c0 + 1]                  # row r0: the north row unless south_up
    c, d = z[r0 + 1, c0], z[r0 + 1, c0 + 1]
    if south_up:
        sw, se, nw, ne, v = a, b, c, d, fr
    else:
        sw, se, nw, ne, v = c, d, a, b, 1 - fr
    lower = sw + u * (se - sw) + v * (ne - se)      # triangle sw, se, ne (u >= v)
    upper = sw + v * (nw - sw) + u * (ne - nw)      # triangle sw, ne, nw
    return xs, ys, np.where(u >= v, lower, upper)
