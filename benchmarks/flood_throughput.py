"""Flood engine throughput and agreement, side by side with Landlab OverlandFlow and ANUGA.

Two cases, run in one process:

(a) EA Test 4 (UK Environment Agency 2-D benchmark): 1000 m x 2000 m flat,
    n = 0.05, 5 m cells (200 x 400), 20 m3/s peak inflow through a 20 m
    opening in the middle of the west side. Every code runs the same grid,
    inflow and friction to ``--compare-s`` and the depths at six points are
    compared; this engine also runs the full 5 h.
(b) A rain case: the sample terrain (``data_samples/ezhou/terrain.tif``, or
    ``--terrain PATH``; a synthetic rolling terrain if absent) mirrored out
    to 2000 x 2000 cells, lakes filled to the 15th percentile of the ground,
    50 mm/h of rain. Landlab runs a few steps of it, ANUGA a 250 x 250 crop
    (a 16 M-triangle mesh is out of reach); their rates are per cell update.

Cell-updates per second are (active cells x steps) / wall time for this
engine, best of ``--repeat`` runs (the whole grid is active in the rain case), and (grid cells x steps)
/ wall for Landlab; for ANUGA (triangles x steps) / wall is reported and
divided by four triangles per cell. Real-time factor = simulated / wall time.

    .venv/bin/pip install landlab "requireit==0.8.0" anuga    # benchmark-only extras
    .venv/bin/python benchmarks/flood_throughput.py [--threads 2] [--compare-s 1800]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numba
import numpy as np

from simulations.flood import FloodModel

SAMPLE_TERRAIN = Path(__file__).resolve().parents[1] / "data_samples" / "ezhou" / "terrain.tif"

EA4_SHAPE = (200, 400)
EA4_DX = 5.0
EA4_N = 0.05
EA4_INLET_ROWS = np.arange(98, 102)          # 20 m centred on the west side
EA4_TIMES = np.array([0.0, 1200.0, 10800.0, 19800.0])   # trapezoid, 20 m3/s peak
EA4_Q = np.array([0.0, 20.0, 20.0, 0.0])
# output points (x east of the west edge, y north of the south edge), on cell centres
EA4_POINTS = {"P1": (52.5, 502.5), "P2": (102.5, 502.5), "P3": (202.5, 502.5),
              "P4": (302.5, 502.5), "P5": (102.5, 602.5), "P6": (202.5, 702.5)}


def ea4_cell(x: float, y: float) -> tuple[int, int]:
    return int((1000.0 - y) // EA4_DX), int(x // EA4_DX)


def inflow(t: float) -> float:
    return float(np.interp(t, EA4_TIMES, EA4_Q))


def row(name: str, updates: float, wall: float, simulated: float, note: str = "") -> dict:
    return {"code": name, "rate": updates / wall, "rtf": simulated / wall, "wall": wall,
            "simulated": simulated, "note": note}


# ------------------------------------------------------------------ this engine
def ea4_ours(dtype: str, until: float, compare_s: float, threads: int, repeat: int) -> tuple[dict, dict]:
    warm = FloodModel(np.zeros((200, 200)), 1.0, dtype=dtype)   # compile both builds untimed
    warm.add_inflow(4, 4, [0, 10], [1, 1])
    warm.run(1.0, 1.0)
    warm.depth[:] = 0.1
    warm.run(2.0, 1.0)
    best = None
    for _ in range(repeat):                      # best of several: the machine is shared
        m = FloodModel(np.zeros(EA4_SHAPE), EA4_DX, manning=EA4_N, dtype=dtype, threads=threads)
        for r in EA4_INLET_ROWS:
            m.add_inflow(r, 0, EA4_TIMES, EA4_Q / len(EA4_INLET_ROWS))
        gauges = {k: ea4_cell(*p) for k, p in EA4_POINTS.items()}
        ds = m.run(compare_s, compare_s, gauges=gauges)
        depths = dict(zip(gauges, ds.gauge_depth.isel(time=-1).values.tolist()))
        m.run(until, until)
        if best is None or m.stats()["wall_s"] < best[0].stats()["wall_s"]:
            best = (m, depths)
    m, depths = best
    s = m.stats()
    return row(f"this engine {dtype}", s["cell_updates"], s["wall_s"], until,
               f"{s['steps']} steps; whole-grid rate {s['total_grid_updates_per_s'] / 1e6:.0f} M/s; "
               f"volume error {m.volume_error():.1e}; best of {repeat}"), depths


def rain_ours(z: np.ndarray, dx: float, h0: np.ndarray, dtype: str, until: float, threads: int,
              repeat: int) -> dict:
    best = None
    for _ in range(repeat):                      # best of several: the machine is shared
        m = FloodModel(z, dx, manning=0.03, dtype=dtype, threads=threads, boundaries="open")
        m.depth[:] = h0
        m.set_rainfall([0.0], [50.0])
        m.run(1.0, 1.0)                           # compile and first touch outside the timing
        s0 = m.stats()
        m.run(m.time + until, until)
        s1 = m.stats()
        s = {"cell_updates": s1["cell_updates"] - s0["cell_updates"], "wall_s": s1["wall_s"] - s0["wall_s"],
             "steps": s1["steps"] - s0["steps"]}
        if best is None or s["wall_s"] < best[1]["wall_s"]:
            best = (m, s)
    m, s = best
    return row(f"this engine {dtype}", s["cell_updates"], s["wall_s"], until,
               f"{s['steps']} steps, mean dt {until / s['steps']:.2f} s; volume error "
               f"{m.volume_error():.1e}; best of {repeat}")


# ---------------------------------------------------------------------- Landlab
def landlab_grid(z: np.ndarray, dx: float, h0: np.ndarray | None = None):
    """A Landlab raster with a closed ring of nodes around the cells (landlab rows run south-north)."""
    from landlab import RasterModelGrid

    R, C = z.shape
    grid = RasterModelGrid((R + 2, C + 2), xy_spacing=dx)
    zz = np.full((R + 2, C + 2), float(z.max()) + 10.0)
    zz[1:-1, 1:-1] = z[::-1]
    grid.add_field("topographic__elevation", zz.ravel(), at="node")
    h = np.zeros((R + 2, C + 2))
    if h0 is not None:
        h[1:-1, 1:-1] = h0[::-1]
    grid.add_field("surface_water__depth", h.ravel() + 1e-5, at="node")
    grid.set_closed_boundaries_at_grid_edges(True, True, True, True)
    return grid


def landlab_node(r: int, c: int, shape: tuple[int, int]) -> int:
    R, C = shape
    return (R - r) * (C + 2) + (c + 1)


LANDLAB_MAX_DT = 1.0
"""Landlab's step from a dry bed is huge (its thin initial film); capped as this engine caps it."""


