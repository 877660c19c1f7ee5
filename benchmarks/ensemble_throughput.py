"""Ensemble throughput: members per minute with 1 and 2 workers, and the overhead per
member over a plain run of the same scenario.

    python benchmarks/ensemble_throughput.py [--members 6] [--cell-size 32] [--duration 30min]

The demo scenario (the recorded storm's peak hour) is shortened and coarsened so that a
member takes seconds; the plain runs and the members run the same scenarios.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import twin
from twin.variation import member_scenario, parse_variations, sample

DEMO = Path(__file__).resolve().parents[1] / "data_samples/ezhou/scenarios/demo.toml"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=6)
    p.add_argument("--cell-size", type=float, default=32.0)
    p.add_argument("--duration", default="30min")
    a = p.parse_args()
    out = Path(tempfile.mkdtemp(prefix="ens-bench-"))
    base = twin.load_scenario(DEMO).with_changes(cell_size=a.cell_size, duration=a.duration)
    path = out / "base.toml"
    path.write_text(base.text.replace('city = "', f'city = "{DEMO.parent}/'), encoding="utf-8")
    base = twin.load_scenario(path)
    vary = ["rain_scale=0.5:1.5"]
    city = twin.load_city(base.city)
    print(f"load average at start: {os.getloadavg()}")
    twin.run_scenario(base, out=out / "warm.zarr", city=city)          # compile the kernels
    table = sample(parse_variations(vary), a.members)
    t0 = time.perf_counter()
    for i in range(a.members):
        twin.run_scenario(member_scenario(base, table.iloc[i].to_dict()),
                          out=out / f"plain{i}.zarr", city=city)
    plain = (time.perf_counter() - t0) / a.members
    print(f"plain run: {plain:.1f} s per member ({60 / plain:.1f} per minute, one process)")
    for workers in (1, 2):
        t0 = time.perf_counter()
        twin.run_ensemble(path, members=a.members, vary=vary, out=out / f"ens{workers}.zarr",
                          workers=workers, city=city)
        wall = time.perf_counter() - t0
        print(f"{workers} worker(s): {a.members} members in {wall:.1f} s = "
              f"{60 * a.members / wall:.1f} members/min; {wall / a.members - plain:+.1f} s per "
              f"member over a plain run (cluster start and first compile included)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
