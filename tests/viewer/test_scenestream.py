"""In-place scene updates: runs of changed cells, absolute updates, a sequence number."""
import base64

import numpy as np

from viewer.scenestream import SceneStream, click_ray, color_runs, encode, pack_surface


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


def test_a_grid_frame_is_packed_small_and_exact():
    rng = np.random.default_rng(1)
    shown = rng.random(1000) < 0.3
    level = 20.0 + rng.random(400) * 5
    colors = np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90]], np.uint8)
    rgb = colors[rng.integers(0, 3, shown.sum())]
    p = pack_surface(shown, level, rgb, floor=19.5)
    assert (np.unpackbits(decode(p["wet"], np.uint8))[:1000] == shown).all()
    back = 19.5 + decode(p["level"], "<u2") / 100
    assert np.abs(back - level).max() <= 0.005                  # centimetres
    palette = decode(p["palette"], np.uint8).reshape(-1, 3)
    assert (palette[decode(p["cls"], np.uint8)] == rgb).all() and len(palette) == 3
    raw = shown.sum() * 3 + level.size * 4                     # what float32 + RGB would send
    assert len(base64.b64decode(p["cls"])) + len(base64.b64decode(p["level"])) < 0.6 * raw


def test_a_click_is_a_ray_through_the_pixel():
    cam = {"position": [0, -10, 10], "focal": [0, 0, 0], "up": [0, 0, 1], "angle": 90,
           "aspect": 2.0}
    o, d = click_ray({**cam, "x": 0, "y": 0})
    assert np.allclose(o, [0, -10, 10]) and np.allclose(d, np.array([0, 1, -1]) / np.sqrt(2))
    _, right = click_ray({**cam, "x": 1, "y": 0})              # the right edge: 45 deg * aspect
    assert right[0] > 0 and np.isclose(np.dot(right, d), 1 / np.sqrt(1 + 4))
