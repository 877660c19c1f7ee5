"""CrowdModel: RiMEA 5, 9 and 12, the people account, exchanges (blocked cells,
closed exits), assigned exits, unreachable people, outputs and bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from simulations.crowd import CrowdModel


def room(w, hgt, h, doors, wall=0.5):
    """A ``w`` x ``hgt`` m room inside a ``wall`` thick wall; ``doors``: name -> (side, centre, width).

    A door is a gap through the wall; its exit is the outermost cell row of the gap.
    Returns (walkable, exits dict, offset): room coordinates + offset = model coordinates.
    """
    k = int(round(wall / h))
    rows, cols = int(round(hgt / h)) + 2 * k, int(round(w / h)) + 2 * k
    walk = np.zeros((rows, cols), bool)
    walk[k:rows - k, k:cols - k] = True
    exits = {}
    for name, (side, centre, width) in doors.items():
        a = int(round((centre - width / 2) / h)) + k
        b = a + int(round(width / h))
        m = np.zeros_like(walk)
        if side in ("west", "east"):
            ra, rb = rows - b, rows - a                 # y runs north, rows south
            cs = slice(0, k) if side == "west" else slice(cols - k, cols)
            walk[ra:rb, cs] = True
            m[ra:rb, 0 if side == "west" else cols - 1] = True
        else:
            rs = slice(0, k) if side == "north" else slice(rows - k, rows)
            walk[rs, a:b] = True
            m[0 if side == "north" else rows - 1, a:b] = True
        exits[name] = m
    return walk, exits, k * h


def lattice(n, x0, x1, y0, y1, rng, jitter=0.1):
    """``n`` people on a jittered lattice filling the box."""
    ratio = (x1 - x0) / (y1 - y0)
    ny = int(np.ceil(np.sqrt(n / ratio)))
    nx = int(np.ceil(n / ny))
    gx, gy = np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny))
    pick = rng.permutation(nx * ny)[:n]
    return (gx.ravel()[pick] + rng.uniform(-jitter, jitter, n),
            gy.ravel()[pick] + rng.uniform(-jitter, jitter, n))


def evacuate(m, limit=2000.0, step=20.0):
    while m.balance()["exited"] < m.balance()["added"] and m.time_s < limit:
        m.advance(m.time_s + step)
    return float(np.nanmax(m.exit_times))


# ------------------------------------------------------------------ RiMEA 9
def test_rimea_9_closing_two_of_four_exits_doubles_the_evacuation_time():
    """1000 people in a 30 m x 20 m room with four 1 m doors, then two: time ratio 1.6-2.4.

    The doors are 1 m deep passages (people leave at their far end)."""
    h = 0.5
    doors = {"w_north": ("west", 17.0, 1.0), "w_south": ("west", 3.0, 1.0),
             "e_north": ("east", 17.0, 1.0), "e_south": ("east", 3.0, 1.0)}
    walk, exits, off = room(30.0, 20.0, h, doors, wall=1.0)
    x, y = lattice(1000, 0.6, 29.4, 0.6, 19.4, np.random.default_rng(9))
    times, used = [], []
    for closed in ([], ["e_north", "e_south"]):
        m = CrowdModel(walk, h, exits, seed=9)
        for name in closed:
            m.close_exit(name)
        m.add_agents(x + off, y + off)
        times.append(evacuate(m))
        used.append(dict(zip(m.exits, m.state().exited.values.tolist())))
        assert m.balance() == {"added": 1000, "waiting": 0, "inside": 0, "exited": 1000,
                               "unreachable": 0, "error": 0}
    assert used[1]["e_north"] == used[1]["e_south"] == 0
    assert min(used[0].values()) > 150                     # all four doors carry people
    assert 1.6 <= times[1] / times[0] <= 2.4, times


# ------------------------------------------------------------------ RiMEA 12
def test_rimea_12_jam_at_the_corridor_entrance_none_at_the_final_exit():
    """150 people in a 10 m x 10 m room leave by a 1 m wide, 10 m long corridor into a
    second 10 m x 10 m room with a 1 m exit: the jam forms before the corridor, not
    before the exit (the corridor meters the flow the exit then takes)."""
    h = 0.25
    walk = np.zeros((40, 120), bool)                      # 10 m x 30 m
    walk[:, :40] = True                                   # room 1: x 0-10 m
    walk[18:22, 40:80] = True                             # corridor: x 10-20 m, y 4.5-5.5 m
    walk[:, 80:119] = True                                # room 2: x 20-29.75 m
    walk[18:22, 119] = True
    exits = np.zeros_like(walk)
    exits[18:22, 119] = True                              # 1 m exit at x = 30 m
    m = CrowdModel(walk, h, exits, seed=12)
    x, y = lattice(150, 0.5, 8.0, 0.5, 9.5, np.random.default_rng(12))
    m.add_agents(x, y)
    evacuate(m, step=10.0)
    peak = m.result().peak_density.values
    cx, cy = np.meshgrid((np.arange(120) + 0.5) * h, 10.0 - (np.arange(40) + 0.5) * h)
    before_corridor = (cx < 10) & (np.hypot(cx - 10, cy - 5) < 2.0)
    before_exit = (cx > 20) & (cx < 29.75) & (np.hypot(cx - 29.75, cy - 5) < 2.0)
    assert peak[before_corridor].max() > 2.5               # a jam
    assert peak[before_exit].max() < 1.5                   # free flow
    assert peak[before_corridor].max() > 2 * peak[before_exit].max()


# ------------------------------------------------------------------ pre-movement, balance
def test_rimea_5_people_start_at_their_premovement_times_and_the_account_is_exact():
    h = 0.25
    walk, exits, off = room(8.0, 5.0, h, {"door": ("west", 2.5, 1.0)})
    rng = np.random.default_rng(5)
    start = rng.uniform(10.0, 100.0, 10)
    x, y = lattice(10, 5.5, 7.5, 1.0, 4.0, rng)
    m = CrowdModel(walk, h, exits)
    m.add_agents(x + off, y + off, desired_speed_ms=1.2, start_s=start)
    p0 = m.positions
    for t in np.arange(2.0, 160.0, 2.0):
        m.advance(t)
        b = m.balance()
        assert b["error"] == 0
        assert b["waiting"] == int((start > t).sum())
        assert b["waiting"] + b["inside"] + b["exited"] == b["added"] == 10
        still = start > t
        np.testing.assert_array_equal(m.positions[still], p0[still])
    assert m.balance()["exited"] == 10
    walked = m.exit_times - start                         # about 6 m at 1.2 m/s each
    assert np.all((walked > 3.0) & (walked < 12.0))


def test_people_added_later_join_the_account():
    walk, exits, off = room(10.0, 4.0, 0.5, {"door": ("east", 2.0, 1.0)})
    m = CrowdModel(walk, 0.5, exits)
    m.add_agents([1.0 + off], [2.0 + off])
    m.advance(5.0)
    m.add_agents([2.0 + off, 3.0 + off], [1.0 + off, 3.0 + off], start_s=[5.0, 20.0])
    b = m.balance()
    assert (b["added"], b["waiting"], b["error"]) == (3, 1, 0)
    evacuate(m)
    assert m.balance()["exited"] == 3 and m.exit_times[2] > 20.0


# ------------------------------------------------------------------ exchanges
def test_closed_exit_reroutes_and_counts_per_exit():
    walk, exits, off = room(20.0, 4.0, 0.5, {"west": ("west", 2.0, 1.0), "east": ("east", 2.0, 1.0)})
    m = CrowdModel(walk, 0.5, exits)
    m.add_agents([15.0 + off, 5.0 + off], [2.0 + off, 2.0 + off], desired_speed_ms=1.0)
    m.close_exit("east")
    evacuate(m)
    assert m.state().exited.sel(exit="west").item() == 2
    assert m.exit_used.tolist() == ["west", "west"]
    assert m.exit_times[0] > 15.0                          # walked the long way
    m2 = CrowdModel(walk, 0.5, exits)
    m2.close_exit("east")
    m2.open_exit("east")
    m2.add_agents([15.0 + off], [2.0 + off])
    evacuate(m2)
    assert m2.exit_used.tolist() == ["east"]


def test_assigned_exit_is_used_and_falls_back_when_closed():
    walk, exits, off = room(20.0, 4.0, 0.5, {"west": ("west", 2.0, 1.0), "east": ("east", 2.0, 1.0)})
    m = CrowdModel(walk, 0.5, exits)
    m.add_agents([15.0 + off] * 2, [1.5 + off, 2.5 + off], exit=["west", None])
    evacuate(m)
    assert m.exit_used.tolist() == ["west", "east"]
    m = CrowdModel(walk, 0.5, exits)
    m.add_agents([15.0 + off], [2.0 + off], exit="west")
    m.close_exit("west")
    evacuate(m)
    assert m.exit_used.tolist() == ["east"]


def test_blocked_cells_reroute_people_and_nobody_walks_into_them():
    """A 30 m x 20 m yard, exit in the east wall; water blocks x = 14-16 m except a
    2 m ford at the north edge: people detour through the ford."""
    h = 0.5
    walk, exits, off = room(30.0, 20.0, h, {"east": ("east", 10.0, 2.0)})
    m = CrowdModel(walk, h, exits)
    x, y = lattice(40, 2.0, 8.0, 8.0, 12.0, np.random.default_rng(3))
    m.add_agents(x + off, y + off, desired_speed_ms=1.2)
    cx, cy = np.meshgrid((np.arange(walk.shape[1]) + 0.5) * h - off,
                         walk.shape[0] * h - (np.arange(walk.shape[0]) + 0.5) * h - off)
    water = (cx > 14) & (cx < 16) & (cy < 18)
    m.set_blocked(water)
    for t in np.arange(1.0, 200.0, 1.0):
        m.advance(t)
        p = m.positions[np.isfinite(m.positions[:, 0])]
        if p.size:
            assert not ((p[:, 0] - off > 14) & (p[:, 0] - off < 16) & (p[:, 1] - off < 18)).any()
    assert m.balance()["exited"] == 40
    direct = (30.0 - 8.0) / 1.2
    assert np.nanmin(m.exit_times) > direct                  # nobody got through the water


def test_people_caught_in_a_newly_blocked_cell_wade_out_and_leave():
    h = 0.5
    walk, exits, off = room(20.0, 6.0, h, {"east": ("east", 3.0, 2.0)})
    m = CrowdModel(walk, h, exits)
    m.add_agents([5.0 + off], [3.0 + off])
    cx = (np.arange(walk.shape[1]) + 0.5) * h - off
    m.set_blocked(np.broadcast_to((cx > 3) & (cx < 7), walk.shape) & walk)
    assert m.balance()["unreachable"] == 0
    evacuate(m)
    assert m.balance()["exited"] == 1


def test_density_weighting_spreads_people_over_exits():
    h = 0.5
    walk, exits, off = room(20.0, 10.0, h, {"near": ("west", 5.0, 1.0), "far": ("east", 5.0, 1.0)})
    x, y = lattice(200, 0.5, 7.0, 0.5, 9.5, np.random.default_rng(4))
    far = []
    for weight in (0.0, 3.0):
        m = CrowdModel(walk, h, exits, density_weight=weight, reroute_every_s=5.0)
        m.add_agents(x + off, y + off)
        evacuate(m)
        far.append(int(m.state().exited.sel(exit="far")))
    assert far[0] == 0 and far[1] > 20


# ------------------------------------------------------------------ unreachable
def test_people_who_cannot_reach_an_exit_are_counted_and_the_run_ends():
    h = 0.5
    walk, exits, off = room(20.0, 6.0, h, {"east": ("east", 3.0, 2.0)})
    walk[:, 20] = False                                    # a wall across the room at x = 9.5 m
    m = CrowdModel(walk, h, exits)
    with pytest.warns(UserWarning, match="2 of 3 people cannot reach"):
        m.add_agents([2.0 + off, 4.0 + off, 15.0 + off], [3.0 + off] * 3)
    m.advance(300.0)
    b = m.balance()
    assert (b["unreachable"], b["exited"], b["inside"], b["error"]) == (2, 1, 2, 0)
    m.close_exit("east")
    assert m.balance()["unreachable"] == 2                 # the exited one is out


# ------------------------------------------------------------------ outputs
def test_run_frames_density_and_results():
    h = 0.5
    walk, exits, off = room(10.0, 10.0, h, {"door": ("east", 5.0, 2.0)})
    m = CrowdModel(walk, h, exits)
    x, y = lattice(100, 2.0, 7.0, 2.0, 7.0, np.random.default_rng(1), jitter=0.05)
    m.add_agents(x + off, y + off, start_s=5.0)
    first = m.state()
    area_density = 100 / 25.0                              # 4 persons/m2 over a 5 m x 5 m block
    inner = first.density.sel(x=slice(3.5 + off, 5.5 + off), y=slice(5.5 + off, 3.5 + off))
    assert abs(float(inner.mean()) - area_density) < 0.15 * area_density
    assert abs(float(first.density.sum()) * h * h - 100) < 1.0   # the kernel keeps the count
    ds = m.run(120.0, 10.0)
    assert ds.density.dims == ("time", "y", "x") and ds.exited.dims == ("time", "exit")
    out = ds.exited.sum("exit").values
    assert np.all(np.diff(out) >= 0) and out[-1] == 100
    assert (ds.inside.values + out == 100).all()
    assert float(ds.evacuation_time) == pytest.approx(np.nanmax(m.exit_times))
    assert float(ds.peak_density.max()) >= area_density * 0.85
    assert np.isnan(m.positions).all() and np.all(m.exit_times > 5.0)
    s = m.stats()
    assert s["steps"] > 0 and s["agent_seconds"] > 0 and s["dt_s"] == 0.05


def test_output_coordinates_follow_the_origin():
    walk, exits, off = room(10.0, 4.0, 0.5, {"door": ("east", 2.0, 1.0)})
    m = CrowdModel(walk, 0.5, exits, origin=(500_000.0, 3_400_000.0), threads=1)
    ds = m.state()
    assert ds.x.values[0] == 500_000.25 and ds.y.values[0] == 3_399_999.75
    assert float(CrowdModel(walk, 0.5, exits).state().y[-1]) == 0.25


# ------------------------------------------------------------------ bad input
@pytest.fixture()
def small():
    walk, exits, off = room(10.0, 4.0, 0.5, {"door": ("east", 2.0, 1.0)})
    return CrowdModel(walk, 0.5, exits), walk, exits, off


@pytest.mark.parametrize("kwargs, match", [
    ({"walkable": np.ones((4, 4))}, "walkable"),
    ({"cell_size": 0.0}, "cell_size"),
    ({"cell_size": np.nan}, "cell_size"),
    ({"exits": np.zeros((4, 4), bool)}, "exits"),
    ({"dt_s": 0.6}, "dt_s"),
    ({"density_weight": -1.0}, "density_weight"),
    ({"threads": 0}, "threads"),
])
def test_bad_model_arguments_are_named(kwargs, match):
    args = {"walkable": np.ones((4, 4), bool), "cell_size": 0.5,
            "exits": np.eye(4, dtype=bool)}
    args.update(kwargs)
    rest = {k: v for k, v in args.items() if k not in ("walkable", "cell_size", "exits")}
    with pytest.raises(ValueError, match=match):
        CrowdModel(args["walkable"], args["cell_size"], args["exits"], **rest)


@pytest.mark.parametrize("kwargs, match", [
    ({"x": [1.0, np.nan], "y": [1.0, 1.0]}, "x has NaN"),
    ({"x": [1.0], "y": [1.0, 2.0]}, "equal length"),
    ({"desired_speed_ms": -1.0}, "desired_speed_ms"),
    ({"desired_speed_ms": np.nan}, "desired_speed_ms"),
    ({"start_s": -5.0}, "start_s"),
    ({"exit": "north"}, "exit 'north' unknown|exit \\['north'\\] unknown"),
])
def test_bad_agent_arguments_are_named(small, kwargs, match):
    m, _, _, off = small
    args = {"x": [1.0 + off, 2.0 + off], "y": [1.0 + off, 1.0 + off]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        m.add_agents(**args)
    assert m.balance()["added"] == 0                       # nothing half-added


def test_people_in_walls_or_outside_are_rejected_or_dropped(small):
    m, walk, _, off = small
    xs, ys = [1.0 + off, 0.1, -3.0, 2.0 + off], [1.0 + off, 0.1, 1.0, 1.0 + off]
    with pytest.raises(ValueError, match=r"2 of 4 positions .*indices \[1, 2\]"):
        m.add_agents(xs, ys)
    with pytest.warns(UserWarning, match="dropped"):
        ids = m.add_agents(xs, ys, on_invalid="drop")
    assert ids.tolist() == [0, 1] and m.balance()["added"] == 2


def test_bad_exchanges_and_times(small):
    m, walk, _, _ = small
    with pytest.raises(ValueError, match="set_blocked"):
        m.set_blocked(np.zeros((2, 2), bool))
    with pytest.raises(ValueError, match="exit 'nope' unknown"):
        m.close_exit("nope")
    m.advance(5.0)
    with pytest.raises(ValueError, match="until_s"):
        m.advance(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.advance(5.0)                                     # standing still is fine


@pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")
def test_frames_store_in_zarr(tmp_path):
    zarr = pytest.importorskip("zarr")
    walk, exits, off = room(10.0, 4.0, 0.5, {"door": ("east", 2.0, 1.0)})
    labels = np.where(exits["door"], 7, 0)
    m = CrowdModel(walk, 0.5, labels)
    m.add_agents([2.0 + off, 4.0 + off], [2.0 + off, 2.5 + off])
    ds = m.run(30.0, 10.0)
    ds.to_zarr(tmp_path / "crowd.zarr", consolidated=False)
    import xarray as xr
    back = xr.open_zarr(tmp_path / "crowd.zarr", consolidated=False).load()
    assert back.exit.values.tolist() == ["7"] and int(back.exited[-1, 0]) == 2
    assert back.exit_used.values.tolist() == ["7", "7"]
    assert zarr is not None
