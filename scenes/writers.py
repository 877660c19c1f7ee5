"""The registry of scene writers: one entry per export format.

A format maps to a :class:`Writer`: the file suffixes it accepts (none for a
folder output such as 3D Tiles) and a function ``write(city, path, **opts)``.
:func:`write_scene` checks the suffix, lets the writer fill a temporary
folder beside the target and only then moves the result into place, so a
failed export leaves neither half-written files nor ``.partial`` names, and
an existing output stays as it was. The command line (``twin export``) and
``twin demo`` use this registry; a new format is one :func:`register` call.

Examples
--------
>>> sorted(formats())
['3dtiles', 'cityjson', 'glb', 'vtm']
>>> formats()["cityjson"]
('.city.json', '.json')
>>> write_scene(city, "out/ezhou.glb", "glb")  # doctest: +SKIP
PosixPath('out/ezhou.glb')
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from geodata.errors import DataError

__all__ = ["Writer", "WRITERS", "register", "formats", "default_path", "write_scene"]


@dataclass(frozen=True)
class Writer:
    """One export format.

    Parameters
    ----------
    name : str
        The format name, e.g. ``"glb"``.
    suffixes : tuple of str
        Accepted file suffixes, the first being the default; empty for a
        format written as a folder.
    write : callable
        ``write(city, path, **opts) -> Path``; ``path`` has the right suffix
        and its folder exists.
    description : str
        One line for help texts.
    marker : str, optional
        For a folder format: the file every output folder holds (e.g.
        ``tileset.json``). A non-empty folder without it is not replaced.
    """

    name: str
    suffixes: tuple[str, ...]
    write: Callable[..., Path]
    description: str = ""
    marker: str | None = None

    @property
    def is_folder(self) -> bool:
        """True when the format is written as a folder (no suffix)."""
        return not self.suffixes


WRITERS: dict[str, Writer] = {}
"""Format name -> :class:`Writer`."""


def register(name: str, suffixes, write: Callable[..., Path], description: str = "",
             marker: str | None = None) -> Writer:
    """Add (or replace) an export format.

    Examples
    --------
    >>> w = register("txt", (".txt",), lambda city, path: Path(path), "a test format")
    >>> formats()["txt"]
    ('.txt',)
    >>> del WRITERS["txt"]
    """
    writer = Writer(name, tuple(s.lower() for s in suffixes), write, description, marker)
    WRITERS[name] = writer
    return writer


def formats() -> dict[str, tuple[str, ...]]:
    """Format name -> accepted suffixes (empty for folder outputs).

    Examples
    --------
    >>> formats()["glb"]
    ('.glb',)
    """
    return {name: w.suffixes for name, w in WRITERS.items()}


def default_path(fmt: str, folder, stem: str) -> Path:
    """Where ``fmt`` output named ``stem`` goes in ``folder``.

    Examples
    --------
    >>> default_path("cityjson", "out", "ezhou").as_posix()
    'out/ezhou.city.json'
    >>> default_path("3dtiles", "out", "ezhou").as_posix()
    'out/ezhou-3dtiles'
    """
    writer = _writer(fmt)
    return Path(folder) / (stem + (writer.suffixes[0] if writer.suffixes else f"-{fmt}"))


def write_scene(city, path, fmt: str, **opts) -> Path:
    """Export ``city`` as ``fmt`` to ``path``, all or nothing.

    Parameters
    ----------
    city : twin.City
    path : path-like
        The output file (with one of the format's suffixes) or folder.
    fmt : str
        A name from :func:`formats`.
    **opts
        Passed to the format's writer (e.g. ``terrain_step`` for glb/vtm,
        ``terrain`` for cityjson, ``max_features`` for 3dtiles).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        For an unknown format or a suffix that does not fit it.

    Examples
    --------
    >>> write_scene(city, "out/ezhou.vtm", "vtm")  # doctest: +SKIP
    PosixPath('out/ezhou.vtm')
    """
    writer = _writer(fmt)
    path = Path(path)
    _check_suffix(writer, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.partial-") as tmp:
        tmp = Path(tmp)
        writer.write(city, tmp / path.name, **opts)
        made = sorted(p for p in tmp.iterdir() if not p.name.endswith(".partial"))
        if not any(p.name == path.name for p in made):
            raise RuntimeError(f"the {fmt} writer did not write {path.name}")
        old = tmp / ".replaced"
        old.mkdir()
        for entry in made:
            target = path.parent / entry.name
            if target.is_dir() and not target.is_symlink():
                os.replace(target, old / entry.name)
            os.replace(entry, target)
    return path


def _writer(fmt: str) -> Writer:
    if fmt not in WRITERS:
        raise DataError(f"unknown export format {fmt!r}", fix=f"choose among {sorted(WRITERS)}")
    return WRITERS[fmt]


def _check_suffix(writer: Writer, path: Path) -> None:
    name = path.name.lower()
    if writer.is_folder:
        taken = {s for w in WRITERS.values() for s in w.suffixes} | {".json"}
        if any(name.endswith(s) for s in taken):
            raise DataError(f"{writer.name} is written as a folder, not a {path.suffix} file",
                            file=path, fix=f"give a folder name, e.g. {path.with_suffix('')}")
        if path.is_file():
            raise DataError(f"{writer.name} is written as a folder but this is a file",
                            file=path, fix="choose a new folder name or remove the file")
        if (path.is_dir() and any(path.iterdir()) and writer.marker
                and not (path / writer.marker).exists()):
            raise DataError(f"the folder exists and holds no {writer.marker}: it is not a "
                            f"{writer.name} export and would be replaced", file=path,
                            fix="choose a new or empty folder")
        return
    if not any(name.endswith(s) for s in writer.suffixes):
        raise DataError(f"the file name does not end in {' or '.join(writer.suffixes)} "
                        f"as the {writer.name} format needs", file=path,
                        fix=f"name it e.g. {path.with_suffix('').name}{writer.suffixes[0]}")
    if path.is_dir():
        raise DataError(f"{writer.name} is written as a file but this is a folder", file=path,
                        fix="choose another name or remove the folder")


# -- the formats ------------------------------------------------------------
def _glb(city, path: Path, *, layers=None, terrain_step: int = 1) -> Path:
    from scenes.gltf import write_glb
    return write_glb(_scene(city, layers, terrain_step), path)


def _vtm(city, path: Path, *, layers=None, terrain_step: int = 1) -> Path:
    from scenes.vtk import write_vtm
    return write_vtm(_scene(city, layers, terrain_step), path)


def _cityjson(city, path: Path, *, terrain: bool = True) -> Path:
    from scenes.cityjson import write_cityjson
    return write_cityjson(city, path, terrain=terrain)


def _tiles3d(city, path: Path, **opts) -> Path:
    from scenes.tiles3d import write_tileset
    return write_tileset(city, path, **opts)


def _scene(city, layers, terrain_step):
    from scenes.meshes import LAYERS, city_scene
    return city_scene(city, layers=LAYERS if layers is None else layers,
                      terrain_step=terrain_step)


register("glb", (".glb",), _glb, "binary glTF, one node per layer, y-up")
register("vtm", (".vtm",), _vtm, "VTK multiblock for ParaView (.vtm and a folder of .vtp)")
register("cityjson", (".city.json", ".json"), _cityjson, "CityJSON 2.0, LoD1 buildings")
register("3dtiles", (), _tiles3d, "3D Tiles 1.1 folder (tileset.json and GLB tiles)",
         marker="tileset.json")
