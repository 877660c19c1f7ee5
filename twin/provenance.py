"""Provenance of a run: package versions, input hashes and JSON-safe values.

Examples
--------
>>> sorted(versions())[:2]
['citytwin', 'geopandas']
>>> plain({"a": np.float32(1.5)})
{'a': 1.5}
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import tomllib
from pathlib import Path

import numpy as np

__all__ = ["versions", "input_hashes", "plain"]

_VERSIONS = ("numpy", "numba", "xarray", "zarr", "pandas", "scipy", "shapely", "pyproj",
             "rasterio", "geopandas", "citytwin")


def versions() -> dict:
    """Python and the installed versions of the packages a run depends on."""
    out = {"python": platform.python_version()}
    for name in _VERSIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def input_hashes(source) -> dict:
    """sha256 of the city manifest and of every file it names (relative paths)."""
    if source is None or not Path(source).is_file():
        return {}
    manifest = Path(source)
    files = {manifest}
    try:
        text = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        text = {}
    for value in _strings(text):
        candidate = manifest.parent / value
        if candidate.is_file():
            files.add(candidate)
    return {os.path.relpath(f, manifest.parent): _sha256(f) for f in sorted(files)}


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def plain(obj):
    """JSON-safe copy (numpy scalars and arrays to Python)."""
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)
    return json.loads(json.dumps(obj, default=default, allow_nan=True))


