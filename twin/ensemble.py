"""Ensembles: many members of a scenario on dask.distributed, reduced to probabilities.

:func:`run_ensemble` samples the members (:mod:`twin.variation`), sends the
city once to every worker, runs each member there (a normal run into the
worker's scratch folder), and reduces it on the worker to what the ensemble
keeps: its KPIs (peak and final values) and indicators of exceedance: water
deeper than each threshold per cell, buildings flooded, roads closed, people
per exit. The indicators are summed on the workers; the client stores one
Zarr with the member table, the probabilities and provenance. A member that
fails is retried once, then reported in the member table (``status``,
``error``), never dropped silently: probabilities count the members that ran.

Examples
--------
>>> ens = run_ensemble("data_samples/ezhou/scenarios/demo.toml", members=20,
...                    vary=["rain_scale=0.5:1.5"], out="runs/demo-ens.zarr")  # doctest: +SKIP
>>> ens.probability["depth_exceedance"].sel(threshold=0.3).plot()              # doctest: +SKIP
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import zarr

from geodata.errors import DataError
from twin.lifecycle import RunSlot, interruptible, shielded
from twin.provenance import plain, versions
from twin.scenario import Scenario, load_scenario
from twin.variation import member_scenario, parse_variations, sample

__all__ = ["run_ensemble", "open_ensemble", "is_ensemble", "Ensemble", "reduce_member",
           "THRESHOLDS"]

FORMAT = "citytwin-ensemble"
THRESHOLDS = (0.1, 0.3, 0.5, 1.0)
"""Depths (m) whose exceedance probability is kept per cell."""


def reduce_member(run, thresholds=THRESHOLDS) -> dict:
    """What an ensemble keeps of one run: KPI peaks and finals, and exceedance indicators.

    Returns
    -------
    dict
        ``kpis`` (dict), and where the engines ran: ``depth`` (threshold, y, x)
        0/1, ``buildings``/``roads`` 0/1 by id, ``exits`` people per exit.
    """
    out: dict = {"kpis": {}}
    k = run.kpis.drop(columns=["time"]).set_index("time_s")
    for col in k:
        v = pd.to_numeric(k[col], errors="coerce")
        if v.notna().any():
            out["kpis"][f"{col}_max"] = float(v.max())
            out["kpis"][f"{col}_final"] = float(v.dropna().iloc[-1])
    flood = run.flood
    if flood is not None:
        peak = flood["max_depth"].values
        out["depth"] = np.stack([peak >= t for t in thresholds]).astype(np.uint16)
        out["grid"] = (flood["y"].values, flood["x"].values)
        imp = run.impacts
        out["buildings"] = pd.Series(imp.buildings["flooded"].to_numpy(np.uint16),
                                     index=imp.buildings["id"])
        out["roads"] = pd.Series(imp.roads["closed"].to_numpy(np.uint16), index=imp.roads["id"])
    crowd = run.crowd
    if crowd is not None:
        last = crowd["exited"].isel(time=-1)
        out["exits"] = pd.Series(last.values.astype(float), index=last["exit"].values.astype(str))
    return out


def _member_task(city, scenario_text: str, source: str | None, values: dict, index: int,
                 thresholds) -> dict:
    """Run one member on a worker and reduce it there (the run itself is removed)."""
    import dask
    from twin.runner import run_scenario
    from twin.scenario import parse_scenario
    base = parse_scenario(scenario_text, source=source)
    scenario = member_scenario(base, values)
    scratch = Path(tempfile.mkdtemp(prefix=f"member{index}-"))
    t0 = time.perf_counter()
    try:
        # the run's lazy arrays are computed here, in this task, not as new cluster tasks
        with dask.config.set(scheduler="synchronous"):
            run = run_scenario(scenario, out=scratch / "run.zarr", city=city)
            out = reduce_member(run, thresholds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out["member"], out["wall_s"] = index, time.perf_counter() - t0
    return out


def _sum(parts: list[dict]) -> dict:
    """Add up the indicators of several reduced members (runs on a worker)."""
    total: dict = {"n": 0}
    for p in parts:
        if "n" in p:                                  # an earlier partial sum
            for key, value in p.items():
                total[key] = total[key] + value if key in total and key != "grid" else value
            continue
        total["n"] += 1
        for key in ("depth", "buildings", "roads", "exits"):
            if key in p:
                v = p[key].astype(np.float64) if isinstance(p[key], np.ndarray) else p[key]
                total[key] = v if key not in total else (total[key] + v)
        if "grid" in p:
            total["grid"] = p["grid"]
    return total


def _client(scheduler: str | None, workers: int):
    from dask.distributed import Client, LocalCluster
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError) as exc:
        raise DataError(f"cannot reach the dask scheduler at {scheduler} ({exc})",
                        fix="start it with `dask scheduler` (and `dask worker ADDRESS`), or "
                            "leave out --scheduler to use a local cluster") from None


def run_ensemble(scenario: Scenario | str | os.PathLike, *, members: int, vary: list[str],
                 out: str | os.PathLike, scheduler: str | None = None, workers: int = 2,
                 seed: int = 0, thresholds=THRESHOLDS, progress: bool = False,
                 city=None) -> "Ensemble":
    """Run ``members`` variants of ``scenario`` on dask.distributed and store probabilities.

    Parameters
    ----------
    scenario : Scenario or path-like
    members : int
    vary : list of str
        ``NAME=LOW:HIGH`` or ``NAME=V1,V2`` (see :mod:`twin.variation`).
    out : path-like
        The ensemble store (``*.zarr``), written under a temporary name.
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); default a local
        cluster of ``workers`` processes.
    seed : int
        Latin hypercube seed.

    Raises
    ------
    DataError
        Bad variations, an unreachable scheduler, or every member failed.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    table = sample(parse_variations(vary), members, seed=seed)
    member_scenario(scenario, table.iloc[0].to_dict())    # check the changes on the client
    if city is None:
        from twin.manifest import load_city
        city = load_city(scenario.city)
    t0 = time.perf_counter()
    client, cluster = _client(scheduler, workers)
    try:
        with interruptible(), RunSlot(out, is_run=_ensemble_status) as slot:
            results, total = _compute(client, city, scenario, table, thresholds, progress)
            with shielded():
                _store(slot.tmp, scenario, table, results, total, thresholds,
                       time.perf_counter() - t0, client)
                final = slot.commit(complete=True)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return open_ensemble(final)


