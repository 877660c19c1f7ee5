"""VTK multiblock export (``.vtm`` plus a folder of ``.vtp``) for ParaView.

Each layer of the scene becomes one named block with all its cell and point
data (``building_index``, ``rgb``, ``elevation``, ...). Points stay in local
coordinates; the float64 origin and the CRS are stored as field data
``origin`` and ``crs`` on the multiblock and on every block, so
``world = local + origin``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyvista as pv

from scenes.meshes import Scene

__all__ = ["write_vtm", "read_vtm"]


def write_vtm(scene: Scene, path: str | os.PathLike) -> Path:
    """Write a scene as a VTK multiblock file and its folder of blocks.

    Parameters
    ----------
    scene : Scene
    path : path-like
        Output ``.vtm``; the blocks go to the folder of the same stem beside
        it. Both are written under a temporary name, then renamed.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> write_vtm(city_scene(city), "out/ezhou.vtm")  # doctest: +SKIP
    PosixPath('out/ezhou.vtm')
    """
    path = Path(path).with_suffix(".vtm")
    path.parent.mkdir(parents=True, exist_ok=True)
    multi = pv.MultiBlock()
    crs = scene.crs.to_string()
    for name, block in scene.blocks.items():
        block = block.copy(deep=False)
        _georeference(block, scene.origin, crs)
        multi.append(block, name)
    _georeference(multi, scene.origin, crs)
    folder = path.with_suffix("")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}.partial") as tmp:
        multi.save(Path(tmp) / path.name)
        if folder.exists():
            shutil.rmtree(folder)
        if (Path(tmp) / folder.name).exists():
            os.replace(Path(tmp) / folder.name, folder)
        os.replace(Path(tmp) / path.name, path)
    return path


def read_vtm(path: str | os.PathLike) -> Scene:
    """Read a ``.vtm`` written by :func:`write_vtm` back into a :class:`Scene`.

    Examples
    --------
    >>> scene = read_vtm("out/ezhou.vtm")  # doctest: +SKIP
    """
    multi = pv.read(path)
    names = [multi.get_block_name(i) for i in range(multi.n_blocks)]
    blocks = {name: multi[i] for i, name in enumerate(names)}
    first = multi if "origin" in multi.field_data else next(iter(blocks.values()))
    origin = tuple(np.asarray(first.field_data["origin"], float))
    crs = str(np.asarray(first.field_data["crs"]).ravel()[0])
    return Scene(origin, crs, blocks)


def _georeference(data, origin, crs: str) -> None:
    data.field_data["origin"] = np.asarray(origin, dtype=np.float64)
    data.field_data["crs"] = np.array([crs])
