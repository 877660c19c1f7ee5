"""The replay player: play, pause, speed, scrub, and the local clock.

A :class:`panel.widgets.Player` steps through the frames; its interval is set
by the speed choice (frames per second). The clock shows the frame's real
local date and time in the city's time zone.
"""
from __future__ import annotations

from typing import Callable

import panel as pn

from viewer.readout import Readout
from viewer.viewmodel import ViewModel

__all__ = ["Playback", "SPEEDS"]

SPEEDS: dict[str, int] = {"0.5 fps": 2000, "1 fps": 1000, "2 fps": 500, "4 fps": 250}
"""Speed label -> milliseconds between frames."""


class Playback:
    """Time player and clock for a :class:`~viewer.viewmodel.ViewModel`.

    Parameters
    ----------
    model : ViewModel
    on_frame : callable
        Called with the frame index whenever it changes.

    Examples
    --------
    >>> pb = Playback(vm, on_frame=print)   # doctest: +SKIP
    >>> pb.player.value = 3                 # doctest: +SKIP
    3
    """

    def __init__(self, model: ViewModel, on_frame: Callable[[int], None]) -> None:
        self.model = model
        self.on_frame = on_frame
        self.player = pn.widgets.Player(label="Replay", start=0, end=max(model.n_frames - 1, 1),
                                        value=0, interval=SPEEDS["1 fps"], loop_policy="once",
                                        show_loop_controls=False, width=420,
                                        disabled=model.run is None, css_classes=["time-player"])
        self.speed = pn.widgets.RadioButtonGroup(options=list(SPEEDS), value="1 fps",
                                                 color="primary", variant="outline",
                                                 css_classes=["replay-speed"], width=260)
        self.clock = Readout(self._clock_html(0), css_classes=["clock"])
        self.player.param.watch(self._frame_changed, "value")
        self.speed.param.watch(lambda e: setattr(self.player, "interval", SPEEDS[e.new]), "value")
        self.panel = pn.Row(self.clock, self.player, self.speed, css_classes=["playback"],
                            align="center")

    def set_model(self, model: ViewModel) -> None:
        """Switch to another run's frames, back at the start."""
        self.model = model
        self.player.param.update(end=max(model.n_frames - 1, 1), value=0,
                                 disabled=model.run is None)
        self.clock.object = self._clock_html(0)

    def _frame_changed(self, event) -> None:
        i = min(int(event.new), self.model.n_frames - 1)
        self.clock.object = self._clock_html(i)
        self.on_frame(i)

    def _clock_html(self, i: int) -> str:
        return (f'<div style="font:600 20px/1.2 monospace;color:#7fd4ff" class="clock-text">'
                f'{self.model.clock(i)}</div>'
                f'<div style="font-size:11px;color:#8fa3bf">frame {i + 1} / {self.model.n_frames}'
                f' &middot; {self.model.city.timezone}</div>')
