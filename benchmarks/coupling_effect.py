"""What the coupling changes: the commander's scenario run coupled and side by side.

Runs ``storm_during_match.toml`` twice on one clock: coupled (water closes roads and
blocks walkways) and with ``coupled = false`` (the same engines, no exchanges), and
prints the differences: the crowd's time to clear 95 %, the people standing in water
deeper than 0.1 m (person-minutes), the traffic's total delay and mean speed, roads
closed to traffic.

    python benchmarks/coupling_effect.py [--attendance 20000] [--duration 1h30min] [--event-end 1h] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import twin

SCENARIO = Path(__file__).resolve().parents[1] / "data_samples/ezhou/scenarios/storm_during_match.toml"


def exposed_person_minutes(run, depth_m: float = 0.1) -> float:
    """People (crowd density x cell area) on cells under more than ``depth_m`` of water,
    summed over the frames, in person-minutes."""
    crowd, flood = run.crowd, run.flood
    if crowd is None or flood is None:
        return float("nan")
    fx, fy = flood["x"].values, flood["y"].values
    cell = float(fx[1] - fx[0])
    col = np.clip(((crowd["x"].values - (fx[0] - cell / 2)) // cell).astype(int), 0, len(fx) - 1)
    row = np.clip((((fy[0] + cell / 2) - crowd["y"].values) // cell).astype(int), 0, len(fy) - 1)
    area = float(abs(crowd["x"].values[1] - crowd["x"].values[0])) ** 2
    dt_min = np.diff(run.times_s, prepend=0.0) / 60.0
    total = 0.0
    for k in range(len(run.times_s)):
        wet = flood["depth"].isel(time=k).values[np.ix_(row, col)] > depth_m
        total += float((crowd["density"].isel(time=k).values * wet).sum() * area * dt_min[k])
    return total


def figures(run) -> dict:
    k = run.kpis
    out = {"wall_s": run.provenance.get("wall_time_s", float("nan")),
           "people_exposed_person_min": exposed_person_minutes(run)}
    for col in ("time_to_clear_95_s", "total_delay_veh_h", "mean_speed_kmh", "links_closed",
                "roads_closed", "people_evacuated", "peak_density_pm2"):
        if col in k:
            v = k[col].dropna()
            out[col] = float(v.iloc[-1] if col in ("time_to_clear_95_s", "total_delay_veh_h",
                                                   "people_evacuated") and len(v)
                             else (v.max() if len(v) else float("nan")))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--attendance", type=float, default=None)
    p.add_argument("--duration", default=None)
    p.add_argument("--event-end", default=None, help='when the crowd starts to leave, e.g. "1h"')
    p.add_argument("--out", default=None)
    a = p.parse_args()
    out = Path(a.out or tempfile.mkdtemp(prefix="coupling-"))
    base = twin.load_scenario(SCENARIO)
    changes = {}
    if a.attendance:
        changes["attendance"] = a.attendance
    if a.duration:
        changes["duration"] = a.duration
    if a.event_end:
        changes["event_end"] = a.event_end
    print(f"load average at start: {os.getloadavg()}")
    rows = {}
    for label, coupled in (("coupled", True), ("side by side", False)):
        s = base.with_changes(coupled=coupled, **changes)
        t0 = time.perf_counter()
        run = twin.run_scenario(s, out=out / f"{label.replace(' ', '_')}.zarr", progress=True)
        rows[label] = figures(run)
        print(f"{label}: {time.perf_counter() - t0:.0f} s wall")
    keys = sorted(set(rows["coupled"]) | set(rows["side by side"]))
    print(f"\n{'figure':32s} {'coupled':>14s} {'side by side':>14s}")
    for key in keys:
        print(f"{key:32s} {rows['coupled'].get(key, float('nan')):14.2f} "
              f"{rows['side by side'].get(key, float('nan')):14.2f}")
    print(f"load average at end: {os.getloadavg()}; runs in {out}")


if __name__ == "__main__":
    main()
