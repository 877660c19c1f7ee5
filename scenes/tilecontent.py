"""GLB tile content for 3D Tiles 1.1: a triangle mesh with per-vertex feature
ids (``EXT_mesh_features``) and a property table (``EXT_structural_metadata``).

Points come in the tile's local east-north-up frame (z up) and are written
y-up, as glTF requires (``(x, y, z) -> (x, z, -y)``); a 3D Tiles client turns
them back. Each vertex carries ``_FEATURE_ID_0``, the row of its feature in
the tile's property table, so a client can pick a building and style it by
its properties (``id``, ``height``, ``use``, ...).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["TileMesh", "encode_glb", "property_table", "smooth_normals", "box_volume"]

_FLOAT, _UINT, _UBYTE = 5126, 5125, 5121
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], np.float32)


@dataclass
class TileMesh:
    """One tile's triangles in local east-north-up metres.

    Parameters
    ----------
    positions : numpy.ndarray
        ``(n, 3)`` vertex positions, z up.
    triangles : numpy.ndarray
        ``(m, 3)`` vertex indices, counter-clockwise seen from outside.
    normals : numpy.ndarray, optional
        ``(n, 3)`` unit normals, z up.
    colors : numpy.ndarray, optional
        ``(n, 3)`` uint8 vertex colours.
    feature : numpy.ndarray, optional
        ``(n,)`` row of each vertex in ``properties``.
    properties : pandas.DataFrame, optional
        One row per feature: the property table.
    """

    positions: np.ndarray
    triangles: np.ndarray
    normals: np.ndarray | None = None
    colors: np.ndarray | None = None
    feature: np.ndarray | None = None
    properties: pd.DataFrame | None = None
    class_name: str = "feature"
    extras: dict = field(default_factory=dict)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest corner ``(3,)`` of the positions (z up)."""
        p = np.asarray(self.positions, float)
        return p.min(axis=0), p.max(axis=0)


def smooth_normals(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Unit vertex normals: area-weighted mean of the face normals around each vertex.

    Examples
    --------
    >>> p = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    >>> smooth_normals(p, np.array([[0, 1, 2]])).tolist()[0]
    [0.0, 0.0, 1.0]
    """
    p = np.asarray(positions, float)
    t = np.asarray(triangles)
    face = np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]])
    n = np.zeros_like(p)
    for k in range(3):
        np.add.at(n, t[:, k], face)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, length, out=np.tile([0.0, 0.0, 1.0], (len(n), 1)), where=length > 0)


def property_table(frame: pd.DataFrame) -> tuple[dict, dict]:
    """The ``EXT_structural_metadata`` class of a table's columns and its columns as bytes.

    Numbers become ``FLOAT64`` scalars, booleans ``BOOLEAN``, everything else
    ``STRING`` (UTF-8 with ``UINT32`` offsets).

    Returns
    -------
    cls : dict
        ``{"properties": {name: {"type": ...}}}``
    columns : dict
        name -> dict of ``values`` (and ``stringOffsets``) bytes.

    Examples
    --------
    >>> cls, cols = property_table(pd.DataFrame({"id": ["a", "bc"], "h": [1.0, 2.0]}))
    >>> cls["properties"]["id"], cols["id"]["values"]
    ({'type': 'STRING'}, b'abc')
    """
    props, columns = {}, {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_bool_dtype(values):
            props[name] = {"type": "BOOLEAN"}
            columns[name] = {"values": np.packbits(values.to_numpy(bool), bitorder="little")
                             .tobytes()}
        elif pd.api.types.is_numeric_dtype(values):
            props[name] = {"type": "SCALAR", "componentType": "FLOAT64"}
            columns[name] = {"values": values.to_numpy(np.float64).tobytes()}
        else:
            text = [("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                    .encode() for v in values]
            offsets = np.concatenate([[0], np.cumsum([len(b) for b in text])]).astype(np.uint32)
            props[name] = {"type": "STRING"}
            columns[name] = {"values": b"".join(text), "stringOffsets": offsets.tobytes()}
    return {"properties": props}, columns


def box_volume(lo, hi) -> list[float]:
    """A 3D Tiles ``box`` (centre and three half-axes) around corners ``lo``, ``hi``.

    Examples
    --------
    >>> box_volume([0, 0, 0], [2, 4, 6])
    [1.0, 2.0, 3.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0]
    """
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    c, h = (lo + hi) / 2, np.maximum((hi - lo) / 2, 0.01)
    return [float(v) for v in (*c, h[0], 0, 0, 0, h[1], 0, 0, 0, h[2])]


class _Buffer:
    """The binary chunk of a GLB, grown view by view (8-byte aligned)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict] = []

    def add(self, raw: bytes, target: int | None = None) -> int:
        self.data.extend(b"\0" * (-len(self.data) % 8))
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        self.data.extend(raw)
        self.views.append(view)
        return len(self.views) - 1


