"""Off-screen rendering: a PNG of the right size, mostly showing the city."""
from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from scenes.meshes import city_scene
from scenes.snapshot import render_png


def _pixels(path) -> np.ndarray:
    image = pv.read(path)
    w, h, _ = image.dimensions
    return np.asarray(image.point_data[image.point_data.keys()[0]])[:, :3].reshape(h, w, 3)


@pytest.mark.parametrize("view", ["oblique", "top"])
def test_render_png_shows_the_city(city, tmp_path, view):
    path = render_png(city_scene(city), tmp_path / f"{view}.png", window_size=(480, 300),
                      view=view)
    assert path.exists() and not list(tmp_path.glob("*partial*"))
    rgb = _pixels(path).astype(int)
    assert rgb.shape == (300, 480, 3)
    sky = rgb[:, :1, :]                                       # the left edge is background
    differs = np.abs(rgb - sky).max(axis=2) > 12
    assert differs.mean() > 0.15
    colours = np.unique(rgb.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 50                                  # terrain ramp, buildings, water


def test_render_png_rejects_unknown_view(city, tmp_path):
    with pytest.raises(ValueError, match="oblique"):
        render_png(city_scene(city), tmp_path / "x.png", view="sideways")
