"""Colours of states: ramps, classes, and readability on the dark background."""
import numpy as np
import pytest

from viewer import palette


def test_ramp_interpolates_and_clamps():
    stops = ((0.0, (0, 0, 0)), (10.0, (100, 200, 50)))
    assert palette.ramp([5.0, -1.0, 20.0, np.nan], stops).tolist() == [
        [50, 100, 25], [0, 0, 0], [100, 200, 50], [0, 0, 0]]


def test_classes_follow_their_breaks():
    out = palette.classify([0.0, 0.15, 0.29, 0.3, 5.0, np.nan], palette.DEPTH_BREAKS,
                           palette.DEPTH_COLORS)
    expected = [palette.DEPTH_COLORS[k] for k in (0, 1, 1, 2, 5, 0)]
    assert out.tolist() == [list(c) for c in expected]
    with pytest.raises(ValueError, match="colors"):
        palette.classify([1.0], (1.0,), ((0, 0, 0),))


def test_class_labels_name_the_unit():
    assert palette.class_labels((0.15, 0.3), "m") == ["< 0.15 m", "0.15–0.3 m", "≥ 0.3 m"]


@pytest.mark.parametrize("colors", [
    [c for _, c in palette.HEIGHT_STOPS], list(palette.DEPTH_COLORS),
    list(palette.IMPACT_COLORS), list(palette.SENSOR_STATUS_COLORS.values()),
    [palette.ROAD_CLOSED, palette.HIGHLIGHT]])
def test_every_colour_stands_out_from_the_dark_background(colors):
    # WCAG asks 3:1 for graphics; the old height ramp ended in navy at 1.3:1
    assert min(palette.contrast(c) for c in colors) >= 3.0


def test_ramps_change_in_lightness_so_colour_blind_eyes_can_order_them():
    def lightness(c):
        return palette.contrast(c, (0, 0, 0))
    height = [lightness(c) for _, c in palette.HEIGHT_STOPS]
    assert height == sorted(height)                         # viridis: darker -> lighter
    depth = [lightness(c) for c in palette.DEPTH_COLORS[:4]]
    assert depth == sorted(depth, reverse=True)             # pale shallow -> deeper blue


def test_hex_color():
    assert palette.hex_color((255, 0, 16)) == "#ff0010"
