"""The scenario runner: one clock for every engine of a scenario.

:func:`run_scenario` loads the city, builds one adapter per engine named by the
scenario (:mod:`twin.engines`), and steps them together: at each exchange time
every adapter pulls what it needs from the engines before it (flood ->
traffic -> crowd), then every engine advances to the next time; at each output
time one frame per engine is appended to its Zarr group. At the end the
adapters turn their frames into KPIs, events and extra groups, which are
merged, and the run records provenance (versions, input hashes, each engine's
balance and statistics).

The store is written under a temporary name and renamed when done
(:mod:`twin.lifecycle`): Ctrl-C, SIGTERM or SIGHUP leave a readable run marked
``status = "partial"``, and a complete run is never replaced by a partial one.
The runner names no engine.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from tqdm.auto import tqdm

from twin import alerts
from twin.engines import Adapter, adapters
from twin.lifecycle import RunInterrupted, RunSlot, interruptible, shielded
from twin.provenance import input_hashes, plain, versions
from twin.replay import CLOCK, FORMAT, Run, chunk_counts, open_run, run_status
from twin.scenario import Scenario, load_scenario

__all__ = ["run_scenario", "clock_times"]


def clock_times(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """The runner's clock: every time the engines stop at, and which of them are outputs.

    Examples
    --------
    >>> t, out = clock_times(scenario)        # doctest: +SKIP
    """
    total, every = scenario.duration_s, scenario.output_every_s
    outputs = np.append(np.arange(1, scenario.n_frames) * every, total)
    stops = outputs
    if scenario.exchange_every_s:
        ex = np.arange(1, int(np.ceil(total / scenario.exchange_every_s))) \
            * scenario.exchange_every_s
        stops = np.union1d(outputs, ex[ex < total])
    return stops, np.isin(stops, outputs)


def run_scenario(scenario: Scenario | str | os.PathLike, *, out: str | os.PathLike,
                 progress: bool = False, city=None,
                 on_frame: Callable[[int, float], None] | None = None) -> Run:
    """Run a scenario (any of the registered engines, on one clock) into a replay store.

    Parameters
    ----------
    scenario : Scenario or path-like
    out : path-like
        The run folder to write (``*.zarr``). An existing complete run there
        is replaced only when the new run completes.
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
        Bad references in the scenario, ``out`` is not a run, or another process
        writes it.
    RunInterrupted
        (a :class:`KeyboardInterrupt`) after an interrupted run was saved as partial.

    Examples
    --------
    >>> s = "data_samples/ezhou/scenarios/demo.toml"
    >>> run = run_scenario(s, out="runs/demo.zarr")  # doctest: +SKIP
    >>> print(run.summary())  # doctest: +SKIP
    """
    wall0 = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if city is None:
        from twin.manifest import load_city
        city = load_city(scenario.city)
    known = adapters()
    engines = [known[name](scenario, city) for name in known if name in scenario.engines]
    with interruptible(), RunSlot(out, is_run=run_status) as slot:
        _begin(slot.tmp, scenario, city, engines)
        frames, interrupted = 1, False
        try:
            frames = _step(slot.tmp, scenario, engines, progress, on_frame)
        except KeyboardInterrupt:
            interrupted = True
            frames = int(zarr.open_group(slot.tmp, mode="r").attrs["frames"])
        with shielded():
            _finish(slot.tmp, scenario, city, engines, frames,
                    "partial" if interrupted else "complete", time.perf_counter() - wall0)
            final = slot.commit(complete=not interrupted)
    if interrupted:
        kept = Path(out) if final != Path(out) else None
        raise RunInterrupted(final, frames, kept)
    return open_run(final)


def _begin(tmp: Path, scenario: Scenario, city, engines: list[Adapter]) -> None:
    root = zarr.open_group(tmp, mode="w")
    first = engines[0]
    grid = getattr(first, "grid", None)
    root.attrs.update(plain({
        "format": FORMAT, "status": "running", "name": scenario.name,
        "start": scenario.start.isoformat(), "crs": city.crs.to_wkt(),
        "engines": [a.name for a in engines],
        "cell_size": None if grid is None else grid.cell_size,
        "scenario_text": scenario.text,
        "scenario_source": None if scenario.source is None else os.fspath(
            scenario.source.resolve()),
        "frames": 0}))
    _clock(tmp, 0.0, mode="w")
    for a in engines:
        frame = a.frame().expand_dims(time=[0.0])
        frame["time"].attrs.update(units="s", long_name="seconds since the scenario start")
        static = a.static()
        ds = xr.merge([frame, static, a.result()], compat="override")
        ds.attrs.update(static.attrs)
        root.attrs[f"{a.name}_attrs"] = plain(static.attrs)
        ds.to_zarr(tmp, group=a.name, mode="w", consolidated=False,
                   encoding=a.chunks(frame))
    root.attrs["frames"] = 1


def _clock(tmp: Path, t: float, mode: str = "a") -> None:
    ds = xr.Dataset({"frame": ("time", [0])}, coords={"time": [t]})
    if mode == "w":
        ds["time"].attrs.update(units="s", long_name="seconds since the scenario start")
        ds.to_zarr(tmp, group=CLOCK, mode="w", consolidated=False)
    else:
        ds.to_zarr(tmp, group=CLOCK, append_dim="time", consolidated=False)


def _step(tmp: Path, scenario: Scenario, engines: list[Adapter], progress, on_frame) -> int:
    """Advance all engines on one clock, storing a frame of each at every output time."""
    root = zarr.open_group(tmp, mode="a")
    by_name = {a.name: a for a in engines}
    stops, is_output = clock_times(scenario)
    done = 1
    with tqdm(total=scenario.n_frames, disable=not progress, unit="frame",
              desc=scenario.name[:40], file=sys.stderr) as bar:
        for until, output in zip(stops, is_output):
            if scenario.coupled:
                for a in engines:
                    a.exchange(by_name)
            for a in engines:
                a.advance(float(until))
            if not output:
                continue
            for a in engines:
                frame = a.frame().expand_dims(time=[float(until)])
                frame.to_zarr(tmp, group=a.name, append_dim="time", consolidated=False)
                a.result().to_zarr(tmp, group=a.name, mode="a", consolidated=False)
            _clock(tmp, float(until))
            done += 1
            root.attrs["frames"] = done
            bar.update(1)
            bar.set_postfix_str(f"t={until / 3600:.2f} h")
            if on_frame is not None:
                on_frame(done - 1, float(until))
    return done


def _truncate(tmp: Path, group: str, frames: int) -> None:
    """Cut time-dimensioned arrays back to the frames fully stored (after an interrupt
    in the middle of an append)."""
    g = zarr.open_group(tmp / group, mode="a")
    for _, arr in g.arrays():
        names = getattr(arr.metadata, "dimension_names", None) or ()
        if names and names[0] == "time" and arr.shape[0] > frames:
            arr.resize((frames, *arr.shape[1:]))


def _finish(tmp: Path, scenario, city, engines: list[Adapter], frames: int, status: str,
            wall_s: float) -> None:
    _truncate(tmp, CLOCK, frames)
    kpis, events, engine_prov, groups = None, [], {}, []
    root = zarr.open_group(tmp, mode="a")
    for a in engines:
        _truncate(tmp, a.name, frames)
        zarr.open_group(tmp / a.name, mode="a").attrs.update(root.attrs.get(f"{a.name}_attrs", {}))
        outcome = a.finish(xr.open_zarr(tmp, group=a.name, consolidated=False))
        for name, ds in outcome.groups.items():
            ds.to_zarr(tmp, group=name, mode="w", consolidated=False)
            groups.append(name)
        k = outcome.kpis.set_index("time_s")
        kpis = k if kpis is None else kpis.join(k.add_suffix(f"_{a.name}") if set(k) & set(kpis)
                                                else k, how="outer")
        events.append(outcome.events.assign(engine=a.name))
        engine_prov[a.name] = a.provenance()
    (kpis.rename_axis("time").to_xarray()
     .to_zarr(tmp, group="kpis", mode="w", consolidated=False))
    ev = alerts.scenario_events(*events)
    ev = ev.assign(time=ev["time"].dt.tz_convert("UTC").dt.tz_localize(None))
    ev = ev.astype({c: object for c in ("kind", "severity", "where", "message", "engine")})
    xr.Dataset.from_dataframe(ev.rename_axis("event")).to_zarr(
        tmp, group="events", mode="w", consolidated=False)
    simulated = float(kpis.index.max()) if len(kpis) else 0.0
    root.attrs["provenance"] = plain({
        "created_utc": pd.Timestamp.now("UTC").isoformat(), "versions": versions(),
        "scenario_sha256": hashlib.sha256(scenario.text.encode()).hexdigest(), "inputs_sha256": input_hashes(city.source),
        "wall_time_s": wall_s, "simulated_s": simulated,
        "real_time_factor": simulated / wall_s if wall_s > 0 else None,
        "frames": frames, "engines": engine_prov})
    root.attrs["groups"] = groups
    root.attrs["chunks"] = chunk_counts(tmp)
    root.attrs["status"] = status

