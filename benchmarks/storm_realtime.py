"""Is the recorded storm on the sample district faster than real time at 2 m cells?

Runs ``data_samples/ezhou/scenarios/storm.toml`` with the flood grid refined to
``--cell-size`` (default 2 m: 1500 x 2000 cells) for the first ``--duration`` of
the storm and prints the real-time factor (simulated seconds per wall-clock
second) and the engine's throughput. The whole 5 h storm at 2 m takes a long
while on 2 cores: by default the first two hours (the heaviest rain) are run.

    .venv/bin/python benchmarks/storm_realtime.py [--cell-size 2] [--duration 2h]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import twin

STORM = Path(__file__).resolve().parents[1] / "data_samples" / "ezhou" / "scenarios" / "storm.toml"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cell-size", type=float, default=2.0)
    p.add_argument("--duration", default="2h")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    scenario = twin.load_scenario(STORM).with_changes(
        cell_size=args.cell_size, duration=args.duration, output_every="10min")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = twin.run_scenario(scenario, out=Path(tmp) / "storm.zarr", progress=True)
        wall = time.perf_counter() - t0
        prov = run.provenance
        shape = run.flood.depth.shape[1:]
        simulated = float(run.flood.time[-1])
        print(run.summary())
    engine = prov.get("engine", {}) or prov.get("engines", {}).get("flood", {}).get("stats", {})
    print(f"\ngrid {shape[0]} x {shape[1]} at {args.cell_size:g} m, {simulated / 3600:.2f} h simulated")
    print(f"wall {wall:.0f} s (engine {engine.get('wall_s', float('nan')):.0f} s): "
          f"real-time factor {simulated / wall:.1f}x")
    for key in ("steps", "mean_dt", "min_dt", "cell_updates", "cell_updates_per_s",
                "total_grid_updates_per_s", "threads"):
        if key in engine:
            print(f"  {key}: {engine[key]:,.3g}" if isinstance(engine[key], float)
                  else f"  {key}: {engine[key]:,}")


if __name__ == "__main__":
    main()
