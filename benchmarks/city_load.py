"""Time to load the sample city, and to export it as GLB, side by side with plain reads.

The reference is the bare cost of reading the same files with geopandas/rasterio
(no validation, no reprojection, no BIM); the ratio shows what validation costs.

    .venv/bin/python benchmarks/city_load.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import rasterio

import twin
from scenes.gltf import write_glb
from scenes.meshes import city_scene

SAMPLE = Path(__file__).resolve().parents[1] / "data_samples" / "ezhou"


def plain_read() -> None:
    with rasterio.open(SAMPLE / "terrain.tif") as src:
        src.read(1)
    for name in ("buildings", "roads", "water", "landuse"):
        gpd.read_file(SAMPLE / f"{name}.gpkg")
    pd.read_csv(SAMPLE / "sensors" / "readings.csv")


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    twin.load_city(SAMPLE / "city.toml")  # warm caches and imports
    t_plain = best_of(plain_read, args.repeat)
    t_load = best_of(lambda: twin.load_city(SAMPLE / "city.toml"), args.repeat)
    city = twin.load_city(SAMPLE / "city.toml")
    t_scene = best_of(lambda: city_scene(city), args.repeat)
    scene = city_scene(city)
    with tempfile.TemporaryDirectory() as tmp:
        t_glb = best_of(lambda: write_glb(scene, Path(tmp) / "city.glb"), args.repeat)
        size = (Path(tmp) / "city.glb").stat().st_size
    print(f"sample city: {len(city.buildings)} buildings, {len(city.roads)} roads, "
          f"terrain {city.terrain.shape}")
    print(f"{'step':34s} {'best s':>8s}")
    print(f"{'plain read of the files (reference)':34s} {t_plain:8.2f}")
    print(f"{'twin.load_city (validated)':34s} {t_load:8.2f}   x{t_load / t_plain:.1f} of plain read")
    print(f"{'city_scene (all meshes)':34s} {t_scene:8.2f}")
    print(f"{'write_glb':34s} {t_glb:8.2f}   ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
