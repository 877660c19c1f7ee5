"""A text readout that changes often (KPI numbers, the replay clock).

Panel's HTML pane re-sends its stylesheets with every new text; the browser
then lays out the whole page again, and the 3D view redraws itself twice on
every layout (seconds in software WebGL). A :class:`Readout` sends only the
text, which the browser swaps in place.
"""
from __future__ import annotations

import panel as pn
from bokeh.model import Model

__all__ = ["Readout"]


class Readout(pn.pane.HTML):
    """An HTML pane whose updates send only the new text.

    Examples
    --------
    >>> r = Readout("<b>1.0 m</b>")
    >>> r.object = "<b>2.0 m</b>"
    >>> r.object
    '<b>2.0 m</b>'
    """

    def _update(self, ref: str, model: Model) -> None:
        model.update(text=self._get_properties(model.document)["text"])
