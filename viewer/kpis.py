"""The KPI board: one number per key indicator at the current replay time.

Each indicator shows its value and, when a reference run is compared, the
difference to it (``+12.0`` in red when worse). The numbers come from
:meth:`viewer.viewmodel.ViewModel.kpis`.
"""
from __future__ import annotations

import panel as pn

from viewer.viewmodel import KPI_FIELDS

__all__ = ["KpiBoard", "format_kpi"]


def format_kpi(key: str, value: float | None, *, signed: bool = False) -> str:
    """The text of one KPI value with its unit.

    Examples
    --------
    >>> format_kpi("max_depth_m", 1.234)
    '1.23 m'
    >>> format_kpi("buildings_flooded", 3.0, signed=True)
    '+3'
    """
    if value is None:
        return "–"
    _, unit, fmt = KPI_FIELDS[key]
    text = fmt.format(value)
    if signed and value >= 0:
        text = "+" + text
    return f"{text} {unit}".strip()


class KpiBoard:
    """A row of KPI cards with stable CSS classes ``kpi kpi-<key>``.

    Examples
    --------
    >>> board = KpiBoard()
    >>> board.update({"max_depth_m": 0.5})
    >>> board.cards["max_depth_m"].object
    '<div class="kpi-label">Max depth</div><div class="kpi-value">0.50 m</div>'
    """

    def __init__(self) -> None:
        self.cards = {k: pn.pane.HTML(self._html(k, None, None), css_classes=["kpi", f"kpi-{k}"],
                                      stylesheets=[_CSS], margin=(4, 4))
                      for k in KPI_FIELDS}
        self.panel = pn.FlexBox(*self.cards.values(), css_classes=["kpi-board"])

    def update(self, values: dict[str, float], difference: dict[str, float] | None = None) -> None:
        """Show ``values`` (and ``difference`` to a compared run, if given)."""
        for key, card in self.cards.items():
            card.object = self._html(key, values.get(key),
                                     None if difference is None else difference.get(key))

    @staticmethod
    def _html(key: str, value: float | None, diff: float | None) -> str:
        label = KPI_FIELDS[key][0]
        html = (f'<div class="kpi-label">{label}</div>'
                f'<div class="kpi-value">{format_kpi(key, value)}</div>')
        if diff is not None:
            cls = "worse" if diff > 0 else "better" if diff < 0 else "same"
            html += f'<div class="kpi-diff {cls}">{format_kpi(key, diff, signed=True)}</div>'
        return html


_CSS = """
:host { background: #141c28; border: 1px solid #2b3a52; border-radius: 6px; padding: 6px 10px;
        min-width: 120px; color: #e8eef8; }
.kpi-label { font-size: 11px; text-transform: uppercase; color: #8fa3bf; letter-spacing: .05em; }
.kpi-value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi-diff { font-size: 12px; } .worse { color: #ff6b6b; } .better { color: #5fd38d; }
.same { color: #8fa3bf; }
"""
