"""Binary glTF (GLB) export of a scene, for web viewers and game engines.

Each layer of the :class:`~scenes.meshes.Scene` becomes one node with one
triangle mesh coloured per vertex (glTF has no face colours, so vertices are
split where faces of different colours meet). glTF is y-up, so the local
``(x east, y north, z up)`` becomes ``(x, z, -y)``. No normals are written:
viewers then shade flat, which is right for LoD1 blocks. The scene's origin
and CRS go into ``asset.extras`` and the scene's ``extras``::

    {"crs": "EPSG:4547", "origin": [x, y, z], "up": "y", ...}

so that ``world = (gx + x0, -gz + y0, gy + z0)`` for a glTF point ``(gx, gy, gz)``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyvista as pv
import trimesh
from trimesh.exchange.gltf import export_glb

from scenes.meshes import Scene

__all__ = ["write_glb", "glb_extras"]

Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""Rotation applied to local points: glTF ``(x, y, z) = (x, z, -y)``."""


def glb_extras(scene: Scene) -> dict:
    """The georeferencing stored in the GLB: CRS, origin and axis convention.

    Examples
    --------
    >>> from scenes.meshes import Scene
    >>> glb_extras(Scene((1.0, 2.0, 3.0), 4547))["crs"]
    'EPSG:4547'
    """
    auth = scene.crs.to_authority()
    return {"crs": ":".join(auth) if auth else scene.crs.to_wkt(),
            "origin": [float(v) for v in scene.origin],
            "up": "y",
            "world_from_gltf": "x = gx + origin[0], y = -gz + origin[1], z = gy + origin[2]",
            "layers": list(scene.blocks)}


def write_glb(scene: Scene, path: str | os.PathLike) -> Path:
    """Write a scene as a GLB file, one node per layer, vertex-coloured, y-up.

    Parameters
    ----------
    scene : Scene
        Blocks with ``rgb`` cell or point data (from :mod:`scenes.meshes`);
        blocks without it are light grey.
    path : path-like
        Output ``.glb``; written to ``path.partial`` and renamed.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> write_glb(city_scene(city), "out/ezhou.glb")  # doctest: +SKIP
    PosixPath('out/ezhou.glb')
    """
    path = Path(path)
    tscene = trimesh.Scene()
    for name, block in scene.blocks.items():
        if block.n_cells:
            tscene.add_geometry(_trimesh(block), node_name=name, geom_name=name)
    extras = glb_extras(scene)

    def _finish(tree: dict) -> None:
        tree["asset"]["extras"] = extras
        for s in tree.get("scenes", []):
            s["extras"] = extras
        _set_view_targets(tree)

    data = export_glb(tscene, include_normals=False, tree_postprocessor=_finish)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def _set_view_targets(tree: dict) -> None:
    """Mark buffer views as vertex (ARRAY_BUFFER) or index (ELEMENT_ARRAY_BUFFER) data."""
    accessors, views = tree.get("accessors", []), tree.get("bufferViews", [])
    for mesh in tree.get("meshes", []):
        for prim in mesh["primitives"]:
            for acc in prim.get("attributes", {}).values():
                views[accessors[acc]["bufferView"]]["target"] = 34962
            if "indices" in prim:
                views[accessors[prim["indices"]]["bufferView"]]["target"] = 34963


def _trimesh(block: pv.PolyData) -> trimesh.Trimesh:
    """One vertex-coloured, y-up trimesh from a block."""
    if not block.is_all_triangles:
        block = block.triangulate()
    points = np.asarray(block.points, np.float32)
    faces = np.asarray(block.regular_faces, np.int64)
    if "rgb" in block.point_data:
        colors = np.asarray(block.point_data["rgb"], np.uint8)
    else:
        face_rgb = (np.asarray(block.cell_data["rgb"], np.uint8) if "rgb" in block.cell_data
                    else np.full((len(faces), 3), 200, np.uint8))
        points, faces, colors = _split_by_face_color(points, faces, face_rgb)
    rgba = np.column_stack([colors, np.full(len(colors), 255, np.uint8)])
    mesh = trimesh.Trimesh(vertices=points @ Z_UP_TO_Y_UP.T.astype(np.float32), faces=faces,
                           vertex_colors=rgba, process=False, validate=False)
    return mesh


def _split_by_face_color(points, faces, face_rgb):
    """Give each (vertex, colour) pair its own vertex, so per-face colours
    become per-vertex colours; vertices used by one colour only are kept."""
    packed = (face_rgb[:, 0].astype(np.int64) << 16) | (face_rgb[:, 1].astype(np.int64) << 8) \
        | face_rgb[:, 2].astype(np.int64)
    corner_key = faces.astype(np.int64) * (1 << 24) + packed[:, None]
    keys, inverse = np.unique(corner_key.ravel(), return_inverse=True)
    vertex = keys >> 24
    color = keys & 0xFFFFFF
    rgb = np.column_stack([(color >> 16) & 255, (color >> 8) & 255, color & 255]).astype(np.uint8)
    return points[vertex], inverse.reshape(faces.shape), rgb
