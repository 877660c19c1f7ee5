"""Benchmark: extrude and mesh 100,000 building footprints, export them as GLB.

Footprints are random but valid: rotated rectangles, L shapes, concave stars
and courtyard blocks with a hole, on a 40 m grid. Prints the time of each step,
the triangle count and the GLB size. Run by hand::

    python benchmarks/scene_meshing.py [--count 100000] [--cityjson]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from scenes.gltf import write_glb
from scenes.meshes import Scene, buildings_mesh

X0, Y0 = 585000.0, 3363000.0
SPACING = 40.0


def _rings(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Outer (and inner) ring coordinates ``(n, k, 2)`` of one kind of footprint."""
    if kind == "rectangle":
        shell = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
        return shell[None] * rng.uniform(4, 15, (n, 1, 2)), None
    if kind == "ell":
        shell = np.array([[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]], float) - 1
        return shell[None] * rng.uniform(5, 14, (n, 1, 1)), None
    if kind == "star":
        angle = np.linspace(0, 2 * np.pi, 10, endpoint=False)
        radius = np.where(np.arange(10) % 2 == 0, 1.0, 0.55)
        shell = np.column_stack([np.cos(angle), np.sin(angle)]) * radius[:, None]
        return shell[None] * rng.uniform(6, 15, (n, 1, 1)), None
    shell = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    size = rng.uniform(10, 16, (n, 1, 1))
    return shell[None] * size, shell[None, ::-1] * size * rng.uniform(0.3, 0.6, (n, 1, 1))


def footprints(count: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``count`` random valid buildings (id, height, base, use, geometry)."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(["rectangle", "ell", "star", "courtyard"], size=count,
                       p=[0.4, 0.25, 0.15, 0.2])
    side = int(np.ceil(np.sqrt(count)))
    cx = X0 + (np.arange(count) % side) * SPACING
    cy = Y0 + (np.arange(count) // side) * SPACING
    geoms = np.empty(count, dtype=object)
    for kind in np.unique(kinds):
        idx = np.flatnonzero(kinds == kind)
        shell, hole = _rings(kind, len(idx), rng)
        theta = rng.uniform(0, np.pi, len(idx))
        rot = np.stack([np.stack([np.cos(theta), -np.sin(theta)], -1),
                        np.stack([np.sin(theta), np.cos(theta)], -1)], -2)
        centre = np.column_stack([cx[idx], cy[idx]])[:, None]
        shell = np.einsum("nij,nkj->nki", rot, shell) + centre
        holes = None
        if hole is not None:
            holes = shapely.linearrings(np.einsum("nij,nkj->nki", rot, hole) + centre)[:, None]
        geoms[idx] = shapely.polygons(shapely.linearrings(shell), holes=holes)
    base = 20 + 5 * np.sin((cx - X0) / 900) * np.cos((cy - Y0) / 700)
    return gpd.GeoDataFrame({"id": [f"b{i}" for i in range(count)],
                             "height": rng.gamma(2.0, 8.0, count) + 3.0, "base": base,
                             "use": rng.choice(["residential", "commercial", "office",
                                                "industrial", "public"], count)},
                            geometry=geoms, crs=4547)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--cityjson", action="store_true", help="also time the CityJSON export")
    args = parser.parse_args()

    t = time.perf_counter()
    buildings = footprints(args.count)
    print(f"generated {len(buildings):,} footprints in {time.perf_counter() - t:.2f} s "
          f"(all valid: {bool(shapely.is_valid(buildings.geometry.values).all())}, "
          f"{int((shapely.get_num_interior_rings(buildings.geometry.values) > 0).sum()):,} with holes)")

    xmin, ymin, xmax, ymax = buildings.total_bounds
    origin = (round((xmin + xmax) / 2), round((ymin + ymax) / 2), 0.0)
    t = time.perf_counter()
    mesh = buildings_mesh(buildings, origin)
    seconds = time.perf_counter() - t
    print(f"buildings_mesh: {seconds:.2f} s, {mesh.n_cells:,} triangles, {mesh.n_points:,} points "
          f"({len(buildings) / seconds:,.0f} buildings/s)")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = write_glb(Scene(origin, buildings.crs, {"buildings": mesh}), Path(tmp) / "b.glb")
        print(f"write_glb: {time.perf_counter() - t:.2f} s, {path.stat().st_size / 1e6:.1f} MB")
        if args.cityjson:
            from twin.city import City
            from scenes.cityjson import write_cityjson
            t = time.perf_counter()
            path = write_cityjson(City("bench", buildings.crs, buildings=buildings),
                                  Path(tmp) / "b.city.json")
            print(f"write_cityjson: {time.perf_counter() - t:.2f} s, "
                  f"{path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
