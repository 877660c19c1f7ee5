"""In-place scene updates: runs of changed cells, absolute updates, a sequence number."""
import base64

import numpy as np

from viewer.scenestream import SceneStream, color_runs, encode


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
