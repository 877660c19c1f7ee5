"""The legend: the key of every colouring on screen (units, class breaks, ramps),
rebuilt when the colour mode, the layers or the run change.

Examples
--------
>>> from viewer.layers import Legend
>>> html = legend_html([Legend("Water depth", "m", classes=(("< 0.15 m", (190, 232, 255)),))])
>>> 'class="legend-item"' in html and "0.15 m" in html
True
"""
from __future__ import annotations

import html as _html
from typing import Sequence

from viewer.layers import Legend
from viewer.palette import hex_color
from viewer.readout import Readout

__all__ = ["LegendBox", "legend_html"]


def legend_html(legends: Sequence[Legend]) -> str:
    """HTML of a set of legends: swatches for classes, a gradient bar with its
    stops for ramps."""
    blocks = []
    for lg in legends:
        title = _html.escape(lg.title + (f" ({lg.unit})" if lg.unit and lg.kind == "ramp" else ""))
        if lg.kind == "ramp":
            lo, hi = lg.stops[0][0], lg.stops[-1][0]
            grad = ", ".join(f"{hex_color(c)} {100 * (v - lo) / (hi - lo or 1):.0f}%"
                             for v, c in lg.stops)
            ticks = "".join(f'<span>{v:g}</span>' for v, _ in lg.stops)
            body = (f'<div class="legend-ramp" style="background:linear-gradient(90deg,{grad})">'
                    f'</div><div class="legend-ticks">{ticks}</div>')
        else:
            body = "".join(f'<span class="legend-item"><i style="background:{hex_color(c)}">'
                           f'</i>{_html.escape(str(label))}</span>' for label, c in lg.classes)
        blocks.append(f'<div class="legend legend-{lg.key}"><div class="legend-title">{title}'
                      f'</div>{body}</div>')
    return f'<div class="legends">{"".join(blocks)}</div>'


class LegendBox:
    """A pane of legends that sends only its text when they change.

    Examples
    --------
    >>> box = LegendBox()
    >>> box.show([Legend("Sensors", classes=(("ok", (70, 170, 255)),))])
    >>> "Sensors" in box.pane.object
    True
    """

    def __init__(self) -> None:
        self.pane = Readout(legend_html([]), css_classes=["legend-box"], stylesheets=[_CSS],
                            sizing_mode="stretch_width")
        self.panel = self.pane

    def show(self, legends: Sequence[Legend]) -> None:
        """Show ``legends`` (nothing is sent when they are the same)."""
        text = legend_html(legends)
        if text != self.pane.object:
            self.pane.object = text


_CSS = """
.legends { display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 12px; color: #dfe7f3; }
.legend-title { font-weight: 600; color: #a9bad2; margin-bottom: 2px; }
.legend-item { display: inline-flex; align-items: center; margin-right: 10px; white-space: nowrap; }
.legend-item i { display: inline-block; width: 14px; height: 12px; margin-right: 4px;
                 border: 1px solid #44546c; border-radius: 2px; }
.legend-ramp { width: 200px; height: 12px; border: 1px solid #44546c; border-radius: 2px; }
.legend-ticks { display: flex; justify-content: space-between; width: 200px; font-size: 11px; }
"""
