"""What-if runs: change a scenario control, rerun in the background, compare.

The controls come from the run's engine layers (:meth:`viewer.layers.Layer.whatif_controls`,
e.g. the flood layer's rain scale, return period, pumps and levee breach); each
disabled control says why, beside it and as its tooltip. The run happens in a
worker thread with a progress bar fed by the runner's frame callback, into the
server's runs folder; when it is done the new run is handed to ``on_done`` on
the session's event loop, which shows it beside the old one.
"""
from __future__ import annotations

import html
import threading
import time
from pathlib import Path
from typing import Callable

import panel as pn

import twin
from geodata.errors import DataError
from viewer.doclock import locked

__all__ = ["WhatIf"]


class WhatIf:
    """Scenario controls, a Run button, progress, and the finished run.

    Parameters
    ----------
    model : viewer.viewmodel.ViewModel
        The run on screen: its scenario and its engine layers' controls.
    out_dir : path-like
        Where what-if runs are written (``twin serve --runs``).
    on_done : callable
        Called with the new :class:`twin.Run` on the session's thread.
    on_compare : callable, optional
        Called with the label of an existing run to compare with (see :meth:`set_runs`).

    Examples
    --------
    >>> w = WhatIf(vm, Path("runs"), on_done=print)   # doctest: +SKIP
    >>> w.changes()                                   # doctest: +SKIP
    {}
    """

    def __init__(self, model, out_dir: Path, on_done: Callable[[object], None],
                 on_compare: Callable[[str], None] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.on_done = on_done
        self.on_compare = on_compare
        self.compare_with = pn.widgets.Select(label="Compare with another run", options=[],
                                              css_classes=["compare-with"],
                                              description="A run of this city to show beside "
                                              "the one on screen")
        self.compare_button = pn.widgets.Button(label="Compare", css_classes=["compare-run"],
                                                description="Show the chosen run beside this "
                                                "one, cameras linked", disabled=True)
        self.compare_button.on_click(lambda e: self._compare())
        self.button = pn.widgets.Button(label="Run what-if", color="warning",
                                        css_classes=["whatif-run"])
        self.why = pn.pane.HTML("", css_classes=["whatif-why-run"])
        self.progress = pn.indicators.Progress(value=0, max=100, visible=False,
                                               sizing_mode="stretch_width", bar_color="warning")
        self.status = pn.pane.HTML("", css_classes=["whatif-status"])
        self.controls_box = pn.Column(sizing_mode="stretch_width")
        self.button.on_click(self._start)
        self.panel = pn.Column(
            pn.pane.HTML(f'<div class="hint">Change the scenario of the run on screen and run '
                         f'it again; it is saved in <code>{html.escape(str(self.out_dir))}'
                         f'</code> and shown beside this one.</div>'),
            self.controls_box, self.button, self.why, self.progress, self.status,
            pn.Row(self.compare_with, self.compare_button, visible=on_compare is not None),
            css_classes=["whatif"], sizing_mode="stretch_width")
        self.set_model(model)

    def set_model(self, model) -> None:
        """Offer the controls of another run's scenario."""
        self.model = model
        run = model.run
        self.scenario = getattr(run, "scenario", None) if run is not None else None
        self.controls = [c for layer in model.layers.values()
                         for c in layer.whatif_controls(self.scenario)]
        rows = []
        for c in self.controls:
            rows.append(c.widget)
            if c.why_disabled:
                rows.append(pn.pane.HTML(f'<div class="why" title="{html.escape(c.why_disabled)}">'
                                         f'{html.escape(c.why_disabled)}</div>',
                                         css_classes=["whatif-why"]))
        self.controls_box[:] = rows
        self._enable()

    def set_runs(self, labels: list[str], current: str | None) -> None:
        """Offer the runs (labels) other than the one on screen for comparison."""
        options = [k for k in labels if k != current]
        self.compare_with.options = options
        self.compare_button.disabled = not options
        self.compare_button.description = ("Show the chosen run beside this one, cameras "
                                           "linked") if options else "No other run of this city"

    def _compare(self) -> None:
        if self.on_compare is not None and self.compare_with.value:
            locked(self.on_compare, self.compare_with.value)

    def _enable(self, running: bool = False) -> None:
        reason = ("A what-if is running." if running else
                  "Open a run to try what-ifs on its scenario." if self.scenario is None else
                  "Nothing of this run's scenario can be changed here." if not any(
                      not c.why_disabled for c in self.controls) else "")
        self.button.param.update(disabled=bool(reason),
                                 description=reason or "Run the changed scenario")
        self.why.object = f'<div class="why">{html.escape(reason)}</div>' if reason else ""

    def changes(self) -> dict:
        """The scenario changes the controls ask for."""
        out: dict = {}
        for c in self.controls:
            out.update(c.changes())
        return out

    def _start(self, _event=None) -> None:
        changes = self.changes()
        if not changes:
            self.status.object = "Change a control first: this is the run on screen."
            return
        try:
            variant = self.scenario.with_changes(**changes)
        except DataError as exc:
            self.status.object = f"Cannot run this what-if: {html.escape(str(exc))}"
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        out = self.out_dir / f"whatif-{time.strftime('%Y%m%d-%H%M%S')}.zarr"
        self._enable(running=True)
        self.progress.param.update(visible=True, value=-1, active=True)
        self.status.object = f"Running <b>{html.escape(variant.name)}</b> …"
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
                message = f"What-if failed: {html.escape(str(exc))}"
                doc.add_next_tick_callback(lambda: self._finish(None, message))
                return
            took = time.perf_counter() - started
            doc.add_next_tick_callback(lambda: self._finish(
                run, f"Done in {took:.0f} s: <b>{html.escape(variant.name)}</b> ({out.name})"))

        threading.Thread(target=work, daemon=True, name="whatif").start()

    def _finish(self, run, message: str) -> None:
        self._enable()
        self.progress.param.update(visible=False, value=0, active=False)
        self.status.object = message
        if run is not None:
            self.on_done(run)
