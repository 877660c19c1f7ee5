"""The replay player: play, pause, step, speed, scrub, the local clock and the
frame rate actually drawn.

Playback is driven by the server: a periodic callback moves to the next frame
only once the browser has drawn the previous one (the 3D view reports each
frame it draws), so a slow browser is never sent frames it cannot show, and
the rate it achieves is measured. When that rate falls short of the chosen
speed the player says so ("drawing 0.6 of 2 fps").
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable

import panel as pn
from bokeh.models import Tooltip

from viewer.doclock import locked
from viewer.readout import Readout

__all__ = ["Playback", "SPEEDS", "achieved_rate"]

SPEEDS: dict[str, int] = {"0.5 fps": 2000, "1 fps": 1000, "2 fps": 500, "4 fps": 250}
"""Speed label -> milliseconds between frames."""

_PLAY, _PAUSE = "▶", "||"

_STALL_S = 5.0
"""A frame the browser has not confirmed after this long is taken as drawn."""


def achieved_rate(stamps) -> float | None:
    """Frames per second over a series of draw times (s); None with fewer than 3.

    Examples
    --------
    >>> achieved_rate([0.0, 0.5, 1.0, 1.5])
    2.0
    """
    stamps = list(stamps)
    if len(stamps) < 3 or stamps[-1] <= stamps[0]:
        return None
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


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

    def __init__(self, model, on_frame: Callable[[int], None]) -> None:
        self.model = model
        self.on_frame = on_frame
        self.playing = False
        self._callback = None
        self._sent_at: float | None = None
        self._drawn: deque = deque(maxlen=6)
        self.player = pn.widgets.IntSlider(label="Frame", start=0, end=max(model.n_frames - 1, 1),
                                           value=0, width=240, css_classes=["time-slider"],
                                           disabled=model.run is None, show_value=False)
        buttons = [("first", "⇤", "First frame", self.first),
                   ("back", "‹", "Previous frame", self.back),
                   ("play", _PLAY, "Play / pause the replay", self.toggle),
                   ("step", "›", "Next frame", self.step),
                   ("last", "⇥", "Last frame", self.last)]
        self.buttons = {}
        for key, label, tip, action in buttons:
            b = pn.widgets.Button(label=label, width=38, margin=(5, 2),
                                  description=Tooltip(content=tip, position="bottom"),
                                  css_classes=["playback-button", f"playback-{key}"],
                                  disabled=model.run is None)
            b.on_click(lambda e, action=action: locked(action))
            self.buttons[key] = b
        self.speed = pn.widgets.RadioButtonGroup(options=list(SPEEDS), value="1 fps",
                                                 color="primary", variant="outline",
                                                 css_classes=["replay-speed"], width=230,
                                                 description="Replay speed (frames per second)")
        self.clock = Readout(self._clock_html(0), css_classes=["clock"], width=250)
        self.rate = Readout("", css_classes=["frame-rate"], width=150)
        self.player.param.watch(self._frame_changed, "value")
        self.speed.param.watch(self._speed_changed, "value")
        self.panel = pn.Row(self.clock, *self.buttons.values(), self.player, self.speed,
                            self.rate, css_classes=["playback", "time-player"], align="center")

    # -- controls ------------------------------------------------------------------
    def first(self) -> None:
        """Go to the first frame."""
        self.player.value = 0

    def last(self) -> None:
        """Go to the last frame."""
        self.player.value = self.model.n_frames - 1

    def back(self) -> None:
        """One frame back."""
        self.player.value = max(0, self.player.value - 1)

    def step(self) -> None:
        """One frame on."""
        self.player.value = min(self.model.n_frames - 1, self.player.value + 1)

    def toggle(self) -> None:
        """Play or pause."""
        self.pause() if self.playing else self.play()

    def play(self) -> None:
        """Play from here (from the start when at the end)."""
        if self.model.run is None:
            return
        if self.player.value >= self.model.n_frames - 1:
            self.player.value = 0
        self.playing = True
        self._drawn.clear()
        self.buttons["play"].label = _PAUSE
        self._schedule()

    def pause(self) -> None:
        """Stop playing."""
        self.playing = False
        self.buttons["play"].label = _PLAY
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.rate.object = ""

    def _schedule(self) -> None:
        if self._callback is not None:
            self._callback.stop()
        self._callback = pn.state.add_periodic_callback(self.tick, period=SPEEDS[self.speed.value])

    def _speed_changed(self, event) -> None:
        self._drawn.clear()
        if self.playing:
            self._schedule()

    def tick(self) -> None:
        """One beat of the player: the next frame once the browser drew the last one."""
        if not self.playing:
            return
        waiting = self._sent_at is not None and time.perf_counter() - self._sent_at < _STALL_S
        if waiting:
            return
        if self.player.value >= self.model.n_frames - 1:
            self.pause()
            return
        self.step()

    def drawn(self, frame: int) -> None:
        """The browser drew ``frame`` (called by the 3D view's stream)."""
        if frame != self.player.value:
            return
        self._sent_at = None
        if self.playing:
            self._drawn.append(time.perf_counter())
            self._show_rate()

    def _show_rate(self) -> None:
        rate = achieved_rate(self._drawn)
        asked = 1000.0 / SPEEDS[self.speed.value]
        if rate is not None and rate < 0.8 * asked:
            self.rate.object = (f'<span class="rate-short" title="The browser draws fewer '
                                f'frames than asked">drawing {rate:.1f} of {asked:g} fps</span>')
        else:
            self.rate.object = ""

    # -- model ---------------------------------------------------------------------
    def set_model(self, model) -> None:
        """Switch to another run's frames, back at the start."""
        self.pause()
        self.model = model
        for b in self.buttons.values():
            b.disabled = model.run is None
        self.player.param.update(end=max(model.n_frames - 1, 1), disabled=model.run is None)
        if self.player.value == 0:
            self._show(0)
        else:
            self.player.value = 0

    def _frame_changed(self, event) -> None:
        self._show(int(event.new))

    def _show(self, i: int) -> None:
        i = min(i, self.model.n_frames - 1)
        self.clock.object = self._clock_html(i)
        self._sent_at = time.perf_counter()
        self.on_frame(i)

    def _clock_html(self, i: int) -> str:
        return (f'<div style="font:600 18px/1.2 monospace;color:#7fd4ff" class="clock-text">'
                f'{self.model.clock(i)}</div>'
                f'<div style="font-size:11px;color:#a9bad2" class="frame-text">frame {i + 1} / '
                f'{self.model.n_frames} &middot; {self.model.city.timezone}</div>')