def ea4_landlab(until: float) -> tuple[dict, dict]:
    from landlab.components import OverlandFlow

    grid = landlab_grid(np.zeros(EA4_SHAPE), EA4_DX)
    of = OverlandFlow(grid, mannings_n=EA4_N, steep_slopes=True)
    h = grid.at_node["surface_water__depth"]
    inlet = np.array([landlab_node(r, 0, EA4_SHAPE) for r in EA4_INLET_ROWS])
    t, steps = 0.0, 0
    tic = time.perf_counter()
    while t < until:
        # the same cap this engine puts on a step while an inflow wets dry ground
        dt = min(of.calc_time_step(), LANDLAB_MAX_DT, until - t)
        h[inlet] += inflow(t + 0.5 * dt) * dt / (len(inlet) * EA4_DX ** 2)
        of.overland_flow(dt=dt)
        t += dt
        steps += 1
    wall = time.perf_counter() - tic
    depths = {k: float(h[landlab_node(*ea4_cell(*p), EA4_SHAPE)]) for k, p in EA4_POINTS.items()}
    cells = EA4_SHAPE[0] * EA4_SHAPE[1]
    return row("Landlab OverlandFlow", cells * steps, wall, until, f"{steps} steps, 1 thread"), depths


def rain_landlab(z: np.ndarray, dx: float, h0: np.ndarray, steps: int) -> dict:
    from landlab.components import OverlandFlow

    grid = landlab_grid(z, dx, h0)
    of = OverlandFlow(grid, mannings_n=0.03, steep_slopes=True, rainfall_intensity=50.0 / 3.6e6)
    of.overland_flow(dt=0.01)
    t = 0.0
    tic = time.perf_counter()
    for _ in range(steps):
        dt = of.calc_time_step()
        of.overland_flow(dt=dt)
        t += dt
    wall = time.perf_counter() - tic
    return row("Landlab OverlandFlow", z.size * steps, wall, t, f"{steps} steps (rate extrapolates)")


