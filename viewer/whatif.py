"""What-if runs: change a scenario control, rerun in the background, compare.

The controls map to :meth:`twin.scenario.Scenario.with_changes` shortcuts
(``rain_scale``, ``return_period`` for design storms, ``pumps``, ``breach``).
The run happens in a worker thread with a progress bar fed by the runner's
frame callback; when it is done the new run is handed to ``on_done`` on the
session's event loop, which shows it beside the old one.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import panel as pn

import twin
from geodata.errors import DataError

__all__ = ["WhatIf", "variant_changes"]

RETURN_PERIODS = {"as recorded": None, "2 years": 2, "5 years": 5, "10 years": 10,
                  "20 years": 20, "50 years": 50, "100 years": 100}


def variant_changes(scenario, *, rain_scale: float, return_period: float | None,
                    pumps: bool, breach: bool) -> dict:
    """The ``with_changes`` keywords that differ from ``scenario``.

    Examples
    --------
    >>> variant_changes(s, rain_scale=1.5, return_period=None, pumps=True,
    ...                 breach=False)  # doctest: +SKIP
    {'rain_scale': 1.5}
    """
    changes: dict = {}
    rain = scenario.rain
    if rain is not None and abs(rain_scale - rain.scale) > 1e-9:
        changes["rain_scale"] = float(rain_scale)
    if return_period is not None and (rain is None or rain.return_period != return_period):
        changes["return_period"] = float(return_period)
    if scenario.pumps and pumps != any(p.enabled for p in scenario.pumps):
        changes["pumps"] = bool(pumps)
    if scenario.breach is not None and breach != scenario.breach.enabled:
        changes["breach"] = bool(breach)
    return changes


class WhatIf:
    """Scenario controls, a Run button, progress, and the finished run.

    Parameters
    ----------
    scenario : twin.scenario.Scenario or None
        The scenario of the run on screen (None: the panel explains why it is off).
    out_dir : path-like
        Where variant runs are written (``runs/`` of the working folder).
    on_done : callable
        Called with the new :class:`twin.Run` on the session's thread.
    """

    def __init__(self, scenario, out_dir: Path, on_done: Callable[[object], None]) -> None:
        self.scenario = scenario
        self.out_dir = Path(out_dir)
        self.on_done = on_done
        rain = getattr(scenario, "rain", None)
        self.rain_scale = pn.widgets.FloatSlider(label="Rain scale", start=0.5, end=3.0, step=0.1,
                                                 value=getattr(rain, "scale", 1.0),
                                                 css_classes=["whatif-rain"])
        self.return_period = pn.widgets.Select(label="Design storm return period",
                                               options=list(RETURN_PERIODS), value="as recorded",
                                               disabled=getattr(rain, "source", "") != "design")
        has_pumps = bool(getattr(scenario, "pumps", ()))
        breach = getattr(scenario, "breach", None)
        self.pumps = pn.widgets.Switch(label="Pumps on", value=has_pumps and any(
            p.enabled for p in scenario.pumps), disabled=not has_pumps,
            css_classes=["whatif-pumps"])
        self.breach = pn.widgets.Switch(label="Levee breach", value=bool(breach and breach.enabled),
                                        disabled=breach is None, css_classes=["whatif-breach"])
        self.button = pn.widgets.Button(label="Run what-if", color="warning",
                                        disabled=scenario is None, css_classes=["whatif-run"])
        self.progress = pn.indicators.Progress(value=0, max=100, visible=False,
                                               sizing_mode="stretch_width", bar_color="warning")
        self.status = pn.pane.HTML("" if scenario is not None else
                                   "<i>Open a run to try what-ifs on its scenario.</i>",
                                   css_classes=["whatif-status"])
        self.button.on_click(self._start)
        self.panel = pn.Column(
            self.rain_scale, self.return_period,
            self.pumps, self.breach,
            self.button, self.progress, self.status, css_classes=["whatif"])

    def changes(self) -> dict:
        """The scenario changes the controls ask for."""
        return variant_changes(self.scenario, rain_scale=self.rain_scale.value,
                               return_period=RETURN_PERIODS[self.return_period.value],
                               pumps=self.pumps.value,
                               breach=self.breach.value)

    def _start(self, _event=None) -> None:
        changes = self.changes()
        if not changes:
            self.status.object = "Change a control first: this is the run on screen."
            return
        try:
            variant = self.scenario.with_changes(**changes)
        except DataError as exc:
            self.status.object = f"Cannot run this what-if: {exc}"
            return
        out = self.out_dir / f"whatif-{time.strftime('%Y%m%d-%H%M%S')}.zarr"
        self.button.disabled = True
        self.progress.param.update(visible=True, value=-1, active=True)
        self.status.object = f"Running <b>{variant.name}</b> …"
        doc = pn.state.curdoc
        started = time.perf_counter()

        def work() -> None:
            total = variant.n_frames + 1

            def frame_done(frame: int, time_s: float) -> None:
                percent = int(100 * (frame + 1) / total)
                doc.add_next_tick_callback(lambda: self.progress.param.update(
                    value=percent, active=False))

            try:
                run = twin.run_scenario(variant, out=out, progress=False, on_frame=frame_done)
            except Exception as exc:  # noqa: BLE001 - shown to the user, the session goes on
                message = f"What-if failed: {exc}"
                doc.add_next_tick_callback(lambda: self._finish(None, message))
                return
            took = time.perf_counter() - started
            doc.add_next_tick_callback(lambda: self._finish(
                run, f"Done in {took:.0f} s: <b>{variant.name}</b> ({out.name})"))

        threading.Thread(target=work, daemon=True, name="whatif").start()

    def _finish(self, run, message: str) -> None:
        self.button.disabled = False
        self.progress.param.update(visible=False, value=0, active=False)
        self.status.object = message
        if run is not None:
            self.on_done(run)

