"""The KPI board: one number per key indicator at the current replay time.

The cards are the KPIs of the run's engine layers (:class:`viewer.layers.Kpi`).
Each shows its value and, when a run is compared, the difference to it
(``+12.0`` in red when worse). The numbers come from
:meth:`viewer.viewmodel.ViewModel.kpis`.
"""
from __future__ import annotations

from typing import Sequence

from viewer.layers import Kpi
from viewer.readout import Readout

__all__ = ["KpiBoard"]


class KpiBoard:
    """A row of KPI cards (``div.kpi.kpi-<key>``) in one HTML pane, so a frame change
    is one small message and one browser layout.

    Parameters
    ----------
    specs : sequence of Kpi
        The cards, in order.
    css_class : str
        Class of the board's element.

    Examples
    --------
    >>> board = KpiBoard([Kpi("max_depth_m", "Max depth", "m", "{:.2f}")])
    >>> board.update({"max_depth_m": 0.5})
    >>> '<div class="kpi-value">0.50 m</div>' in board.pane.object
    True
    """

    def __init__(self, specs: Sequence[Kpi], *, css_class: str = "kpi-board") -> None:
        self.specs = list(specs)
        self.pane = Readout(self._html({}, None), css_classes=[css_class],
                            stylesheets=[_CSS], sizing_mode="stretch_width", min_height=60)
        self.panel = self.pane

    def set_specs(self, specs: Sequence[Kpi]) -> None:
        """Show other cards (another run's engines)."""
        self.specs = list(specs)
        self.update({})

    def update(self, values: dict[str, float], difference: dict[str, float] | None = None) -> None:
        """Show ``values`` (and ``difference`` to a compared run, if given)."""
        self.pane.object = self._html(values, difference)

    def _html(self, values: dict[str, float], difference: dict[str, float] | None) -> str:
        cards = []
        for k in self.specs:
            html = (f'<div class="kpi kpi-{k.key}"><div class="kpi-label">{k.label}</div>'
                    f'<div class="kpi-value">{k.text(values.get(k.key))}</div>')
            diff = None if difference is None else difference.get(k.key)
            if diff is not None:
                worse = diff > 0 if k.higher_is_worse else diff < 0
                cls = "same" if diff == 0 else "worse" if worse else "better"
                html += f'<div class="kpi-diff {cls}">{k.text(diff, signed=True)}</div>'
            cards.append(html + "</div>")
        return f'<div class="kpis">{"".join(cards)}</div>'


_CSS = """
.kpis { display: flex; gap: 6px; flex-wrap: wrap; }
.kpi { background: #141c28; border: 1px solid #2b3a52; border-radius: 6px; padding: 4px 8px;
       min-width: 112px; flex: 1 1 112px; color: #e8eef8; }
.kpi-label { font-size: 11px; text-transform: uppercase; color: #a9bad2; letter-spacing: .04em; }
.kpi-value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi-diff { font-size: 12px; } .worse { color: #ff8a8a; } .better { color: #7fc8ff; }
.same { color: #a9bad2; }
"""
