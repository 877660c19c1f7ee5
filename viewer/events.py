"""The event and alert table: time, kind, severity, place; choosing a row flies
the camera there and moves the replay to that moment."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import panel as pn

__all__ = ["EventTable"]

_SEVERITY_STYLE = {"alarm": "background:#5a1010;color:#ffb0b0",
                   "warning": "background:#4a3a08;color:#ffe08a",
                   "info": "color:#9fc3ff"}


class EventTable:
    """A Tabulator of a run's events.

    Parameters
    ----------
    events : pandas.DataFrame
        From :meth:`viewer.viewmodel.ViewModel.events` (``local, kind, severity,
        where, message, x, y, time``).
    on_choose : callable
        Called with the chosen event's row (a Series) when the user picks one.

    Examples
    --------
    >>> table = EventTable(vm.events(), on_choose=print)   # doctest: +SKIP
    """

    COLUMNS = ["local", "kind", "severity", "where"]

    def __init__(self, events: pd.DataFrame, on_choose: Callable[[pd.Series], None]) -> None:
        self.on_choose = on_choose
        self.table = pn.widgets.Tabulator(
            self._shown(events), show_index=False, selectable=1, disabled=True,
            width=530, height=420, layout="fit_columns",
            titles={"local": "Time", "kind": "Kind", "severity": "Severity", "where": "Place"},
            css_classes=["event-table"], theme="midnight")
        self.events = events.reset_index(drop=True)
        self.table.style.apply(_severity_css, subset=["severity"])
        self.table.param.watch(self._chosen, "selection")
        self.panel = self.table

    def set_events(self, events: pd.DataFrame) -> None:
        """Show another run's events."""
        self.events = events.reset_index(drop=True)
        self.table.value = self._shown(events)

    def _shown(self, events: pd.DataFrame) -> pd.DataFrame:
        return events.reindex(columns=self.COLUMNS).reset_index(drop=True)

    def _chosen(self, event) -> None:
        if event.new:
            self.on_choose(self.events.iloc[int(event.new[0])])


def _severity_css(column: pd.Series) -> list[str]:
    return list(np.vectorize(lambda s: _SEVERITY_STYLE.get(str(s), ""), otypes=[str])(
        column.to_numpy())) if len(column) else []
