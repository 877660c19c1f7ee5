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

__all__ = ["Workspace", "RunCatalog", "open_workspace", "find_runs", "default_runs_dir",
           "terrain_step", "TERRAIN_CELLS"]

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
    runs_dir : pathlib.Path or None
        Where what-if runs go (``twin serve --runs``).
    catalog : RunCatalog or None
        The server-wide list of runs of this city, which every session follows.
    """

    city: object
    scene: object
    city_path: Path
    runs: dict = field(default_factory=dict)
    run: object = None
    problem: str | None = None
    runs_dir: Path | None = None
    catalog: "RunCatalog | None" = None

    def open(self, label: str):
        """Open the run ``label`` of :attr:`runs`."""
        return twin.open_run(self.runs[label])


class RunCatalog:
    """The runs of one city known to this server, shared by every browser session:
    a run added by one session's what-if is offered in all of them.

    Examples
    --------
    >>> cat = RunCatalog({})
    >>> seen = []
    >>> cat.subscribe(seen.append)
    >>> cat.add(Path("/tmp/whatif.zarr"))
    'whatif.zarr'
    >>> list(seen[0])
    ['whatif.zarr']
    """

    def __init__(self, runs: dict[str, Path]) -> None:
        self.runs = dict(runs)
        self._subscribers: list = []
        self._lock = threading.Lock()

    def subscribe(self, callback, doc=None) -> None:
        """Call ``callback(runs)`` whenever a run is added (on ``doc``'s loop when given)."""
        with self._lock:
            self._subscribers.append((callback, doc))

    def unsubscribe(self, doc) -> None:
        """Forget the subscribers of a closed session's ``doc``."""
        with self._lock:
            self._subscribers = [(c, d) for c, d in self._subscribers if d is not doc]

    def add(self, path: Path) -> str:
        """Add a run folder (newest first); returns its label."""
        path = Path(path).resolve()
        with self._lock:
            paths = [path] + [p for p in self.runs.values() if Path(p).resolve() != path]
            self.runs = {_label(p, paths): p for p in paths}
            label = next(k for k, v in self.runs.items() if v == path)
            subscribers = list(self._subscribers)
        for callback, doc in subscribers:
            if doc is None:
                callback(dict(self.runs))
            else:
                doc.add_next_tick_callback(lambda c=callback, r=dict(self.runs): c(r))
        return label


_CATALOGS: dict[Path, RunCatalog] = {}


def default_runs_dir(target: Path) -> Path:
    """Where what-if runs go without ``--runs``: beside the run shown, or the
    ``runs`` folder beside the city (never the working directory).

    Examples
    --------
    >>> default_runs_dir(Path("/data/out/storm.zarr"))
    PosixPath('/data/out')
    >>> default_runs_dir(Path("/data/city/city.toml"))
    PosixPath('/data/city/runs')
    """
    target = Path(target).absolute()
    return target.parent if target.suffix == ".zarr" else \
        (target if target.is_dir() else target.parent) / "runs"


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


def open_workspace(target: str | os.PathLike, runs_dir: str | os.PathLike | None = None
                   ) -> Workspace:
    """Resolve a ``twin serve`` target into a :class:`Workspace`.

    Parameters
    ----------
    target : path-like
        City manifest / folder / CityJSON, or a run store ``*.zarr``.
    runs_dir : path-like, optional
        Where what-if runs go; also searched for runs. Default
        :func:`default_runs_dir`.

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
    runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir(target)
    if target.suffix == ".zarr":
        run = twin.open_run(target)
        city_path = Path(run.scenario.city)
        city, scene = _load_city(city_path)
        catalog = _catalog(city_path, runs_dir, first=target)
        return Workspace(city, scene, city_path, dict(catalog.runs), run, runs_dir=runs_dir,
                         catalog=catalog)
    city, scene = _load_city(target)
    catalog = _catalog(target, runs_dir)
    runs = dict(catalog.runs)
    ws = Workspace(city, scene, target, runs, runs_dir=runs_dir, catalog=catalog)
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


def _catalog(city_path: Path, runs_dir: Path, first: Path | None = None) -> RunCatalog:
    """The server's catalog of the city's runs (made on first use)."""
    key = Path(city_path).resolve()
    with _LOCK:
        if key not in _CATALOGS:
            roots = [Path("runs"), Path("out"), Path(city_path).parent / "runs", runs_dir]
            found = find_runs(Path(city_path), roots)
            if first is not None:
                first = Path(first).resolve()
                found = {first.name: first, **{k: v for k, v in found.items() if v != first}}
            _CATALOGS[key] = RunCatalog(found)
        catalog = _CATALOGS[key]
    if first is not None and Path(first).resolve() not in [Path(p).resolve()
                                                           for p in catalog.runs.values()]:
        catalog.add(first)
    return catalog


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
