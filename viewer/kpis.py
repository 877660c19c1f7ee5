"""The KPI board: one number per key indicator at the current replay time.

Each indicator shows its value and, when a reference run is compared, the
difference to it (``+12.0`` in red when worse). The numbers come from
:meth:`viewer.viewmodel.ViewModel.kpis`.
"""
from __future__ import annotations


from viewer.readout import Readout
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
    """A row of KPI cards (``div.kpi.kpi-<key>``) in one HTML pane, so a frame change
    is one small message and one browser layout.

    Parameters
    ----------
    width : int, optional
        Fixed width in pixels (the cards wrap onto more rows); the full width by default.

    Examples
    --------
    >>> board = KpiBoard()
    >>> board.update({"max_depth_m": 0.5})
    >>> '<div class="kpi-value">0.50 m</div>' in board.pane.object
    True
    """

    def __init__(self, *, width: int | None = None) -> None:
        size = {"sizing_mode": "stretch_width", "height": 74} if width is None else \
            {"width": width, "height": 170}
        self.pane = Readout(self._html({}, None), css_classes=["kpi-board"],
                                 stylesheets=[_CSS], **size)
        self.panel = self.pane

    def update(self, values: dict[str, float], difference: dict[str, float] | None = None) -> None:
        """Show ``values`` (and ``difference`` to a compared run, if given)."""
        self.pane.object = self._html(values, difference)

    @staticmethod
    def _html(values: dict[str, float], difference: dict[str, float] | None) -> str:
        cards = []
        for key, (label, _, _) in KPI_FIELDS.items():
            html = (f'<div class="kpi kpi-{key}"><div class="kpi-label">{label}</div>'
                    f'<div class="kpi-value">{format_kpi(key, values.get(key))}</div>')
            diff = None if difference is None else difference.get(key)
            if diff is not None:
                cls = "worse" if diff > 0 else "better" if diff < 0 else "same"
                html += f'<div class="kpi-diff {cls}">{format_kpi(key, diff, signed=True)}</div>'
            cards.append(html + "</div>")
        return f'<div class="kpis">{"".join(cards)}</div>'


_CSS = """
.kpis { display: flex; gap: 8px; flex-wrap: wrap; }
.kpi { background: #141c28; border: 1px solid #2b3a52; border-radius: 6px; padding: 6px 10px;
       min-width: 130px; color: #e8eef8; }
.kpi-label { font-size: 11px; text-transform: uppercase; color: #8fa3bf; letter-spacing: .05em; }
.kpi-value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.kpi-diff { font-size: 12px; } .worse { color: #ff6b6b; } .better { color: #5fd38d; }
.same { color: #8fa3bf; }
"""
