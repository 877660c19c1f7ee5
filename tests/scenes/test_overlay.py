"""Panels over a picture: where they go, that they carry text, and that long
titles are shortened rather than run off the picture."""
from __future__ import annotations

import numpy as np

from scenes.overlay import PANEL, draw_panels
from scenes.runlayers import DENSITY, DEPTH


def test_clock_top_left_legends_stacked_on_the_right():
    img = np.full((500, 800, 3), 255, np.uint8)
    out, boxes = draw_panels(img, title="Storm", subtitle="14:00",
                             legends=[("flood", DEPTH), ("crowd", DENSITY)])
    assert out.shape == img.shape and out.dtype == np.uint8
    cx0, cy0, cx1, cy1 = boxes["clock"]
    fx0, fy0, fx1, fy1 = boxes["legend:flood"]
    gx0, gy0, gx1, gy1 = boxes["legend:crowd"]
    assert cx0 < 50 and cy0 < 50 and cx1 < fx0                 # clock left of the legends
    assert fx1 == gx1 and fx1 > 750 and fy1 < gy0 and gy1 < 500   # stacked, inside
    for x0, y0, x1, y1 in boxes.values():
        panel = out[y0 + 8:y1 - 8, x0 + 8:x1 - 8].reshape(-1, 3).astype(int)
        dark = np.abs(panel - np.array(PANEL[:3])).max(axis=1) < 60
        assert dark.mean() > 0.4                                 # the dark panel ...
        assert (panel.min(axis=1) > 200).mean() > 0.01           # ... with light text
    outside = out.copy()
    for x0, y0, x1, y1 in boxes.values():
        outside[y0:y1 + 1, x0:x1 + 1] = 255
    assert (outside == 255).all()                                # nothing drawn elsewhere


def test_long_titles_are_shortened_with_an_ellipsis():
    img = np.zeros((300, 400, 3), np.uint8)
    _, boxes = draw_panels(img, title="A very long scenario name " * 6, subtitle="x", legends=[])
    x0, _, x1, _ = boxes["clock"]
    assert x1 - x0 <= 0.6 * 400 + 40
