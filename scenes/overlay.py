"""Text panels drawn over a rendered picture: the clock and the legends.

Panels are dark, slightly transparent boxes with light text, so they read
on the bright city and on a dark sky alike. The clock sits in the top left
corner, the legends stack down the right edge. Drawing returns each panel's
box in pixels (``x0, y0, x1, y1``) so callers and tests know where it is.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scenes.runlayers import Legend

__all__ = ["draw_panels", "PANEL", "TEXT"]

PANEL = (16, 22, 32, 215)
"""Panel fill (RGBA)."""
TEXT = (236, 240, 245, 255)
"""Main text colour."""
_MUTED = (170, 182, 196, 255)


@lru_cache(maxsize=16)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (shipped with matplotlib, a pyvista dependency): it has the
    en dash, the ≥ sign and superscripts the legends use."""
    import matplotlib
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    return ImageFont.truetype(str(path), size)


def draw_panels(rgb: np.ndarray, *, title: str, subtitle: str,
                legends: Sequence[tuple[str, Legend]]) -> tuple[np.ndarray, dict[str, tuple]]:
    """Draw the clock panel and one legend panel per layer on a picture.

    Parameters
    ----------
    rgb : numpy.ndarray
        ``(height, width, 3)`` uint8 picture.
    title, subtitle : str
        The clock panel's two lines (the run's name; the frame's time).
    legends : sequence of (str, Legend)
        Layer name and legend, top to bottom.

    Returns
    -------
    picture : numpy.ndarray
        The picture with the panels, ``(height, width, 3)`` uint8.
    boxes : dict
        ``"clock"`` and ``"legend:<layer>"`` -> ``(x0, y0, x1, y1)`` pixels.

    Examples
    --------
    >>> from scenes.runlayers import DEPTH
    >>> img, boxes = draw_panels(np.zeros((400, 600, 3), np.uint8), title="Storm",
    ...                          subtitle="14:00", legends=[("flood", DEPTH)])
    >>> sorted(boxes)
    ['clock', 'legend:flood']
    """
    h, w = rgb.shape[:2]
    scale = max(0.6, min(w / 1600, h / 1000) * 1.0)
    base = Image.fromarray(np.ascontiguousarray(rgb[..., :3])).convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    pad, margin = int(14 * scale), int(18 * scale)
    boxes = {"clock": _clock(draw, title, subtitle, margin, pad, scale, w)}
    top = margin
    for name, legend in legends:
        box = _legend(draw, legend, w - margin, top, pad, scale)
        boxes[f"legend:{name}"] = box
        top = box[3] + int(12 * scale)
    out = Image.alpha_composite(base, layer).convert("RGB")
    return np.asarray(out), boxes


def _clock(draw, title, subtitle, margin, pad, scale, width) -> tuple:
    big, small = _font(int(28 * scale), True), _font(int(19 * scale))
    limit = int(width * 0.6)
    title = _fit(draw, title, big, limit)
    subtitle = _fit(draw, subtitle, small, limit)
    tw = max(draw.textlength(title, font=big), draw.textlength(subtitle, font=small))
    x0, y0 = margin, margin
    line = int(38 * scale)
    x1, y1 = int(x0 + tw + 2 * pad), int(y0 + 2 * pad + line + int(24 * scale))
    draw.rounded_rectangle((x0, y0, x1, y1), radius=int(8 * scale), fill=PANEL)
    draw.text((x0 + pad, y0 + pad), title, font=big, fill=TEXT)
    draw.text((x0 + pad, y0 + pad + line), subtitle, font=small, fill=_MUTED)
    return (x0, y0, x1, y1)


def _fit(draw, text: str, font, limit: int) -> str:
    """Shorten ``text`` with an ellipsis until it is at most ``limit`` pixels wide."""
    if draw.textlength(text, font=font) <= limit:
        return text
    while len(text) > 4 and draw.textlength(text + "…", font=font) > limit:
        text = text[:-1]
    return text.rstrip() + "…"


def _legend(draw, legend: Legend, right: int, top: int, pad: int, scale: float) -> tuple:
    head, body = _font(int(19 * scale), True), _font(int(17 * scale))
    title = f"{legend.title} ({legend.units})"
    labels = legend.labels[::-1]                      # highest class on top
    colors = [tuple(int(v) for v in c) for c in legend.rgb[::-1]]
    sw, row = int(30 * scale), int(27 * scale)
    width = max(draw.textlength(title, font=head),
                sw + int(10 * scale) + max(draw.textlength(t, font=body) for t in labels))
    x1 = right
    x0 = int(right - width - 2 * pad)
    y0 = top
    y1 = int(top + 2 * pad + int(32 * scale) + row * len(labels))
    draw.rounded_rectangle((x0, y0, x1, y1), radius=int(8 * scale), fill=PANEL)
    draw.text((x0 + pad, y0 + pad), title, font=head, fill=TEXT)
    y = y0 + pad + int(32 * scale)
    for label, color in zip(labels, colors):
        draw.rectangle((x0 + pad, y + 2, x0 + pad + sw, y + row - 5), fill=color + (255,),
                       outline=_MUTED, width=1)
        draw.text((x0 + pad + sw + int(10 * scale), y + 1), label, font=body, fill=TEXT)
        y += row
    return (x0, y0, x1, y1)
