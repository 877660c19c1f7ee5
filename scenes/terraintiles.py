"""Grid layers as 3D Tiles: the terrain as a quadtree of decimated grids, and
the maximum flood depth of a run as a water surface.

Terrain: the grid is cut into blocks of at most ``tile_cells`` cells a side
(the leaves, full resolution, geometric error 0). A parent covers its four
children with every ``2**k``-th cell, and its geometric error is the largest
height difference between the full grid and that decimated grid (the
nearest kept sample), or a child's error if larger. Blocks share their edge
row and column so tiles meet without gaps.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from scenes import style
from scenes.frame import LocalFrame
from scenes.geometry import grid_triangles
from scenes.tilecontent import TileMesh, box_volume, encode_glb, smooth_normals
from scenes.water import grid_transform, water_surface

__all__ = ["terrain_tileset", "flood_tileset", "decimation_error", "DEPTH_COLORS"]

DEPTH_COLORS = ((0.0, (150, 200, 255)), (0.5, (60, 130, 230)), (2.0, (20, 60, 170)),
                (5.0, (10, 20, 90)))
"""Flood depth (m) -> colour stops."""


def decimation_error(z: np.ndarray, step: int) -> float:
    """Largest |z - z at the nearest kept sample| when keeping every ``step``-th cell.

    Examples
    --------
    >>> decimation_error(np.array([[0.0, 1.0, 2.0, 3.0]]), 2)
    1.0
    """
    if step <= 1:
        return 0.0
    rows, cols = z.shape
    r = np.minimum(np.round(np.arange(rows) / step).astype(int) * step, (rows - 1) // step * step)
    c = np.minimum(np.round(np.arange(cols) / step).astype(int) * step, (cols - 1) // step * step)
    diff = np.abs(z - z[np.ix_(r, c)])
    return float(np.nanmax(diff)) if np.isfinite(diff).any() else 0.0


def terrain_tileset(raster, frame: LocalFrame, folder: Path, tile_cells: int = 128) -> dict:
    """Write the terrain tiles into ``folder`` and return the root tile (dict).

    Examples
    --------
    >>> root = terrain_tileset(city.terrain, frame, Path("out/terrain"))  # doctest: +SKIP
    """
    if tile_cells < 2:
        raise ValueError(f"tile_cells must be >= 2, got {tile_cells}")
    folder = Path(folder)
    (folder / "tiles").mkdir(parents=True, exist_ok=True)
    rows, cols = raster.shape
    longest = max(rows, cols)
    levels = int(np.ceil(np.log2(longest / tile_cells))) if longest > tile_cells else 0
    return _terrain_node(raster, frame, folder, tile_cells, 0, 0, 0, levels)


def _terrain_node(raster, frame, folder, tile_cells, level, bx, by, levels) -> dict | None:
    span = tile_cells * 2 ** (levels - level)
    rows, cols = raster.shape
    r0, c0 = by * span, bx * span
    if r0 >= rows or c0 >= cols:
        return None
    r1, c1 = min(r0 + span + 1, rows), min(c0 + span + 1, cols)     # +1: share the edge
    step = 2 ** (levels - level)
    kids = [] if level == levels else [
        k for k in (_terrain_node(raster, frame, folder, tile_cells, level + 1, 2 * bx + i,
                                  2 * by + j, levels) for j in (0, 1) for i in (0, 1)) if k]
    block = raster.data[r0:r1, c0:c1].astype(float)
    rr = np.unique(np.append(np.arange(0, r1 - r0, step), r1 - r0 - 1))
    cc = np.unique(np.append(np.arange(0, c1 - c0, step), c1 - c0 - 1))
    z = block[np.ix_(rr, cc)]
    tris = grid_triangles(np.isfinite(z), south_up=raster.transform.e > 0)
    error = max([decimation_error(block, step)] + [k["geometricError"] for k in kids])
    xx, yy = np.meshgrid(raster.x[c0:c1][cc], raster.y[r0:r1][rr])
    enu = frame.to_enu(np.column_stack([xx.ravel(), yy.ravel(),
                                        np.nan_to_num(z.ravel(), nan=0.0)]))
    if len(tris):
        used = np.unique(tris)
        lo, hi = enu[used].min(axis=0), enu[used].max(axis=0)
    elif kids:
        boxes = np.array([k["boundingVolume"]["box"] for k in kids])
        lo = (boxes[:, :3] - np.abs(boxes[:, [3, 7, 11]])).min(axis=0)
        hi = (boxes[:, :3] + np.abs(boxes[:, [3, 7, 11]])).max(axis=0)
    else:
        return None
    tile = {"boundingVolume": {"box": box_volume(lo, hi)}, "geometricError": error,
            "refine": "REPLACE"}
    if len(tris):
        remap = np.full(len(enu), -1)
        remap[used] = np.arange(len(used))
        elevation = z.ravel()[used]
        mesh = TileMesh(enu[used], remap[tris], normals=smooth_normals(enu[used], remap[tris]),
                        colors=style.terrain_colors(elevation.astype(np.float32)))
        uri = f"tiles/{level}-{bx}-{by}.glb"
        (folder / uri).write_bytes(encode_glb(mesh))
        tile["content"] = {"uri": uri}
    if kids:
        tile["children"] = kids
    return tile


def flood_tileset(run, terrain, frame: LocalFrame, folder: Path, *, min_depth: float = 0.05,
                  max_cells: int = 512) -> dict | None:
    """Write the maximum flood depth of ``run`` as one water-surface tile.

    The surface (:func:`scenes.water.water_surface`) follows the terrain
    grid, every n-th cell so that at most ``max_cells`` lie along a side,
    and leaves out water shallower than ``min_depth`` (m).

    ``run`` is a :class:`twin.Run` (its ``flood`` group) or an xarray Dataset
    with ``max_depth(y, x)`` on the terrain grid (or with ``x``, ``y`` cell
    centre coordinates of its own), and optionally the model's ``elevation``
    of those cells. Returns None when nothing is wet.
    """
    ds = getattr(run, "flood", run)
    if ds is None or "max_depth" not in ds or terrain is None:
        return None
    depth = np.asarray(ds["max_depth"].values, float)
    kw = {}
    if "elevation" in ds and ds["elevation"].shape == depth.shape:
        kw["depth_elevation"] = np.asarray(ds["elevation"].values, float)
    if depth.shape != terrain.shape:
        kw["depth_transform"] = grid_transform(ds["x"].values, ds["y"].values)
    step = max(1, int(np.ceil(max(terrain.shape) / max_cells)))
    surface = water_surface(terrain.data, depth, terrain.transform, origin=frame.origin,
                            min_depth=min_depth, step=step, lift=0.05, **kw)
    if surface.n_cells == 0:
        return None
    world = np.asarray(surface.points, float) + np.asarray(frame.origin)
    enu = frame.to_enu(world)
    tris = np.asarray(surface.regular_faces)
    d = np.asarray(surface.point_data["depth"], float)
    stops = np.array([s for s, _ in DEPTH_COLORS])
    rgb = np.column_stack([np.interp(d, stops, [c[k] for _, c in DEPTH_COLORS])
                           for k in range(3)]).astype(np.uint8)
    mesh = TileMesh(enu, tris, normals=smooth_normals(enu, tris), colors=rgb)
    (Path(folder) / "tiles").mkdir(parents=True, exist_ok=True)
    (Path(folder) / "tiles" / "0-0-0.glb").write_bytes(encode_glb(mesh))
    return {"boundingVolume": {"box": box_volume(enu.min(axis=0), enu.max(axis=0))},
            "geometricError": 0.0, "refine": "REPLACE", "content": {"uri": "tiles/0-0-0.glb"}}
