"""The event and alert table: time, engine, kind (coloured by severity), place and message;
choosing a row flies the camera there, picks the feature and moves the replay
to the first frame that shows the event."""
from __future__ import annotations

from typing import Callable

import pandas as pd
import panel as pn

from viewer.doclock import locked

__all__ = ["EventTable"]

_SEVERITY_STYLE = {"critical": "background:#5a1040;color:#ffc0e0",
                   "alarm": "background:#5a1010;color:#ffc0c0",
                   "warning": "background:#4a3a08;color:#ffe08a",
                   "info": "color:#9fc3ff"}


class EventTable:
    """A Tabulator of a run's events.

    Parameters
    ----------
    events : pandas.DataFrame
        From :meth:`viewer.viewmodel.ViewModel.events` (``local, engine, kind,
        severity, place, message, x, y, time, target_kind, target_row``).
    on_choose : callable
        Called with the chosen event's row (a Series) when the user picks one, with
        the session's document lock held.
    width : int
        Pixels (the message and place wrap inside).

    Examples
    --------
    >>> table = EventTable(vm.events(), on_choose=print)   # doctest: +SKIP
    """

    COLUMNS = ["local", "kind", "place", "message", "severity"]

    def __init__(self, events: pd.DataFrame, on_choose: Callable[[pd.Series], None], *,
                 width: int = 450) -> None:
        self.on_choose = on_choose
        self.table = pn.widgets.Tabulator(
            self._shown(events), show_index=False, selectable=1, disabled=True,
            width=width, height=440, layout="fit_columns",
            titles={"local": "Time", "kind": "Kind", "place": "Place", "message": "Message",
                    "engine": "Engine"},
            widths={"local": 52, "kind": 92, "place": 120, "message": width - 52 - 92 - 120 - 18},
            formatters={"message": {"type": "textarea"}, "place": {"type": "textarea"},
                        "kind": {"type": "textarea"}},
            hidden_columns=["severity"], css_classes=["event-table"], theme="midnight")
        self.events = events.reset_index(drop=True)
        self.table.style.apply(_severity_css, axis=1)
        self.table.param.watch(self._chosen, "selection")
        self.panel = pn.Column(pn.pane.HTML(
            '<div class="hint">Choose an event: the replay jumps to the first frame that '
            'shows it and the camera flies there.</div>'), self.table,
            sizing_mode="stretch_width")

    def set_events(self, events: pd.DataFrame) -> None:
        """Show another run's events."""
        self.events = events.reset_index(drop=True)
        self.table.value = self._shown(events)

    def _shown(self, events: pd.DataFrame) -> pd.DataFrame:
        cols = self.COLUMNS if "engine" not in events or events["engine"].nunique() < 2 else \
            ["local", "engine", *self.COLUMNS[1:]]
        return events.reindex(columns=cols).reset_index(drop=True)

    def _chosen(self, event) -> None:
        # the table's selection arrives without the document lock: run the choice with it
        if event.new:
            locked(self.on_choose, self.events.iloc[int(event.new[0])])


def _severity_css(row: pd.Series) -> list[str]:
    """The kind and time cells of a row in its severity's colours."""
    style = _SEVERITY_STYLE.get(str(row.get("severity", "")), "")
    return [style if col in ("kind", "local") else "" for col in row.index]
