"""3D Tiles 1.1 export: buildings as a quadtree of GLB tiles with HLOD,
picking and styling metadata; terrain and flood depth as extra tilesets.

Layout of the output folder::

    DIR/tileset.json             buildings (the main tileset)
    DIR/tiles/<level>-<x>-<y>.glb
    DIR/terrain/tileset.json     the terrain, a quadtree of decimated grids
    DIR/flood/tileset.json       maximum water depth of a run (when given)

Every tileset has the same root ``transform``: the east-north-up frame at
the city's scene origin, into WGS 84 ECEF (EPSG:4978), computed with pyproj
from the City CRS (:class:`scenes.frame.LocalFrame`). Tile content is glTF,
y-up as glTF requires; clients apply the standard y-up to z-up rotation.

**Buildings.** The city is split into a quadtree on the building centroids
until a tile holds at most ``max_features`` buildings. Leaves hold the full
LoD1 prisms (geometric error 0). A parent holds a box per building (the
minimum rotated rectangle of the footprint) for its ``max_features``
largest buildings; its geometric error is the largest Hausdorff distance of
a footprint from its box, the height of the tallest left-out building, or a
child's error, whichever is largest. Refinement is ``REPLACE``. Every
vertex carries a feature id (``EXT_mesh_features``) into the tile's property
table (``EXT_structural_metadata``): ``id, height, base, use`` and the other
columns of ``city.buildings`` (``name``, ``storeys``, ...), so a client can
pick a building and style it, e.g. ``${height} > 30``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geodata.errors import DataError
from scenes import style
from scenes.frame import LocalFrame
from scenes.geometry import scene_origin
from scenes.hlod import Surfaces, box_error, box_surfaces, detail_surfaces, envelopes
from scenes.terraintiles import flood_tileset, terrain_tileset
from scenes.tilecontent import TileMesh, box_volume, encode_glb

__all__ = ["write_tileset", "TileNode", "building_tree", "tile_json", "box_volume",
           "MAX_FEATURES"]

MAX_FEATURES = 2000
"""Default largest number of buildings in one tile."""


@dataclass
class TileNode:
    """One tile of the building quadtree: its address, buildings and content rows."""

    level: int
    x: int
    y: int
    rows: np.ndarray
    content_rows: np.ndarray
    leaf: bool
    error: float = 0.0
    children: list["TileNode"] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``level-x-y``: the tile's file stem."""
        return f"{self.level}-{self.x}-{self.y}"


def building_tree(xy: np.ndarray, importance: np.ndarray, *, max_features: int = MAX_FEATURES,
                  max_level: int = 12) -> TileNode:
    """A quadtree over building centroids ``xy`` (n, 2).

    A tile is split into four while it holds more than ``max_features``
    buildings (down to ``max_level``); a parent's content is its
    ``max_features`` most important buildings.

    Examples
    --------
    >>> xy = np.array([[0, 0], [10, 0], [0, 10], [10, 10.0]])
    >>> root = building_tree(xy, np.ones(4), max_features=1)
    >>> [c.name for c in root.children], root.content_rows.size
    (['1-0-0', '1-1-0', '1-0-1', '1-1-1'], 1)
    """
    if max_features < 1:
        raise DataError(f"max_features must be >= 1, got {max_features}",
                        fix="pass max_features=1 or more")
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    size = float(max(hi - lo)) or 1.0
    return _node(xy, importance, np.arange(len(xy)), lo, size * (1 + 1e-9), 0, 0, 0,
                 max_features, max_level)


def _node(xy, importance, rows, lo, size, level, x, y, max_features, max_level) -> TileNode:
    if len(rows) <= max_features or level >= max_level:
        return TileNode(level, x, y, rows, rows, True)
    half = size / 2
    local = (xy[rows] - (lo + np.array([x, y]) * size)) // half
    quad = np.clip(local, 0, 1).astype(int)
    children = []
    for qy in (0, 1):
        for qx in (0, 1):
            sub = rows[(quad[:, 0] == qx) & (quad[:, 1] == qy)]
            if len(sub):
                children.append(_node(xy, importance, sub, lo, half, level + 1, 2 * x + qx,
                                      2 * y + qy, max_features, max_level))
    top = rows[np.argsort(-importance[rows], kind="stable")[:max_features]]
    return TileNode(level, x, y, rows, np.sort(top), False, children=children)