# ------------------------------------------------------------------------ ANUGA
def anuga_domain(z: np.ndarray, dx: float, friction: float, stage=None):
    import anuga

    R, C = z.shape
    domain = anuga.rectangular_cross_domain(C, R, len1=C * dx, len2=R * dx)
    domain.set_name("flood_benchmark")
    domain.set_datadir(str(Path(__import__("tempfile").mkdtemp())))
    domain.set_store(False)
    zf = z[::-1]                                    # row 0 of z is north

    def bed(x, y):
        c = np.clip((x // dx).astype(int), 0, C - 1)
        r = np.clip((y // dx).astype(int), 0, R - 1)
        return zf[r, c]

    domain.set_quantity("elevation", bed, location="centroids")
    domain.set_quantity("friction", friction)
    domain.set_quantity("stage", stage if stage is not None else bed, location="centroids")
    br = anuga.Reflective_boundary(domain)
    domain.set_boundary({"left": br, "right": br, "top": br, "bottom": br})
    return domain


def ea4_anuga(until: float) -> tuple[dict, dict]:
    import anuga

    R, C = EA4_SHAPE
    domain = anuga_domain(np.zeros(EA4_SHAPE), EA4_DX, EA4_N)
    anuga.Inlet_operator(domain, [[2.5, 490.0], [2.5, 510.0]], Q=inflow)
    tic = time.perf_counter()
    steps = 0
    # short yields: ANUGA takes one step per yield on a dry bed
    for _ in domain.evolve(yieldstep=10.0, finaltime=until):
        steps += domain.number_of_steps
    wall = time.perf_counter() - tic
    pts = np.array(list(EA4_POINTS.values()))
    stage = domain.quantities["stage"].get_values(interpolation_points=pts)
    depths = dict(zip(EA4_POINTS, np.maximum(stage, 0.0).tolist()))
    tri = len(domain)
    return row("ANUGA (DE0)", tri * steps / 4, wall, until,
               f"{steps} steps, {tri} triangles = 4 per cell; {tri * steps / wall / 1e6:.1f} M triangle-updates/s"), depths


def rain_anuga(z: np.ndarray, dx: float, h0: np.ndarray, until: float) -> dict:
    import anuga

    R, C = z.shape
    stage_grid = (z + h0)[::-1]

    def stage(x, y):
        c = np.clip((x // dx).astype(int), 0, C - 1)
        r = np.clip((y // dx).astype(int), 0, R - 1)
        return stage_grid[r, c]

    domain = anuga_domain(z, dx, 0.03, stage)
    anuga.Rate_operator(domain, rate=50.0 / 3.6e6)
    tic = time.perf_counter()
    steps = 0
    for _ in domain.evolve(yieldstep=5.0, finaltime=until):
        steps += domain.number_of_steps
    wall = time.perf_counter() - tic
    tri = len(domain)
    return row("ANUGA (DE0)", tri * steps / 4, wall, until,
               f"{R}x{C} crop, {steps} steps, {tri} triangles")


# ---------------------------------------------------------------------- inputs
def rain_terrain(path: Path | None, size: int) -> tuple[np.ndarray, float, str]:
    """The sample terrain mirrored out to ``size`` x ``size`` (no resampling), or a synthetic one."""
    path = path or SAMPLE_TERRAIN
    if path.exists():
        from geodata.raster import read_raster

        r = read_raster(path)
        z = np.asarray(r.data, dtype=np.float64)
        reps = (-(-size // z.shape[0]), -(-size // z.shape[1]))
        tiles = np.block([[z[:, ::(-1) ** c][::(-1) ** r] for c in range(reps[1])] for r in range(reps[0])])
        return tiles[:size, :size], float(r.cell_size), f"{path.name} mirrored to {size}x{size}"
    y, x = np.mgrid[0:size, 0:size] * 4.0
    z = 20 + 5 * np.sin(x / 400) * np.cos(y / 300) + 2 * np.sin(x / 90 + y / 120)
    return z, 4.0, f"synthetic rolling terrain {size}x{size}"


def lakes(z: np.ndarray) -> np.ndarray:
    return np.maximum(np.percentile(z, 15) - z, 0.0)


def table(title: str, rows: list[dict], landlab: str = "Landlab OverlandFlow") -> None:
    ref = next((r["rate"] for r in rows if r["code"] == landlab), None)
    print(f"\n{title}")
    print(f"{'code':28s} {'M cell-upd/s':>12s} {'RTF':>8s} {'x Landlab':>9s} {'sim s':>8s} {'wall s':>8s}  note")
    for r in rows:
        ratio = f"{r['rate'] / ref:9.1f}" if ref else "      n/a"
        print(f"{r['code']:28s} {r['rate'] / 1e6:12.1f} {r['rtf']:8.1f} {ratio} {r['simulated']:8.0f} "
              f"{r['wall']:8.1f}  {r['note']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compare-s", type=float, default=1800.0, help="time of the EA Test 4 comparison")
    p.add_argument("--terrain", type=Path, default=None)
    p.add_argument("--size", type=int, default=2000)
    p.add_argument("--rain-s", type=float, default=300.0, help="simulated rain time for this engine")
    p.add_argument("--repeat", type=int, default=3, help="runs of this engine (best is kept)")
    p.add_argument("--skip-anuga", action="store_true")
    p.add_argument("--skip-landlab", action="store_true")
    a = p.parse_args()
    numba.set_num_threads(a.threads)
    print(f"numba threads: {a.threads}; numba {numba.__version__}")

    rows, depths = [], {}
    for dtype in ("float32", "float64"):
        r, d = ea4_ours(dtype, 5 * 3600.0, a.compare_s, a.threads, a.repeat)
        rows.append(r)
        depths[r["code"]] = d
    if not a.skip_landlab:
        r, d = ea4_landlab(a.compare_s)
        rows.append(r)
        depths[r["code"]] = d
    if not a.skip_anuga:
        r, d = ea4_anuga(a.compare_s)
        rows.append(r)
        depths[r["code"]] = d
    table("(a) EA Test 4, 200 x 400 cells of 5 m (this engine: 5 h; others: to --compare-s)", rows)

    print(f"\nEA Test 4 depths (m) at t = {a.compare_s:.0f} s")
    codes = list(depths)
    print(f"{'point':6s} {'x,y (m)':>14s} " + " ".join(f"{c[:22]:>22s}" for c in codes))
    for k, (x, y) in EA4_POINTS.items():
        print(f"{k:6s} {f'{x:.0f},{y:.0f}':>14s} " + " ".join(f"{depths[c][k]:22.3f}" for c in codes))

    z, dx, what = rain_terrain(a.terrain, a.size)
    h0 = lakes(z)
    rows = [rain_ours(z, dx, h0, dtype, a.rain_s, a.threads, a.repeat) for dtype in ("float32", "float64")]
    if not a.skip_landlab:
        rows.append(rain_landlab(z, dx, h0, 3))
    if not a.skip_anuga:
        crop = np.s_[:250, :250]
        rows.append(rain_anuga(z[crop], dx, h0[crop], 20.0))
    table(f"(b) rain 50 mm/h on {what}, {dx:g} m cells, lakes at the 15th percentile", rows)


if __name__ == "__main__":
    main()
