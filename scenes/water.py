"""Water, and any other grid layer, drawn as a smooth surface on the terrain.

The water level of a flood grid (``terrain + depth`` where wet) is
interpolated to the vertices of the terrain mesh (the terrain cell centres,
joined as in :func:`scenes.meshes.terrain_mesh`), so the surface has the
terrain's resolution whatever the flood grid's. Each terrain triangle is then
clipped where the level crosses the ground (``level - terrain = 0``, linear
along each edge): the shoreline runs through the triangles instead of along
cell edges, and the water meets the terrain exactly there. Depth is a point
scalar (0 on the shoreline) for colouring.

:func:`draped_surface` does the same for any grid layer (crowd density,
arrival time, ...): the layer is interpolated to the terrain vertices, cut
where it falls to ``threshold`` and laid ``lift`` metres above the ground.
"""
from __future__ import annotations

import numpy as np
import pyvista as pv
from affine import Affine

from scenes.geometry import grid_triangles

__all__ = ["water_surface", "water_height", "draped_surface", "clip_surface", "sample_grid",
           "grid_transform"]


def sample_grid(values: np.ndarray, transform: Affine, x, y, *,
                strict: bool = False) -> np.ndarray:
    """Bilinear value between cell centres at points ``x, y``, using only the
    finite corners (NaN where none is finite or outside the grid; with
    ``strict``, NaN as soon as a corner that counts is NaN).

    Examples
    --------
    >>> g = np.array([[0.0, 2.0], [np.nan, 4.0]])
    >>> sample_grid(g, Affine(1, 0, 0, 0, -1, 2), [1.0, 1.5], [1.5, 0.5]).tolist()
    [1.0, 4.0]
    >>> sample_grid(g, Affine(1, 0, 0, 0, -1, 2), [1.0, 1.5], [1.0, 0.5], strict=True).tolist()
    [nan, 4.0]
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    rows, cols = values.shape
    fc = (x - transform.c) / transform.a - 0.5
    fr = (y - transform.f) / transform.e - 0.5
    inside = (fc >= -0.5) & (fc <= cols - 0.5) & (fr >= -0.5) & (fr <= rows - 0.5)
    fc, fr = np.clip(fc, 0, cols - 1), np.clip(fr, 0, rows - 1)
    c0 = np.minimum(np.floor(fc).astype(int), max(cols - 2, 0))
    r0 = np.minimum(np.floor(fr).astype(int), max(rows - 2, 0))
    c1, r1 = np.minimum(c0 + 1, cols - 1), np.minimum(r0 + 1, rows - 1)
    wc, wr = fc - c0, fr - r0
    total = np.zeros_like(x)
    weight = np.zeros_like(x)
    complete = np.ones(x.shape, bool)
    for r, c, w in ((r0, c0, (1 - wr) * (1 - wc)), (r0, c1, (1 - wr) * wc),
                    (r1, c0, wr * (1 - wc)), (r1, c1, wr * wc)):
        v = values[r, c]
        ok = np.isfinite(v) & (w > 0)
        complete &= ok | (w <= 0)
        total += np.where(ok, v * w, 0.0)
        weight += np.where(ok, w, 0.0)
    out = np.full_like(x, np.nan)
    has = inside & (weight > 1e-12) & (complete | (not strict))
    out[has] = total[has] / weight[has]
    return out


def clip_surface(x, y, base, f, triangles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a triangulated surface where the vertex field ``f`` crosses 0.

    Vertices with ``f > 0`` are inside; each triangle is cut linearly along
    its edges, crossing points shared between neighbouring triangles.

    Parameters
    ----------
    x, y, base, f : numpy.ndarray
        ``(n,)`` vertex coordinates, ground height and field.
    triangles : numpy.ndarray
        ``(m, 3)`` counter-clockwise vertex indices.

    Returns
    -------
    points : numpy.ndarray
        ``(k, 4)``: x, y, base and ``max(f, 0)`` of the inside vertices and
        the crossings (where ``f = 0``).
    triangles : numpy.ndarray
        ``(j, 3)`` counter-clockwise indices into ``points``.
    inside : numpy.ndarray of bool
        ``(k,)``: True for original vertices, False for crossings.

    Examples
    --------
    >>> x, y = np.array([0.0, 2.0, 0.0]), np.array([0.0, 0.0, 2.0])
    >>> p, t, _ = clip_surface(x, y, np.zeros(3), np.array([1.0, -1.0, -1.0]), np.array([[0, 1, 2]]))
    >>> p[:, :2].tolist(), t.tolist()
    ([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [[0, 1, 2]])
    """
    f = np.asarray(f, float)
    tri = np.asarray(triangles, np.int64)
    wet = f[tri] > 0
    n_wet = wet.sum(axis=1)
    keep_full = tri[n_wet == 3]
    # rotate partial triangles so the odd vertex (the only wet / the only dry) comes first
    part = tri[(n_wet == 1) | (n_wet == 2)]
    pw = f[part] > 0
    odd = np.where(pw.sum(axis=1) == 1, np.argmax(pw, axis=1), np.argmax(~pw, axis=1))
    idx = (odd[:, None] + np.arange(3)) % 3
    part = np.take_along_axis(part, idx, axis=1)
    a, b, c = part.T
    one_wet = f[a] > 0
    edges = np.concatenate([np.column_stack([a, b]), np.column_stack([a, c])])
    n = len(f)
    key = edges.min(axis=1) * n + edges.max(axis=1)          # one integer per undirected edge
    uniq, inv = np.unique(key, return_inverse=True)
    i, j = np.divmod(uniq, n)
    t = f[i] / (f[i] - f[j])
    cross = np.column_stack([x[i] + t * (x[j] - x[i]), y[i] + t * (y[j] - y[i]),
                             base[i] + t * (base[j] - base[i]), np.zeros(len(i))])
    ab, ac = inv[:len(part)] + n, inv[len(part):] + n
    single = np.column_stack([a, ab, ac])[one_wet]
    quad_a = np.column_stack([ab, b, c])[~one_wet]
    quad_b = np.column_stack([ab, c, ac])[~one_wet]
    points = np.concatenate([np.column_stack([x, y, base, np.maximum(f, 0)]), cross])
    faces = np.concatenate([keep_full, single, quad_a, quad_b])
    mask = np.zeros(len(points), bool)
    mask[faces.ravel()] = True
    used = np.flatnonzero(mask)
    remap = np.cumsum(mask) - 1
    return points[used], remap[faces], used < n