def _compute(client, city, scenario: Scenario, table: pd.DataFrame, thresholds, progress):
    from dask.distributed import as_completed
    from tqdm.auto import tqdm
    city_future = client.scatter(city, broadcast=True)       # once per worker
    source = None if scenario.source is None else os.fspath(scenario.source)
    futures = [client.submit(_member_task, city_future, scenario.text, source,
                             table.iloc[i].to_dict(), i, thresholds, retries=1, pure=False,
                             key=f"member-{i}-{time.time_ns()}")
               for i in range(len(table))]
    results: dict[int, dict] = {}
    done = []
    with tqdm(total=len(futures), disable=not progress, unit="member") as bar:
        for fut in as_completed(futures):
            i = futures.index(fut)
            if fut.status == "error":
                exc = fut.exception()
                results[i] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            else:
                results[i] = {"status": "ok"}
                done.append(fut)
            bar.update(1)
    if not done:
        first = next(iter(results.values()), {})
        raise DataError(f"every member failed (first: {first.get('error', '?')})",
                        fix="run the scenario alone with `twin run` to see why")
    meta = client.gather([client.submit(lambda r: {"member": r["member"], "kpis": r["kpis"],
                                                   "wall_s": r["wall_s"]}, f) for f in done])
    for m in meta:
        results[m["member"]].update(m)
    while len(done) > 1:                                     # tree reduction on the workers
        done = [client.submit(_sum, done[k:k + 4]) for k in range(0, len(done), 4)]
    total = done[0].result()
    return results, (total if "n" in total else _sum([total]))