def write_tileset(city, path, *, max_features: int = MAX_FEATURES, terrain: bool = True,
                  terrain_tile_cells: int = 128, run=None) -> Path:
    """Write a city as 3D Tiles 1.1 into the folder ``path``.

    Parameters
    ----------
    city : twin.City
    path : path-like
        Output folder; ``path/tileset.json`` is the buildings tileset.
        Call through :func:`scenes.writers.write_scene` for an all-or-nothing
        write into an existing folder.
    max_features : int
        Largest number of buildings per tile.
    terrain : bool
        Also write ``path/terrain/tileset.json``.
    terrain_tile_cells : int
        Largest number of terrain cells along a terrain tile's side.
    run : twin.Run or xarray.Dataset, optional
        Also write its flood ``max_depth`` as ``path/flood/tileset.json``.

    Returns
    -------
    pathlib.Path
        The folder.

    Examples
    --------
    >>> write_tileset(city, "out/ezhou-3dtiles")  # doctest: +SKIP
    PosixPath('out/ezhou-3dtiles')
    """
    path = Path(path)
    frame = LocalFrame.at(city.crs, scene_origin(city))
    (path / "tiles").mkdir(parents=True, exist_ok=True)
    if len(city.buildings):
        root = _buildings_root(city, frame, path, max_features)
    else:
        root = {"boundingVolume": box_volume(*_frame_bounds(city, frame)), "geometricError": 0.0}
        root["boundingVolume"] = {"box": root["boundingVolume"]}
    _write_json(path / "tileset.json", tile_json(root, frame, city, "buildings"))
    if terrain and city.terrain is not None and np.isfinite(city.terrain.data).any():
        t_root = terrain_tileset(city.terrain, frame, path / "terrain", terrain_tile_cells)
        _write_json(path / "terrain" / "tileset.json", tile_json(t_root, frame, city, "terrain"))
    if run is not None:
        f_root = flood_tileset(run, city.terrain, frame, path / "flood")
        if f_root is not None:
            _write_json(path / "flood" / "tileset.json", tile_json(f_root, frame, city, "flood"))
    return path


def tile_json(root: dict, frame: LocalFrame, city, layer: str) -> dict:
    """The tileset document around a root tile: asset, transform, tileset metadata.

    Examples
    --------
    >>> f = LocalFrame.at(4547, (585000.0, 3363000.0, 0.0))
    >>> from types import SimpleNamespace
    >>> t = tile_json({"boundingVolume": {"box": box_volume([0, 0, 0], [1, 1, 1])},
    ...                "geometricError": 0.0}, f, SimpleNamespace(name="c", crs=f.crs), "buildings")
    >>> t["asset"]["version"], len(t["root"]["transform"])
    ('1.1', 16)
    """
    root = {**root, "transform": frame.transform}
    root.setdefault("refine", "REPLACE")
    half = np.asarray(root["boundingVolume"]["box"][3:], float).reshape(3, 3)
    diagonal = float(np.linalg.norm(half.sum(axis=0))) * 2
    auth = frame.crs.to_authority()
    return {
        "asset": {"version": "1.1", "generator": "citytwin scenes.tiles3d"},
        "schema": {"id": "citytwin_tileset", "classes": {"layer": {"properties": {
            "city": {"type": "STRING"}, "layer": {"type": "STRING"}, "crs": {"type": "STRING"},
            "origin": {"type": "SCALAR", "componentType": "FLOAT64", "array": True,
                       "count": 3}}}}},
        "metadata": {"class": "layer", "properties": {
            "city": str(getattr(city, "name", "")), "layer": layer,
            "crs": ":".join(auth) if auth else frame.crs.to_wkt(),
            "origin": [float(v) for v in frame.origin]}},
        "geometricError": max(diagonal, float(root["geometricError"])),
        "root": root,
    }


