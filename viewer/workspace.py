"""What the viewer opens: a city and its runs, from the ``twin serve`` target.

The target is a city (manifest, folder or CityJSON) or a run (a ``.zarr``
replay store). For a city the newest run made on it is opened; for a run its
scenario names the city. Cities, scenes and runs are loaded once per server
process and shared by every browser session.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import twin
from geodata.errors import DataError

__all__ = ["Workspace", "open_workspace", "find_runs", "terrain_step", "TERRAIN_CELLS"]

TERRAIN_CELLS = 60_000
"""At most this many terrain cells are sent to the browser (the view thins the grid)."""

_LOCK = threading.Lock()
_CITIES: dict[Path, tuple] = {}


@dataclass
class Workspace:
    """A city, its 3D scene, and the runs that can be replayed on it.

    Attributes
    ----------
    city : twin.City
    scene : scenes.meshes.Scene
    city_path : pathlib.Path
    runs : dict
        Label -> run folder, newest first.
    run : twin.Run or None
        The run opened first.
    problem : str or None
        Why no run is shown (missing or unreadable), for the page to say.
    """

    city: object
    scene: object
    city_path: Path
    runs: dict = field(default_factory=dict)
    run: object = None
    problem: str | None = None

    def open(self, label: str):
        """Open the run ``label`` of :attr:`runs`."""
        return twin.open_run(self.runs[label])


def find_runs(city_path: Path, where: list[Path] | None = None) -> dict[str, Path]:
    """Run stores (``*.zarr``) under ``runs/`` and ``out/`` of the working folder
    and beside the city, newest first, labelled by their folder name.

    Examples
    --------
    >>> find_runs(Path("data_samples/ezhou/city.toml"))  # doctest: +SKIP
    {'demo.zarr': PosixPath('out/demo/demo.zarr')}
    """
    roots = where if where is not None else [Path("runs"), Path("out"), city_path.parent / "runs"]
    found = {p.resolve() for root in roots if root.is_dir() for p in root.glob("**/*.zarr")
             if p.is_dir()}
    newest = sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
    return {_label(p, newest): p for p in newest}


def _label(path: Path, all_paths: list[Path]) -> str:
    same = [p for p in all_paths if p.name == path.name]
    return path.name if len(same) == 1 else f"{path.parent.name}/{path.name}"


def open_workspace(target: str | os.PathLike) -> Workspace:
    """Resolve a ``twin serve`` target into a :class:`Workspace`.

    Parameters
    ----------
    target : path-like
        City manifest / folder / CityJSON, or a run store ``*.zarr``.

    Raises
    ------
    geodata.errors.DataError
        When the target or its city cannot be read.

    Examples
    --------
    >>> ws = open_workspace("data_samples/ezhou/city.toml")  # doctest: +SKIP
    >>> ws.run is None or ws.run.path                           # doctest: +SKIP
    """
    target = Path(target)
    if not target.exists():
        raise DataError("the city or run to show does not exist", file=str(target),
                        fix="give a city manifest (city.toml) or a run (*.zarr), or run "
                            "`twin sample` / `twin demo` first")
    if target.suffix == ".zarr":
        run = twin.open_run(target)
        city_path = Path(run.scenario.city)
        city, scene = _load_city(city_path)
        runs = {target.name: target.resolve(), **find_runs(city_path)}
        return Workspace(city, scene, city_path, runs, run)
    city, scene = _load_city(target)
    runs = find_runs(target)
    ws = Workspace(city, scene, target, runs)
    if not runs:
        ws.problem = ("No run found for this city (looked in runs/ and out/). Run one with "
                      "`twin run SCENARIO` or the What-if tab; the city is shown dry.")
        return ws
    label = next(iter(runs))
    try:
        ws.run = ws.open(label)
    except (DataError, OSError, KeyError, ValueError) as exc:
        ws.problem = f"The newest run {runs[label]} could not be read: {exc}"
    return ws


def terrain_step(city) -> int:
    """Every n-th terrain cell keeps the 3D terrain under :data:`TERRAIN_CELLS`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> terrain_step(SimpleNamespace(terrain=SimpleNamespace(shape=(750, 1000))))
    4
    """
    if city.terrain is None:
        return 1
    rows, cols = city.terrain.shape
    return max(1, int(np.ceil(np.sqrt(rows * cols / TERRAIN_CELLS))))


def _load_city(path: Path) -> tuple:
    from scenes.meshes import city_scene
    key = Path(path).resolve()
    with _LOCK:
        if key not in _CITIES:
            city = twin.load_city(key)
            _CITIES[key] = (city, city_scene(city, terrain_step=terrain_step(city)))
        return _CITIES[key]