def grid_transform(x, y) -> Affine:
    """The affine transform of a regular grid from its cell-centre coordinates.

    Examples
    --------
    >>> grid_transform(np.array([0.5, 1.5, 2.5]), np.array([1.5, 0.5]))
    Affine(1.0, 0.0, 0.0,
           0.0, -1.0, 2.0)
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx = float(x[1] - x[0]) if x.size > 1 else 1.0
    dy = float(y[1] - y[0]) if y.size > 1 else -1.0
    return Affine(dx, 0.0, float(x[0]) - dx / 2, 0.0, dy, float(y[0]) - dy / 2)


def _terrain_grid(elevation, transform, step):
    z = np.asarray(elevation, float)[::step, ::step]
    t = Affine(transform.a * step, transform.b, transform.c, transform.d, transform.e * step,
               transform.f)
    rows, cols = z.shape
    cc, rr = np.meshgrid(np.arange(cols), np.arange(rows))
    x = t.c + (cc.ravel() + 0.5) * t.a
    y = t.f + (rr.ravel() + 0.5) * t.e
    tris = grid_triangles(np.isfinite(z), south_up=t.e > 0)
    return x, y, z.ravel(), tris


def _mesh(points_xyz, triangles, origin) -> pv.PolyData:
    if len(triangles) == 0:
        return pv.PolyData()
    local = (points_xyz - np.asarray(origin, float)).astype(np.float32)
    return pv.PolyData.from_regular_faces(local, triangles)


def water_surface(elevation, depth, transform: Affine, *, depth_transform: Affine | None = None,
                  depth_elevation=None, origin=(0.0, 0.0, 0.0), min_depth: float = 0.01,
                  step: int = 1, lift: float = 0.0) -> pv.PolyData:
    """The water of a depth grid as a smooth surface on the terrain mesh.

    Parameters
    ----------
    elevation : numpy.ndarray
        Terrain ``(rows, cols)`` (m), row 0 north, NaN for nodata.
    depth : numpy.ndarray
        Water depth (m) on the terrain grid, or on its own grid (``depth_transform``).
    transform : affine.Affine
        The terrain grid's transform.
    depth_transform : affine.Affine, optional
        The depth grid's transform when it is not the terrain grid.
    depth_elevation : numpy.ndarray, optional
        Ground of the depth grid's cells as the flood model saw it (e.g. a
        run's ``elevation``), so that the level is the model's own; by
        default the terrain at the cell centres.
    origin : tuple of float
        Local origin ``(x, y, z)`` of the output points.
    min_depth : float
        Cells shallower than this (m) are dry.
    step : int
        Use every n-th terrain row and column.
    lift : float
        Raise the water this much (m) everywhere (against z-fighting).

    Returns
    -------
    pyvista.PolyData
        Local points; point data ``depth`` (m, 0 on the shoreline) and
        ``level`` (m, absolute).

    Examples
    --------
    >>> z = np.tile(np.arange(5.0), (3, 1))        # ground rising east, 1 m per cell
    >>> h = np.clip(2.5 - z, 0, None)              # still water at level 2.5 m
    >>> w = water_surface(z, h, Affine(1, 0, 0, 0, -1, 3))
    >>> float(w.points[:, 0].max()), float(np.ptp(w.point_data["level"]))
    (3.0, 0.0)
    """
    z_cells = np.asarray(elevation, float)
    depth = np.asarray(depth, float)
    if depth_transform is None:
        if depth.shape != z_cells.shape:
            raise ValueError(f"depth has shape {depth.shape}, the terrain {z_cells.shape}: "
                             "pass depth_transform for a depth grid of its own")
        depth_transform, ground = transform, z_cells
    else:
        rows, cols = depth.shape
        cc, rr = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
        gx = depth_transform.c + cc * depth_transform.a
        gy = depth_transform.f + rr * depth_transform.e
        ground = sample_grid(z_cells, transform, gx.ravel(), gy.ravel()).reshape(depth.shape)
    if depth_elevation is not None:
        ground = np.asarray(depth_elevation, float)
        if ground.shape != depth.shape:
            raise ValueError(f"depth_elevation has shape {ground.shape}, depth {depth.shape}")
    level = np.where(np.nan_to_num(depth) > min_depth, ground + depth, np.nan)
    x, y, zt, tris = _terrain_grid(z_cells, transform, step)
    f = water_height(level, depth_transform, x, y, zt, spacing=abs(transform.a) * step,
                     level_ground=ground, min_depth=min_depth)
    pts, faces, _ = clip_surface(x, y, zt, f, tris)
    xyz = np.column_stack([pts[:, :2], pts[:, 2] + pts[:, 3] + lift])
    mesh = _mesh(xyz, faces, origin)
    if mesh.n_points:
        mesh.point_data["depth"] = pts[:, 3].astype(np.float32)
        mesh.point_data["level"] = (pts[:, 2] + pts[:, 3]).astype(np.float32)
    return mesh


def water_height(level, level_transform: Affine, x, y, ground, *, spacing: float,
                 level_ground=None, min_depth: float = 0.01) -> np.ndarray:
    """Height of the water surface above the ground at mesh vertices: the
    field whose zero crossing along each mesh edge is the shoreline.

    The level of the wet cells (NaN where dry) is extended one cell beyond
    them (dry cells next to the water take the mean level of their wet
    neighbours) and interpolated bilinearly to the vertices. A vertex is wet
    where that level is above its ground: the height is ``level - ground``.
    A dry vertex near the water gets ``level - ground`` too, below zero
    (at most -1e-6), so the level falls to the ground part-way along the
    edges leaving the water; a vertex far from any water gets -1.

    With ``level_ground`` (the ground of the level grid's cells), a dry cell
    whose ground lies below its wet neighbours' level by more than
    ``min_depth`` (a wetting front, not a bank) takes ``2 ground - level + 2
    min_depth`` instead of their level: the water then ends about half-way to
    its centre on flat ground (at the cell edge, as the grid says) and never
    reaches past it, while a bank that rises above the level (or a cell too
    shallow to count as wet) still ends the water where the ground meets the
    level.

    Parameters
    ----------
    level : numpy.ndarray
        Water level (m) of each cell of the level grid, NaN where dry.
    level_transform : affine.Affine
        The level grid's transform.
    x, y, ground : numpy.ndarray
        ``(n,)`` vertex coordinates and ground heights (m, same CRS and datum).
    spacing : float
        The mesh's vertex spacing (m): the level is extended far enough for
        every edge that leaves the water to find it.
    level_ground : numpy.ndarray, optional
        Ground (m) of each cell of the level grid.
    min_depth : float
        Cells shallower than this (m) count as dry in ``level``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 (m): positive on wet vertices, negative on dry ones.

    Examples
    --------
    >>> lev = np.array([[1.0, np.nan, np.nan]])            # one wet cell at level 1 m
    >>> water_height(lev, Affine(1, 0, 0, 0, -1, 1), [0.5, 1.5, 2.5], [0.5] * 3,
    ...              [0.5, 1.5, 1.5], spacing=1.0).round(2).tolist()
    [0.5, -0.5, -0.5]
    """
    x, y, zt = np.asarray(x, float), np.asarray(y, float), np.asarray(ground, float)
    near = _extend_one_cell(np.asarray(level, float), level_ground, min_depth)   # the edge
    eta = sample_grid(near, level_transform, x, y, strict=True)
    f = np.where(np.isfinite(eta), np.minimum(eta - zt, np.where(eta > zt, np.inf, -1e-6)), np.nan)
    # beyond, the level only places the shoreline on edges leaving the water (never wet)
    rings = 1 + int(np.ceil(float(spacing) / abs(level_transform.a)))
    far = near
    for _ in range(rings):
        far = _extend_one_cell(far)
    eta_far = sample_grid(far, level_transform, x, y)
    return np.where(np.isfinite(f), f,
                    np.where(np.isfinite(eta_far), np.minimum(eta_far - zt, -1e-6), -1.0))


def _extend_one_cell(level: np.ndarray, ground=None, min_depth: float = 0.0) -> np.ndarray:
    """Give dry cells next to wet ones the mean level of their wet neighbours,
    so the level can be interpolated up to the shoreline (with ``ground``, at
    most ``2 ground - level + 2 min_depth``: the front of water on lower or
    flat ground stops about half-way)."""
    rows, cols = level.shape
    pad = np.pad(level, 1, constant_values=np.nan)
    total = np.zeros_like(level)
    count = np.zeros_like(level)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            v = pad[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
            ok = np.isfinite(v)
            total += np.where(ok, v, 0.0)
            count += ok
    out = level.copy()
    fill = ~np.isfinite(level) & (count > 0)
    out[fill] = total[fill] / count[fill]
    if ground is not None:
        g = np.asarray(ground, float)
        if g.shape != level.shape:
            raise ValueError(f"level_ground has shape {g.shape}, the level grid {level.shape}")
        out[fill] = np.fmin(out[fill], 2 * g[fill] - out[fill] + 2 * min_depth)
    return out


def draped_surface(elevation, values, transform: Affine, *, values_transform: Affine | None = None,
                   origin=(0.0, 0.0, 0.0), threshold: float = 0.0, lift: float = 0.3,
                   step: int = 1) -> pv.PolyData:
    """A grid layer (e.g. crowd density) laid on the terrain, cut where it
    falls to ``threshold``.

    Parameters
    ----------
    elevation : numpy.ndarray
        Terrain ``(rows, cols)`` (m), row 0 north.
    values : numpy.ndarray
        The layer on the terrain grid or on its own grid (``values_transform``);
        NaN is outside.
    transform : affine.Affine
        The terrain grid's transform.
    origin : tuple of float
    threshold : float
        The layer is drawn where it exceeds this.
    lift : float
        Height (m) above the terrain.
    step : int
        Use every n-th terrain row and column.

    Returns
    -------
    pyvista.PolyData
        Local points; point data ``value`` (the layer, ``threshold`` on the cut).

    Examples
    --------
    >>> z = np.zeros((3, 5))
    >>> d = np.tile([2.0, 1.0, 0.0, 0.0, 0.0], (3, 1))     # density falling east
    >>> s = draped_surface(z, d, Affine(1, 0, 0, 0, -1, 3), threshold=0.5)
    >>> float(s.points[:, 0].max()), float(s.points[:, 2].max())
    (2.0, 0.30000001192092896)
    """
    z_cells = np.asarray(elevation, float)
    values = np.asarray(values, float)
    x, y, zt, tris = _terrain_grid(z_cells, transform, step)
    if values_transform is None:
        if values.shape != z_cells.shape:
            raise ValueError(f"values has shape {values.shape}, the terrain {z_cells.shape}: "
                             "pass values_transform for a layer grid of its own")
        v = values[::step, ::step].ravel()
    else:
        v = sample_grid(values, values_transform, x, y)
    f = np.where(np.isfinite(v), v - threshold, -1.0)
    f = np.where(f == 0, -1e-9, f)
    pts, faces, _ = clip_surface(x, y, zt, f, tris)
    mesh = _mesh(np.column_stack([pts[:, :2], pts[:, 2] + lift]), faces, origin)
    if mesh.n_points:
        mesh.point_data["value"] = (pts[:, 3] + threshold).astype(np.float32)
    return mesh