# -- buildings ------------------------------------------------------------------------
def _buildings_root(city, frame: LocalFrame, folder: Path, max_features: int) -> dict:
    b = city.buildings
    rectangles = envelopes(b)
    detail, boxes = detail_surfaces(b), box_surfaces(b, rectangles)
    enu = {"detail": frame.to_enu(detail.positions), "box": frame.to_enu(boxes.positions)}
    lo, hi = _row_bounds(detail, enu["detail"])
    centre = shapely.centroid(b.geometry.values)
    xy = frame.to_enu(np.column_stack([shapely.get_x(centre), shapely.get_y(centre),
                                       np.full(len(b), frame.origin[2])]))[:, :2]
    xy = np.where(np.isfinite(xy), xy, 0.0)
    height = b["height"].to_numpy(float)
    tree = building_tree(xy, shapely.area(b.geometry.values) * height, max_features=max_features)
    table = _properties(b)
    uses = b["use"] if "use" in b else np.full(len(b), "other")
    rgb = style.colors_for(uses, style.BUILDING_USE_COLORS)
    simplify = box_error(b, rectangles)
    parts = {"detail": detail, "box": boxes}

    def emit(node: TileNode) -> dict:
        kids = [emit(c) for c in node.children]
        kind = "detail" if node.leaf else "box"
        mesh = _tile_mesh(parts[kind], enu[kind], node.content_rows, table, rgb)
        if node.leaf:
            node.error = 0.0
        else:
            left_out = np.setdiff1d(node.rows, node.content_rows, assume_unique=True)
            node.error = float(max([simplify[node.content_rows].max(initial=0.0),
                                    height[left_out].max(initial=0.0)]
                                   + [k["geometricError"] for k in kids]))
        tile = {"boundingVolume": {"box": box_volume(lo[node.rows].min(axis=0),
                                                     hi[node.rows].max(axis=0))},
                "geometricError": node.error, "refine": "REPLACE"}
        if mesh is not None:
            uri = f"tiles/{node.name}.glb"
            (folder / uri).write_bytes(encode_glb(mesh))
            tile["content"] = {"uri": uri}
        if kids:
            tile["children"] = kids
        return tile

    return emit(tree)


def _tile_mesh(surfaces: Surfaces, enu: np.ndarray, rows, table: pd.DataFrame,
               rgb: np.ndarray) -> TileMesh | None:
    vertex, feature, triangles, _ = surfaces.select(rows)
    if len(triangles) == 0:
        return None
    used = np.unique(feature)
    if len(used) < len(rows):              # buildings without triangles: drop their rows
        remap = np.full(len(rows), -1)
        remap[used] = np.arange(len(used))
        feature, rows = remap[feature], np.asarray(rows)[used]
    return TileMesh(enu[vertex], triangles, normals=surfaces.normals[vertex],
                    colors=rgb[rows][feature], feature=feature,
                    properties=table.iloc[rows].reset_index(drop=True), class_name="building")


def _row_bounds(surfaces: Surfaces, enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest ENU corner of each building (NaN-free; empty rows get +-inf)."""
    n = surfaces.n_buildings
    lo, hi = np.full((n, 3), np.inf), np.full((n, 3), -np.inf)
    start = surfaces.vertex_start
    has = start[1:] > start[:-1]
    if has.any():
        lo[has] = np.minimum.reduceat(enu, start[:-1][has], axis=0)
        hi[has] = np.maximum.reduceat(enu, start[:-1][has], axis=0)
    return lo, hi


def _properties(buildings) -> pd.DataFrame:
    """The property table of the buildings: every column but the geometry."""
    table = pd.DataFrame(buildings.drop(columns=buildings.geometry.name))
    if "id" not in table:
        table.insert(0, "id", buildings.index.astype(str))
    for name in table.columns:
        if not (pd.api.types.is_numeric_dtype(table[name])
                or pd.api.types.is_bool_dtype(table[name])):
            table[name] = table[name].astype(str)
    return table


def _frame_bounds(city, frame: LocalFrame):
    xmin, ymin, xmax, ymax = city.bounds
    z = frame.origin[2]
    pts = frame.to_enu([[xmin, ymin, z], [xmax, ymax, z]])
    return pts.min(axis=0), pts.max(axis=0)


def _write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(doc, separators=(",", ":")))
    os.replace(tmp, path)
