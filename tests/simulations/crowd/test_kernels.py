"""The walking model against the RiMEA component tests and published measurements.

- RiMEA test 1: one person, 1.33 m/s, 40 m corridor: 26-34 s.
- RiMEA test 4: speed against density in a corridor, against Weidmann's (1993)
  fundamental diagram ``v = 1.34 (1 - exp(-1.913 (1/rho - 1/5.4)))`` m/s.
- RiMEA test 6: 20 people round a left corner: all arrive, nobody ever in a wall.
- Bottlenecks (Seyfried et al. 2009, Transp. Sci. 43): the flow grows about
  linearly with the width, specific flow 1.0-2.0 persons/(m s).
- Bodies (diameter 0.3 m) never overlap by more than 10 % of a diameter.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from simulations.crowd import CrowdModel
from simulations.crowd.kernels import cell_lists

ELL = 0.3


def weidmann(rho):
    return 1.34 * (1.0 - np.exp(-1.913 * (1.0 / rho - 1.0 / 5.4)))


def spread(n, x0, x1, y0, y1, rng, gap=0.33):
    """``n`` random points in the box at least ``gap`` apart (random sequential adsorption)."""
    cand = np.column_stack([rng.uniform(x0, x1, 60 * n), rng.uniform(y0, y1, 60 * n)])
    pts = np.empty((n, 2))
    k = 0
    for p in cand:
        if k and np.min(np.hypot(*(pts[:k] - p).T)) < gap:
            continue
        pts[k] = p
        k += 1
        if k == n:
            return pts
    raise AssertionError(f"could not place {n} people")


def in_wall(m, walk, h, pos):
    ok = np.isfinite(pos[:, 0])
    p = pos[ok]
    cols = np.floor(p[:, 0] / h).astype(int)
    rows = np.floor((walk.shape[0] * h - p[:, 1]) / h).astype(int)
    outside = (rows < 0) | (rows >= walk.shape[0]) | (cols < 0) | (cols >= walk.shape[1])
    return int(outside.sum() + (~walk[rows[~outside], cols[~outside]]).sum())


def test_cell_lists_hold_every_agent_once_in_its_cell():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 10, (500, 2))
    alive = np.flatnonzero(rng.random(500) < 0.7)
    start, order = cell_lists(pos, alive, 1.5, 7, 7)
    assert sorted(order.tolist()) == alive.tolist()
    for c in range(49):
        members = order[start[c]:start[c + 1]]
        assert (np.floor(pos[members, 0] / 1.5) + 7 * np.floor(pos[members, 1] / 1.5) == c).all()


def test_rimea_1_one_person_keeps_1_33_m_s_along_40_m():
    h = 0.25
    walk = np.zeros((10, 162), bool)                 # 2 m x 40 m corridor, walls round it
    walk[1:9, 1:161] = True
    exits = np.zeros_like(walk)
    exits[1:9, 161] = True                           # the door at x = 40 m (+ the wall cell)
    m = CrowdModel(walk, h, exits)
    m.add_agents([h], [1.25], desired_speed_ms=1.33)  # at the corridor's west end
    for t in np.arange(1.0, 40.0, 1.0):
        m.advance(t)
        assert in_wall(m, walk, h, m.positions) == 0
    assert 26.0 <= m.exit_times[0] <= 34.0
    assert abs(m.exit_times[0] - 40.0 / 1.33) < 0.2


@pytest.mark.parametrize("rho", [0.5, 1.0, 2.0, 3.0])
def test_rimea_4_speed_density_follows_weidmann(rho):
    """People fill a 58 m x 4 m corridor at density rho; speed and density are measured
    over x = 15-35 m between t = 10 and 20 s (the front's rarefaction, moving back at
    l / T = 0.3 m/s or slower, has not reached x = 35 m)."""
    h, length, width = 0.25, 60.0, 4.0
    walk = np.zeros((int(width / h) + 2, int(length / h)), bool)
    walk[1:-1] = True
    exits = np.zeros_like(walk)
    exits[1:-1, -1] = True
    rng = np.random.default_rng(1)
    n = int(rho * (length - 2.3) * (width - 0.4))
    pts = spread(n, 0.3, length - 2.0, h + 0.2, width + h - 0.2, rng)
    m = CrowdModel(walk, h, exits)
    m.add_agents(pts[:, 0], pts[:, 1], desired_speed_ms=1.34)
    m.advance(10.0)
    p0 = m.positions
    m.advance(20.0)
    p1 = m.positions
    sel = (p0[:, 0] > 15) & (p0[:, 0] < 35)
    assert np.isfinite(p1[sel]).all()
    v = float(np.mean((p1[sel, 0] - p0[sel, 0]) / 10.0))
    density = sel.sum() / (20.0 * width)
    assert abs(v - weidmann(density)) <= 0.15, (density, v, weidmann(density))


def test_rimea_6_twenty_people_round_a_corner_never_touch_a_wall_cell():
    h = 0.25
    walk = np.zeros((50, 50), bool)                  # 12.5 m square grid
    walk[40:48, 1:49] = True                         # leg 1: y 0.5-2.5 m, x 0.25-12.25 m
    walk[1:48, 41:49] = True                         # leg 2 turns north: x 10.25-12.25 m
    exits = np.zeros_like(walk)
    exits[0, 41:49] = True                           # the door at the north end
    m = CrowdModel(walk, h, exits)
    rng = np.random.default_rng(6)
    pts = spread(20, 0.6, 6.0, 0.8, 2.2, rng, gap=0.4)
    m.add_agents(pts[:, 0], pts[:, 1])
    worst = 0
    for t in np.arange(0.5, 40.0, 0.5):
        m.advance(t)
        worst = max(worst, in_wall(m, walk, h, m.positions))
    assert worst == 0
    assert m.balance()["exited"] == 20


def bottleneck_flow(width, h=0.2, n=180, seed=0):
    """People start in an 8 m x 8 m room; a 4 m long corridor of ``width`` leads to an
    open area and an exit. Returns (flow p/s over the middle 80 % of passages,
    smallest distance between two people seen)."""
    walk = np.zeros((40, 80), bool)
    walk[:, :40] = True
    cells = int(round(width / h))
    walk[20 - cells // 2:20 - cells // 2 + cells, 40:60] = True
    walk[:, 60:] = True
    exits = np.zeros_like(walk)
    exits[:, -1] = True
    m = CrowdModel(walk, h, exits, seed=seed)
    pts = spread(n, 0.3, 7.7, 0.3, 7.7, np.random.default_rng(seed), gap=0.4)
    m.add_agents(pts[:, 0], pts[:, 1])
    line, passed, dmin = 10.0, [], np.inf
    before = np.ones(n, bool)
    while m.balance()["exited"] < n and m.time_s < 400:
        m.advance(m.time_s + 0.25)
        p = m.positions
        here = np.isfinite(p[:, 0])
        now = np.where(here, p[:, 0] < line, False)
        passed += [m.time_s] * int((before & ~now).sum())
        before = now
        if here.sum() > 1:
            d, _ = cKDTree(p[here]).query(p[here], k=2)
            dmin = min(dmin, d[:, 1].min())
    passed = np.sort(passed)
    assert passed.size == n
    a, b = int(0.1 * n), int(0.9 * n)
    return (b - a) / (passed[b] - passed[a]), dmin


def test_bottleneck_flow_grows_linearly_with_width_and_bodies_do_not_overlap():
    widths = np.array([1.0, 1.6, 2.2])
    res = [bottleneck_flow(w) for w in widths]
    flows = np.array([r[0] for r in res])
    specific = flows / widths
    assert np.all((specific >= 1.0) & (specific <= 2.0)), specific
    assert np.all(np.diff(flows) > 0)
    slope, icpt = np.polyfit(widths, flows, 1)
    resid = flows - (slope * widths + icpt)
    assert np.abs(resid).max() < 0.1 * flows.max()
    assert min(r[1] for r in res) >= 0.9 * ELL
