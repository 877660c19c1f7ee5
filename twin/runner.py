"""The scenario runner: City + Scenario -> flood engine -> replay store.

:func:`run_scenario` loads the city, puts it on the flood grid, builds the
forcing (rain, drainage, river level, pumps, breach), steps the
:class:`simulations.flood.FloodModel` one output interval at a time and
appends every frame to a Zarr store as it goes. At the end it writes the
impacts, key figures, events and provenance. The store is written under a
temporary name and renamed when done; Ctrl-C stops the run cleanly, leaving a
readable run marked ``status = "partial"`` under the final name.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from tqdm.auto import tqdm

from geodata.errors import DataError
from twin import alerts, coupling
from twin.replay import FORMAT, Run, open_run
from twin.scenario import Scenario, load_scenario

__all__ = ["run_scenario", "Forcing", "build_forcing", "build_model"]

_VERSIONS = ("numpy", "numba", "xarray", "zarr", "pandas", "scipy", "shapely", "pyproj",
             "rasterio", "geopandas", "citytwin")
_TIME_VARS = ("depth", "speed", "hazard")
_FIELDS = ("max_depth", "max_speed", "max_hazard", "arrival_time", "elevation")


@dataclass
class Forcing:
    """Engine inputs derived from a scenario and its city.

    Attributes
    ----------
    rain : tuple or None
        ``(times_s, intensity_mm_h)``; intensity a series or ``(time, rows, cols)``.
    losses_mm_h : numpy.ndarray or None
        Drainage loss rate per cell.
    river : tuple or None
        ``(mask, times_s, level_m)`` for a level boundary.
    pumps : list of tuple
        ``(row, col, capacity_m3s, start_level_m)``.
    breach : numpy.ndarray or None
        The ground with the levee breach cut in.
    depth : numpy.ndarray
        Initial water depth (water bodies filled to their initial levels).
    """

    rain: tuple | None
    losses_mm_h: np.ndarray | None
    river: tuple | None
    pumps: list
    breach: np.ndarray | None
    depth: np.ndarray
    breach_time_s: float = 0.0

    def rain_at(self, times_s: np.ndarray) -> np.ndarray:
        """Mean rain intensity (mm/h) over the grid at ``times_s`` (0 without rain);
        the series is piecewise constant, as the engine reads it."""
        if self.rain is None:
            return np.zeros(len(times_s))
        t, i = self.rain
        mean = i.reshape(len(t), -1).mean(axis=1) if np.ndim(i) == 3 else np.asarray(i, float)
        k = np.searchsorted(t, times_s, side="right") - 1
        return np.where(k >= 0, mean[np.clip(k, 0, None)], 0.0)


def build_forcing(scenario: Scenario, city, grid: coupling.FloodGrid) -> Forcing:
    """Turn the scenario's forcing into engine inputs, checking every reference
    (gauges, places, water kinds) against the city.

    Raises
    ------
    DataError
        Unknown gauge, wrong kind of gauge, unknown place, location off the
        grid, no water of the river's kind; naming the scenario file and key.
    """
    src, s = scenario.source, scenario
    rain = None
    if s.rain is not None and s.rain.source == "gauges":
        t, i = coupling.rain_field(city.sensors, grid, s.start, s.duration_s,
                                   method=s.rain.interpolation, power=s.rain.power,
                                   gauges=s.rain.gauges, file=src)
        rain = (t + s.rain.delay_s, i * np.float32(s.rain.scale))
    elif s.rain is not None:
        rain = coupling.design_rain(s.rain.return_period, s.rain.duration_s,
                                    peak_ratio=s.rain.peak_ratio, step_s=s.rain.step_s,
                                    delay_s=s.rain.delay_s, scale=s.rain.scale)
    losses = None
    if s.flood.drainage_mm_h > 0:
        losses = np.where(grid.drained, s.flood.drainage_mm_h, 0.0)
    river = None
    if s.river is not None:
        if s.river.gauge is not None:
            t, level = coupling.river_level(city.sensors, s.river.gauge, s.start, s.duration_s,
                                            offset_m=s.river.offset_m, file=src)
        else:
            t = np.array([0.0, s.duration_s])
            level = np.full(2, s.river.level_m + s.river.offset_m)
        if s.river.water not in grid.water:
            raise DataError(f"key 'forcing.river.water' is {s.river.water!r} but the city has "
                            f"no water of that kind on the grid", file=src,
                            fix=f"use one of: {', '.join(sorted(grid.water)) or 'none'}")
        river = (grid.water[s.river.water], t, level)
    pumps = []
    for k, p in enumerate(s.pumps):
        if p.enabled:
            row, col = _cell(city, grid, p.at, src, f"forcing.pumps[{k}].at")
            pumps.append((row, col, p.capacity_m3s, p.start_level_m))
    breach = None
    if s.breach is not None and s.breach.enabled:
        _cell(city, grid, s.breach.at, src, "forcing.breach.at")
        xy = coupling.locate(city, s.breach.at, file=src, key="forcing.breach.at")
        breach = coupling.lower_ground(grid, xy, s.breach.width_m, s.breach.level_m)
    depth = coupling.initial_depth(grid, s.flood.initial_levels, city.sensors, s.start, file=src)
    breach_time = s.breach.time_s if breach is not None else 0.0
    return Forcing(rain, losses, river, pumps, breach, depth, breach_time)


def _cell(city, grid, at, src, key) -> tuple[int, int]:
    x, y = coupling.locate(city, at, file=src, key=key)
    row, col = grid.index(x, y)
    if not grid.contains(row, col):
        raise DataError(f"key '{key}' ({x:.0f}, {y:.0f}) lies outside the flood grid",
                        file=src, fix="give a location inside the city's terrain")
    return int(row), int(col)


def build_model(scenario: Scenario, grid: coupling.FloodGrid, forcing: Forcing):
    """A :class:`simulations.flood.FloodModel` on ``grid`` with ``forcing`` applied."""
    from simulations.flood import FloodModel
    f = scenario.flood
    opened = forcing.breach is not None and forcing.breach_time_s <= 0
    elevation = forcing.breach if opened else grid.elevation
    model = FloodModel(elevation, grid.cell_size, manning=grid.manning, blocked=grid.blocked,
                       boundaries=dict(f.boundaries), dtype=f.dtype, origin=grid.origin)
    model.depth = forcing.depth.astype(f.dtype)
    if forcing.rain is not None:
        model.set_rainfall(*forcing.rain)
    if forcing.losses_mm_h is not None:
        model.set_losses(forcing.losses_mm_h)
    if forcing.river is not None:
        model.add_level_boundary(*forcing.river)
    for row, col, capacity, level in forcing.pumps:
        model.add_pump(row, col, capacity, level)
    return model


def run_scenario(scenario: Scenario | str | os.PathLike, *, out: str | os.PathLike,
                 progress: bool = False, city=None,
                 on_frame: Callable[[int, float], None] | None = None) -> Run:
    """Run a flood scenario into a replay store.

    Parameters
    ----------
    scenario : Scenario or path-like
    out : path-like
        The run folder to write (``*.zarr``); an existing run there is replaced.
    progress : bool
        Show a progress bar (tqdm).
    city : twin.City, optional
        The city, when already loaded (default: ``twin.load_city(scenario.city)``).
    on_frame : callable, optional
        Called as ``on_frame(frame, time_s)`` after each frame is stored.

    Returns
    -------
    Run
        The complete run, opened lazily.

    Raises
    ------
    DataError
        Bad forcing references, or ``out`` is an existing folder that is not a run.
    KeyboardInterrupt
        Re-raised after an interrupted run was saved with ``status = "partial"``.

    Examples
    --------
    >>> s = "data_samples/ezhou/scenarios/demo.toml"
    >>> run = run_scenario(s, out="runs/demo.zarr")  # doctest: +SKIP
    >>> print(run.summary())  # doctest: +SKIP
    """
    wall0 = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    out = Path(out)
    _check_target(out)
    if city is None:
        from twin.manifest import load_city
        city = load_city(scenario.city)
    f = scenario.flood
    grid = coupling.flood_grid(city, f.cell_size, buildings=f.buildings,
                               manning_default=f.manning_default,
                               drained_classes=f.drained_classes)
    forcing = build_forcing(scenario, city, grid)
    model = build_model(scenario, grid, forcing)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".running", dir=out.parent))
    try:
        _begin(tmp, scenario, city, grid, model)
        done, interrupted = _step(model, tmp, scenario, grid, forcing, progress, on_frame)
        _finish(tmp, scenario, city, grid, forcing, model, done,
                "partial" if interrupted else "complete", time.perf_counter() - wall0)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if interrupted:
        if progress:
            tqdm.write(f"interrupted: partial run ({done} frames) saved to {out}",
                       file=sys.stderr)
        raise KeyboardInterrupt
    return open_run(out)


def _check_target(out: Path) -> None:
    if out.exists():
        try:
            open_run(out)
        except DataError:
            raise DataError("exists and is not a run; it would be overwritten", file=out,
                            fix="choose another output path or remove it") from None


def _begin(tmp: Path, scenario: Scenario, city, grid, model) -> None:
    root = zarr.open_group(tmp, mode="w")
    root.attrs.update(_plain({
        "format": FORMAT, "status": "running", "name": scenario.name,
        "start": scenario.start.isoformat(), "crs": city.crs.to_wkt(),
        "cell_size": grid.cell_size, "transform": list(grid.transform)[:6],
        "scenario_text": scenario.text,
        "scenario_source": None if scenario.source is None else os.fspath(
            scenario.source.resolve()),
        "frames": 0}))
    depth0 = np.asarray(model.depth, "float32")[None]
    first = xr.Dataset(
        {"depth": (("time", "y", "x"), depth0),
         "speed": (("time", "y", "x"), np.zeros_like(depth0)),
         "hazard": (("time", "y", "x"), np.zeros_like(depth0)),
         "elevation": (("y", "x"), grid.elevation.astype("float32")),
         "blocked": (("y", "x"), grid.blocked)},
        coords={"time": [0.0], "y": grid.y, "x": grid.x})
    first["time"].attrs.update(units="s", long_name="seconds since the scenario start")
    first["depth"].attrs.update(units="m")
    first["speed"].attrs.update(units="m/s")
    first["hazard"].attrs.update(units="m2/s", long_name="depth * (speed + 0.5)")
    chunks = (1, *grid.shape)
    first.to_zarr(tmp, group="flood", mode="w", consolidated=False,
                  encoding={v: {"chunks": chunks} for v in _TIME_VARS})
    root.attrs["frames"] = 1


def _step(model, tmp, scenario, grid, forcing, progress, on_frame) -> tuple[int, bool]:
    """Advance the model frame by frame, appending each to the store; a levee
    breach due during the run opens at its time. Returns ``(frames stored, interrupted)``."""
    every, total = scenario.output_every_s, scenario.duration_s
    root = zarr.open_group(tmp, mode="a")
    done, last = 1, 0.0
    breach_at = forcing.breach_time_s if forcing.breach is not None else 0.0
    with tqdm(total=scenario.n_frames, disable=not progress, unit="frame",
              desc=scenario.name[:40], file=sys.stderr) as bar:
        try:
            for k in range(1, scenario.n_frames + 1):
                until = min(k * every, total)
                if 0 < breach_at < until:
                    if breach_at > model.time:
                        model.run(breach_at, breach_at - model.time)   # maxima kept, frame not stored
                    model.set_elevation(forcing.breach)
                    breach_at = 0.0
                ds = model.run(until, every)
                ds = ds.isel(time=np.flatnonzero(ds["time"].values > last + 1e-9))
                if ds.sizes["time"] == 0:
                    continue
                _append(tmp, ds, grid)
                done += ds.sizes["time"]
                last = float(ds["time"].values[-1])
                root.attrs["frames"] = done
                bar.update(1)
                bar.set_postfix_str(f"t={last / 3600:.2f} h")
                if on_frame is not None:
                    on_frame(done - 1, last)
        except KeyboardInterrupt:
            return done, True
    return done, False


def _append(tmp: Path, ds: xr.Dataset, grid) -> None:
    ds = ds.assign_coords(y=grid.y, x=grid.x)
    frames = ds[[v for v in _TIME_VARS if v in ds]]
    frames.to_zarr(tmp, group="flood", append_dim="time", consolidated=False)
    fields = ds[[v for v in _FIELDS if v in ds]]
    if fields.data_vars:
        fields.to_zarr(tmp, group="flood", mode="a", consolidated=False)


def _truncate(tmp: Path, frames: int) -> None:
    """Cut time-dimensioned arrays back to the frames fully stored (after an interrupt
    in the middle of an append)."""
    group = zarr.open_group(tmp / "flood", mode="a")
    for _, arr in group.arrays():
        names = getattr(arr.metadata, "dimension_names", None) or ()
        if names and names[0] == "time" and arr.shape[0] > frames:
            arr.resize((frames, *arr.shape[1:]))


def _vital_ids(city) -> list[str]:
    if "use" not in city.buildings:
        return []
    return list(city.buildings.loc[city.buildings["use"].isin(alerts.VITAL_USES), "id"])


def _finish(tmp, scenario, city, grid, forcing, model, frames, status, wall_s) -> None:
    _truncate(tmp, frames)
    flood = xr.open_zarr(tmp, group="flood", consolidated=False)
    imp = coupling.impacts(flood, grid, city, scenario.impacts, start=scenario.start)
    times_s = imp.kpis["time_s"].to_numpy(float)
    kpis = imp.kpis.assign(rain_mm_h=forcing.rain_at(times_s),
                           sensors_in_alarm=alerts.sensors_in_alarm(city.sensors,
                                                                    imp.kpis["time"]))
    end = scenario.start + pd.Timedelta(seconds=float(times_s[-1]) if len(times_s) else 0.0)
    events = alerts.scenario_events(
        alerts.sensor_events(city.sensors, scenario.start, end),
        alerts.impact_events(imp, scenario.impacts, vital=_vital_ids(city)),
        alerts.hazard_events(kpis, scenario.impacts, places=city.places))
    imp.to_dataset().to_zarr(tmp, group="impacts", mode="w", consolidated=False)
    (kpis.drop(columns=["time"]).set_index("time_s").rename_axis("time").to_xarray()
     .to_zarr(tmp, group="kpis", mode="w", consolidated=False))
    ev = events.assign(time=events["time"].dt.tz_convert("UTC").dt.tz_localize(None))
    ev = ev.astype({c: object for c in ("kind", "severity", "where", "message")})
    xr.Dataset.from_dataframe(ev.rename_axis("event")).to_zarr(
        tmp, group="events", mode="w", consolidated=False)
    simulated = float(times_s[-1]) if len(times_s) else 0.0
    root = zarr.open_group(tmp, mode="a")
    root.attrs["provenance"] = _plain(_provenance(scenario, city, model, grid, wall_s,
                                                  simulated, frames))
    root.attrs["status"] = status


def _provenance(scenario, city, model, grid, wall_s, simulated_s, frames) -> dict:
    versions = {"python": platform.python_version()}
    for name in _VERSIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "created_utc": pd.Timestamp.now("UTC").isoformat(),
        "versions": versions,
        "scenario_sha256": hashlib.sha256(scenario.text.encode()).hexdigest(),
        "inputs_sha256": _input_hashes(city.source),
        "wall_time_s": wall_s, "simulated_s": simulated_s,
        "real_time_factor": simulated_s / wall_s if wall_s > 0 else None,
        "frames": frames, "grid_shape": list(grid.shape), "cell_size_m": grid.cell_size,
        "volume_error": model.volume_error(), "engine": model.stats(),
    }


def _input_hashes(source) -> dict:
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


def _plain(obj):
    """JSON-safe copy (numpy scalars and arrays to Python)."""
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)
    return json.loads(json.dumps(obj, default=default, allow_nan=True))


def _replace(tmp: Path, out: Path) -> None:
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
