"""Benchmark: 3D Tiles 1.1 export of the sample city and of 100,000 synthetic buildings.

For each city, prints the tiling time, the number of tiles, the tileset's size
on disk and its largest tile, side by side with the single-GLB export of the
same buildings (``scenes.gltf.write_glb``, one mesh, no tiling, no metadata)
as the reference. Synthetic footprints come from ``benchmarks/scene_meshing.py``.
Run by hand::

    python benchmarks/tiles_3d.py [--count 100000] [--max-features 2000] [--no-sample]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scene_meshing import footprints  # noqa: E402

from scenes.gltf import write_glb  # noqa: E402
from scenes.meshes import city_scene  # noqa: E402
from scenes.writers import write_scene  # noqa: E402
from twin.city import City  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "data_samples" / "ezhou" / "city.toml"


def _size(folder: Path) -> tuple[int, int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    sizes = [p.stat().st_size for p in files]
    glbs = [s for p, s in zip(files, sizes) if p.suffix == ".glb"]
    return sum(sizes), len(glbs), max(glbs, default=0)


def _depth(node: dict) -> int:
    return 1 + max((_depth(c) for c in node.get("children", [])), default=0)


def compare(name: str, city, tmp: Path, max_features: int, terrain: bool) -> None:
    """Time the tileset and the single GLB of the same layers; print one block."""
    t = time.perf_counter()
    out = write_scene(city, tmp / f"{name}-3dtiles", "3dtiles", max_features=max_features,
                      terrain=terrain)
    tiles_s = time.perf_counter() - t
    total, n_tiles, largest = _size(out)
    doc = json.loads((out / "tileset.json").read_text())
    layers = ("buildings", "terrain") if terrain else ("buildings",)
    t = time.perf_counter()
    glb = write_glb(city_scene(city, layers=layers), tmp / f"{name}.glb")
    glb_s = time.perf_counter() - t
    glb_size = glb.stat().st_size
    print(f"{name}: {len(city.buildings):,} buildings, layers {', '.join(layers)}")
    print(f"  3D Tiles: {tiles_s:7.1f} s  {total / 1e6:7.1f} MB  {n_tiles} tiles "
          f"(largest {largest / 1e6:.2f} MB), building tree depth {_depth(doc['root'])}, "
          f"root geometric error {doc['root']['geometricError']:.1f} m")
    print(f"  one GLB:  {glb_s:7.1f} s  {glb_size / 1e6:7.1f} MB  (reference)")
    print(f"  ratio 3D Tiles / GLB: time {tiles_s / glb_s:.2f}, size {total / glb_size:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--max-features", type=int, default=2000)
    parser.add_argument("--no-sample", action="store_true", help="skip the sample city")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_sample and SAMPLE.exists():
            import twin
            compare("ezhou", twin.load_city(SAMPLE), tmp, args.max_features, terrain=True)
        buildings = footprints(args.count)
        compare(f"synthetic{args.count}", City("bench", buildings.crs, buildings=buildings),
                tmp, args.max_features, terrain=False)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