def _store(tmp: Path, scenario: Scenario, table: pd.DataFrame, results: dict, total: dict,
           thresholds, wall_s: float, client) -> None:
    n = total["n"]
    rows = []
    for i in range(len(table)):
        r = results.get(i, {"status": "failed", "error": "not run"})
        rows.append({"member": i, **table.iloc[i].to_dict(), "status": r["status"],
                     "error": r.get("error", ""), "wall_s": r.get("wall_s", np.nan),
                     **r.get("kpis", {})})
    members = pd.DataFrame(rows).set_index("member")
    members = members.astype({"status": object, "error": object})
    root = zarr.open_group(tmp, mode="w")
    xr.Dataset.from_dataframe(members).to_zarr(tmp, group="members", mode="w",
                                                consolidated=False)
    prob = xr.Dataset(attrs={"members_ok": n})
    if "depth" in total:
        y, x = total["grid"]
        prob["depth_exceedance"] = (("threshold", "y", "x"), total["depth"] / n,
                                    {"units": "1", "long_name": "P(max depth >= threshold)"})
        prob = prob.assign_coords(threshold=("threshold", list(thresholds), {"units": "m"}),
                                  y=y, x=x)
    prob.to_zarr(tmp, group="probability", mode="w", consolidated=False)
    for key, dim in (("buildings", "building"), ("roads", "road"), ("exits", "exit")):
        if key in total:
            s = total[key] / n
            xr.Dataset({"probability" if key != "exits" else "mean_people":
                        (dim, s.to_numpy(float))},
                       coords={dim: s.index.to_numpy(object)}).to_zarr(
                tmp, group=key, mode="w", consolidated=False)
    info = client.scheduler_info() if client is not None else {}
    root.attrs.update(plain({
        "format": FORMAT, "status": "complete", "name": scenario.name,
        "scenario_text": scenario.text, "members": len(table), "members_ok": n,
        "members_failed": int((members["status"] != "ok").sum()),
        "vary": list(table.columns), "thresholds": list(thresholds),
        "provenance": {"created_utc": pd.Timestamp.now("UTC").isoformat(),
                       "versions": versions(), "wall_time_s": wall_s,
                       "workers": len(info.get("workers", {}))}}))


def _ensemble_status(path) -> str | None:
    try:
        attrs = zarr.open_group(path, mode="r").attrs
    except Exception:                    # noqa: BLE001 - anything unreadable is not one
        return None
    return attrs.get("status") if attrs.get("format") == FORMAT else None


def is_ensemble(path) -> bool:
    """Whether ``path`` holds an ensemble store (complete or not).

    Examples
    --------
    >>> is_ensemble("data_samples/ezhou/city.toml")
    False
    """
    return _ensemble_status(path) is not None


class Ensemble:
    """An ensemble store, read lazily (see :func:`open_ensemble`).

    Attributes
    ----------
    members : pandas.DataFrame
        One row per member: varied values, status, error, wall time, KPI peaks/finals.
    probability : xarray.Dataset
        ``depth_exceedance (threshold, y, x)``.
    buildings, roads : pandas.Series or None
        Probability of each building flooded / road closed.
    exits : pandas.Series or None
        Mean people per exit.
    """

    def __init__(self, path) -> None:
        self.path = Path(path)
        if _ensemble_status(self.path) is None:
            raise DataError("is not an ensemble written by `twin ensemble`", file=self.path,
                            fix="give a folder written by twin ensemble / twin.run_ensemble")
        self.attrs = dict(zarr.open_group(self.path, mode="r").attrs)

    def __repr__(self) -> str:
        return (f"<Ensemble {self.attrs['name']!r}: {self.attrs['members_ok']} of "
                f"{self.attrs['members']} members at {self.path}>")

    def _group(self, name: str) -> xr.Dataset | None:
        if not (self.path / name).is_dir():
            return None
        try:
            return xr.open_zarr(self.path, group=name, consolidated=False)
        except Exception as exc:      # noqa: BLE001
            raise DataError(f"ensemble group '{name}' is unreadable ({exc})", file=self.path,
                            fix="run the ensemble again") from None

    @cached_property
    def members(self) -> pd.DataFrame:
        return self._group("members").to_dataframe()

    @cached_property
    def probability(self) -> xr.Dataset:
        return self._group("probability")

    def _series(self, group: str, var: str) -> pd.Series | None:
        ds = self._group(group)
        return None if ds is None else ds[var].to_series()

    @property
    def buildings(self) -> pd.Series | None:
        return self._series("buildings", "probability")

    @property
    def roads(self) -> pd.Series | None:
        return self._series("roads", "probability")

    @property
    def exits(self) -> pd.Series | None:
        return self._series("exits", "mean_people")

    def kpi_spread(self) -> pd.DataFrame:
        """Per KPI (peak values): min, 5 %, median, 95 %, max over the members that ran."""
        ok = self.members[self.members["status"] == "ok"]
        cols = [c for c in ok if c.endswith("_max")]
        return ok[cols].quantile([0.0, 0.05, 0.5, 0.95, 1.0]).T.rename(
            columns={0.0: "min", 0.05: "p05", 0.5: "median", 0.95: "p95", 1.0: "max"})


def open_ensemble(path) -> Ensemble:
    """Open an ensemble written by :func:`run_ensemble` / ``twin ensemble``.

    Examples
    --------
    >>> ens = open_ensemble("runs/demo-ens.zarr")      # doctest: +SKIP
    >>> ens.kpi_spread().loc["flooded_area_m2_max"]    # doctest: +SKIP
    """
    return Ensemble(path)
