"""The sample district's morning rush hour: how much faster than real time the traffic runs.

Runs ``data_samples/ezhou/scenarios/rush_hour.toml`` (07:00-09:00 on 5 July
2024, 1,140 roads as 2,200 directed links, demand from the city's buildings
fitted to the 16 counters, dynamic routing, 5-min frames) through
``twin.run_scenario`` into a temporary run, after loading the city, and reports

- the city load, the adapter set-up (network, zones, gravity, counter fit and
  warm-up) and the run, in wall and CPU time;
- the real-time factor (simulated time / wall time of the whole run, set-up
  included; and per CPU second, the steadier figure on a shared machine);
- the engine's steps, link updates per second and the vehicle balance;
- the counter fit over the run (GEH per counter) and the machine load.

The target is >= 100x real time. No reference tool runs this case (UXsim and
SUMO are compared on the common grid in ``traffic_grid.py``).

    .venv/bin/python benchmarks/traffic_city.py [--duration 2h]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

import twin

SCENARIO = Path(__file__).resolve().parents[1] / "data_samples/ezhou/scenarios/rush_hour.toml"


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", default=None, help='shorten the run, e.g. "30min"')
    args = ap.parse_args()
    load0 = os.getloadavg()
    w0, c0 = _clock()
    scenario = twin.load_scenario(SCENARIO)
    if args.duration:
        scenario = scenario.with_changes(duration=args.duration)
    city = twin.load_city(scenario.city)
    w1, c1 = _clock()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = twin.run_scenario(scenario, out=Path(tmp) / "rh.zarr", city=city)
        w2, c2 = _clock()
        prov = run.provenance
        eng = prov["engines"]["traffic"]
        fit = xr.open_zarr(run.path, group="traffic_fit", consolidated=False).load()
        k = run.kpis
    sim = scenario.duration_s
    print(f"Sample rush hour: {scenario.name}, {sim / 3600:.2f} h simulated, "
          f"{eng['zones']} zones, {eng['counters']} counters")
    print(f"  load avg before: {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}; "
          f"after: {' '.join(f'{v:.1f}' for v in os.getloadavg())} (2 cores)")
    print(f"  city load      {w1 - w0:7.1f} s wall {c1 - c0:7.1f} s CPU")
    print(f"  run (set-up + {scenario.n_frames} frames) {w2 - w1:7.1f} s wall "
          f"{c2 - c1:7.1f} s CPU")
    print(f"  real-time factor: {sim / (w2 - w1):6.0f}x (wall), {sim / (c2 - c1):6.0f}x (CPU); "
          f"engine alone {sim / eng['stats']['wall_s']:.0f}x (wall, warm-up included)")
    st, bal = eng["stats"], eng["balance"]
    print(f"  engine: {st['steps']} steps of {st['dt_s']:g} s, "
          f"{st['link_updates_per_s']:.3g} link updates/s, {st['lengthened_links']} links "
          f"lengthened to one step, {st['reroutes']} re-routings")
    print(f"  vehicles: demanded {bal['demanded']:.0f}, arrived {bal['arrived']:.0f}, "
          f"on the roads {bal['on_network']:.0f}, waiting {bal['waiting']:.0f}, "
          f"balance error {bal['error']:.2e}")
    print(f"  peak {k['vehicles_on_network'].max():.0f} vehicles, mean speed "
          f"{k['mean_speed_kmh'].min():.1f}-{k['mean_speed_kmh'].max():.1f} km/h, delay "
          f"{k['total_delay_veh_h'].iloc[-1]:.0f} veh-h, up to "
          f"{int(k['links_congested'].max())} links congested")
    print(f"  counter fit (global factor {fit.attrs['global_factor']:.2f}); veh/h, two-way:")
    print("    counter road     reading  prior   fit  GEH-prior GEH-fit | run: reading "
          "model GEH")
    for i in range(fit.sizes["counter"]):
        r = fit.isel(counter=i)
        print(f"    {str(r['counter'].values):7} {str(r['road'].values):8} "
              f"{float(r['reading_vph']):6.0f} {float(r['prior_vph']):6.0f} "
              f"{float(r['fitted_vph']):6.0f} {float(r['geh_prior']):8.1f} "
              f"{float(r['geh_fit']):7.1f} | {float(r['run_reading_vph']):6.0f} "
              f"{float(r['run_model_vph']):6.0f} {float(r['geh_run']):5.1f}")
    g = fit["geh_run"].values
    print(f"  run GEH < 5: {int(np.sum(g < 5))} of {int(np.isfinite(g).sum())}; "
          f"median {np.nanmedian(g):.1f}")


if __name__ == "__main__":
    main()
