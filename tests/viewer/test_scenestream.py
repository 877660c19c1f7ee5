"""In-place scene updates: runs of changed cells, absolute updates, a sequence number."""
import base64
import zlib

import numpy as np

from viewer.scenestream import SceneStream, click_ray, color_runs, encode, quantize, vertex_update


def decode(text, dtype):
    return np.frombuffer(base64.b64decode(text), dtype)


def test_runs_rebuild_the_new_colours_from_the_old():
    rng = np.random.default_rng(0)
    old = rng.integers(0, 256, (500, 3)).astype(np.uint8)
    new = old.copy()
    changed = rng.random(500) < 0.2
    new[changed] = rng.integers(0, 256, (changed.sum(), 3))
    runs = color_runs(old, new)
    start, length = decode(runs["start"], "<u4"), decode(runs["length"], "<u4")
    rgb = decode(runs["rgb"], np.uint8).reshape(-1, 3)
    rebuilt, p = old.copy(), 0
    for s, n in zip(start, length):                 # what the browser does, cell by cell
        rebuilt[s:s + n] = rgb[p:p + n]
        p += n
    assert (rebuilt == new).all() and p == len(rgb)
    assert length.sum() == (old != new).any(axis=1).sum()        # only changed cells travel
    assert (np.diff(start) > length[:-1]).all()                  # maximal, separate runs


def test_no_change_sends_nothing():
    a = np.zeros((4, 3), np.uint8)
    assert color_runs(a, a.copy()) is None


def test_every_send_is_a_new_numbered_update():
    stream = SceneStream()
    stream.send({"visible": {"a": True}})
    stream.send({"visible": {"a": True}})
    assert stream.delta == {"visible": {"a": True}, "seq": 2}
    assert decode(encode(np.array([1.5], "<f4")), "<f4")[0] == 1.5


def inflate(text, dtype):
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype)


def apply(state, update):
    """What the browser does with a surface update: set the changed vertices."""
    z, cls = state[0].copy(), state[1].copy()
    new_z, new_cls = inflate(update["z"], "<u2"), inflate(update["cls"], np.uint8)
    if update.get("full"):
        return new_z.copy(), new_cls.copy()
    changed = np.unpackbits(inflate(update["changed"], np.uint8))[:z.size].astype(bool)
    z[changed], cls[changed] = new_z, new_cls
    return z, cls


def test_surface_updates_carry_only_changed_vertices_and_rebuild_each_frame():
    rng = np.random.default_rng(1)
    n = 5000
    frames = []
    level = np.full(n, -1.0)
    for _ in range(6):                            # water spreading over a fifth more each time
        grow = rng.random(n) < 0.2
        level = np.where(grow | (level > 0), np.abs(level) + rng.random(n) * 0.1, level)
        frames.append((quantize(level, -20.0, 0.01), (level > 0.5).astype(np.uint8)))
    browser = frames[0]
    for old, new in zip(frames, frames[1:]):
        u = vertex_update(old, new)
        browser = apply(browser, u)
        assert (browser[0] == new[0]).all() and (browser[1] == new[1]).all()
        changed = ((old[0] != new[0]) | (old[1] != new[1])).sum()
        assert inflate(u["z"], "<u2").size == changed                # one per changed vertex
        assert inflate(u["cls"], np.uint8).size == changed
        assert inflate(u["changed"], np.uint8).size == -(-n // 8)   # one bit per vertex
        raw = 3 * changed + n / 8
        assert sum(len(base64.b64decode(u[k])) for k in ("z", "cls", "changed")) < raw
    up = frames[-1][0] > 2000
    with_up = vertex_update(frames[-2], frames[-1], up)
    assert (np.unpackbits(inflate(with_up["up"], np.uint8))[:n].astype(bool) == up).all()
    full = vertex_update(None, frames[-1])
    assert full["full"] and (apply((np.zeros(n, np.uint16), np.zeros(n, np.uint8)), full)[0]
                             == frames[-1][0]).all()
    assert inflate(vertex_update(frames[2], frames[2])["z"], "<u2").size == 0   # no change


def test_heights_are_quantised_to_the_step_within_the_range():
    z = np.array([-30.0, -20.0, 1.234, 700.0])
    q = quantize(z, -20.0, 0.01)
    assert q.dtype == np.uint16 and q.tolist() == [0, 0, 2123, 65535]
    assert abs(-20.0 + q[2] * 0.01 - 1.234) <= 0.005


def test_a_click_is_a_ray_through_the_pixel():
    cam = {"position": [0, -10, 10], "focal": [0, 0, 0], "up": [0, 0, 1], "angle": 90,
           "aspect": 2.0}
    o, d = click_ray({**cam, "x": 0, "y": 0})
    assert np.allclose(o, [0, -10, 10]) and np.allclose(d, np.array([0, 1, -1]) / np.sqrt(2))
    _, right = click_ray({**cam, "x": 1, "y": 0})              # the right edge: 45 deg * aspect
    assert right[0] > 0 and np.isclose(np.dot(right, d), 1 / np.sqrt(1 + 4))