def encode_glb(mesh: TileMesh) -> bytes:
    """The GLB bytes of a tile mesh (one primitive, vertex colours, feature ids).

    Examples
    --------
    >>> m = TileMesh(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float), np.array([[0, 1, 2]]))
    >>> encode_glb(m)[:4]
    b'glTF'
    """
    buf, accessors = _Buffer(), []
    pos = (np.asarray(mesh.positions, np.float32) @ _Y_UP.T).astype(np.float32)

    def accessor(array, ctype, kind, target, normalized=False, bounds=False) -> int:
        acc = {"bufferView": buf.add(np.ascontiguousarray(array).tobytes(), target),
               "componentType": ctype, "count": len(array), "type": kind}
        if normalized:
            acc["normalized"] = True
        if bounds:
            acc["min"] = [float(v) for v in array.min(axis=0)]
            acc["max"] = [float(v) for v in array.max(axis=0)]
        accessors.append(acc)
        return len(accessors) - 1

    attributes = {"POSITION": accessor(pos, _FLOAT, "VEC3", _ARRAY_BUFFER, bounds=True)}
    if mesh.normals is not None:
        nrm = (np.asarray(mesh.normals, np.float32) @ _Y_UP.T).astype(np.float32)
        attributes["NORMAL"] = accessor(nrm, _FLOAT, "VEC3", _ARRAY_BUFFER)
    if mesh.colors is not None:
        rgba = np.column_stack([np.asarray(mesh.colors, np.uint8),
                                np.full(len(pos), 255, np.uint8)])
        attributes["COLOR_0"] = accessor(rgba, _UBYTE, "VEC4", _ARRAY_BUFFER, normalized=True)
    primitive = {"attributes": attributes, "mode": 4, "material": 0}
    tree: dict = {"asset": {"version": "2.0", "generator": "citytwin scenes.tilecontent"}}
    if mesh.feature is not None:
        fid = np.asarray(mesh.feature, np.float32)
        attributes["_FEATURE_ID_0"] = accessor(fid, _FLOAT, "SCALAR", _ARRAY_BUFFER)
        count = len(mesh.properties) if mesh.properties is not None else int(fid.max()) + 1
        ids = {"featureCount": max(count, 1), "attribute": 0}
        if mesh.properties is not None:
            ids["propertyTable"] = 0
            tree["extensions"] = {"EXT_structural_metadata": _metadata(mesh, buf)}
        primitive["extensions"] = {"EXT_mesh_features": {"featureIds": [ids]}}
        tree["extensionsUsed"] = ["EXT_mesh_features"] + (
            ["EXT_structural_metadata"] if mesh.properties is not None else [])
    tri = np.asarray(mesh.triangles, np.uint32).ravel()
    primitive["indices"] = accessor(tri, _UINT, "SCALAR", _ELEMENT_ARRAY_BUFFER)
    tree.update({
        "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [primitive]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [1.0, 1.0, 1.0, 1.0],
                                                "metallicFactor": 0.0, "roughnessFactor": 1.0}}],
        "accessors": accessors, "bufferViews": buf.views,
        "buffers": [{"byteLength": len(buf.data)}]})
    if mesh.extras:
        tree["extras"] = mesh.extras
    return _pack(tree, bytes(buf.data))


def _metadata(mesh: TileMesh, buf: _Buffer) -> dict:
    cls, columns = property_table(mesh.properties)
    table = {}
    for name, parts in columns.items():
        if not parts["values"]:        # e.g. only empty strings: leave the property out
            continue
        entry = {"values": buf.add(parts["values"])}
        if "stringOffsets" in parts:
            entry["stringOffsets"] = buf.add(parts["stringOffsets"])
            entry["stringOffsetType"] = "UINT32"
        table[name] = entry
    return {"schema": {"id": "citytwin", "classes": {mesh.class_name: cls}},
            "propertyTables": [{"class": mesh.class_name, "count": len(mesh.properties),
                                "properties": table}]}


def _pack(tree: dict, binary: bytes) -> bytes:
    text = json.dumps(tree, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(text), b"JSON")
            + text + struct.pack("<I4s", len(binary), b"BIN\0") + binary)
