"""The operations-centre viewer: one screen with the 3D city, replay, KPIs,
legends, sensor charts, events, the linked 2D map and what-if runs.

``twin serve`` calls :func:`serve`; :func:`build_app` makes the page of one
browser session (each session has its own camera, frame and selection; the
city, its meshes and the list of runs are shared by the server's sessions).
What each engine adds comes from its layer in :mod:`viewer.layers`.
"""
from __future__ import annotations

import html
import logging
import os
import sys
from pathlib import Path

import pandas as pd
import panel as pn

from geodata.errors import DataError
from viewer.charts import SensorChart
from viewer.server import prepare
from viewer.doclock import locked
from viewer.events import EventTable
from viewer.kpis import KpiBoard
from viewer.legend import LegendBox
from viewer.live import LivePanel
from viewer.mapview import MapView
from viewer.playback import Playback
from viewer.scene3d import Scene3D
from viewer.viewmodel import ViewModel
from viewer.whatif import WhatIf
from viewer.workspace import Workspace, open_workspace

__all__ = ["build_app", "serve", "error_page", "OperationsScreen",
           "WEBSOCKET_MAX_MESSAGE_SIZE"]

_LOG = logging.getLogger(__name__)

WEBSOCKET_MAX_MESSAGE_SIZE = 512 * 1024 * 1024
"""Bytes: a city-scale scene arrives in one websocket message."""

SIDE_WIDTH = 470
"""Pixels of the side tabs (map, sensors, events, what-if)."""

VIEW_HEIGHT = 560
"""Pixels of the 3D view(s)."""

_TITLE = "font:600 19px/1.2 sans-serif;color:#e8eef8"
_SUB = "font-size:12px;color:#a9bad2"
_CSS = """
body, .bk-root { background: #0b1018; color: #e8eef8; }
html, body { overflow-x: hidden; }
.title { font: 600 20px/1.2 sans-serif; color: #e8eef8; }
.notice { background: #3a2a10; border-left: 4px solid #ffb020; padding: 6px 10px; color: #ffe0a0; }
.hint, .why { font-size: 12px; color: #a9bad2; }
.why { color: #ffcf80; }
.view-label { font: 600 13px/1.4 sans-serif; color: #e8eef8; padding: 2px 4px; }
.rate-short { color: #ffcf80; font-size: 12px; }
"""
_TABS_CSS = """
.bk-tab { font-size: 14px; padding: 6px 14px; color: #c8d4e6; }
.bk-tab.bk-active { color: #ffffff; border-bottom: 3px solid #7fd4ff; font-weight: 600; }
"""


def build_app(target: str | os.PathLike, runs: str | os.PathLike | None = None,
              live: str | os.PathLike | None = None) -> pn.viewable.Viewable:
    """The page of one browser session on ``target`` (city or run).

    A target that cannot be read (missing, not a run, a damaged or partly written
    run) gives :func:`error_page` instead of a traceback; the server logs the detail.

    Parameters
    ----------
    target : path-like
        City manifest / folder or run ``*.zarr``.
    runs : path-like, optional
        Folder of what-if runs (default: beside the run, or ``runs/`` beside the city).
    live : path-like, optional
        A sensor store (``twin live --store``): adds the live panel.

    Examples
    --------
    >>> page = build_app("data_samples/ezhou/city.toml")  # doctest: +SKIP
    >>> page.servable()                                    # doctest: +SKIP
    """
    try:
        ws = open_workspace(target, runs)
    except (DataError, OSError, KeyError) as exc:
        _LOG.warning("cannot open %s: %s", target, exc)
        return error_page(str(target), exc)
    try:
        return OperationsScreen(ws, live=live).panel
    except Exception as exc:    # a damaged run's data is read only now: say so, log the rest
        run = getattr(ws.run, "path", None)
        _LOG.exception("cannot show %s", run or target)
        if run is None:
            return error_page(str(target), exc)
        return error_page(str(run), DataError(
            f"the run's data cannot be read ({type(exc).__name__}: {exc}); it is damaged or "
            "was not written to the end", file=run,
            fix=f"run it again (`twin run SCENARIO -o {run}`), or delete it and open another"))


def error_page(target: str, exc: BaseException) -> pn.viewable.Viewable:
    """A clear page saying what could not be opened and what to do.

    Examples
    --------
    >>> page = error_page("runs/x.zarr", DataError("is not a readable run", file="runs/x.zarr"))
    >>> "Cannot open runs/x.zarr" in page[1].object
    True
    """
    text = html.escape(str(exc)).replace("\n", "<br>")
    hint = ("A run that cannot be read is damaged or partly written: make it again with "
            "<code>twin run SCENARIO -o RUN.zarr</code>." if str(target).endswith(".zarr") else
            "Start the viewer on a city manifest or a run: <code>twin serve "
            "data_samples/ezhou/city.toml</code>, or make the sample first with "
            "<code>twin demo</code>.")
    return pn.Column(
        pn.pane.HTML('<div class="title">City twin – operations centre</div>'),
        pn.pane.Alert(f"<b>Cannot open {html.escape(str(target))}</b><br>{text}<br><br>{hint}",
                      alert_type="danger", css_classes=["error-page"]),
        stylesheets=[_CSS], sizing_mode="stretch_width")


class OperationsScreen:
    """The widgets of one session, wired together.

    Every way of changing the frame (player, slider, event, run switch) ends in
    :meth:`show_frame`, which runs with the document lock held and moves the
    numbers, the map, the chart and the 3D view together.

    Parameters
    ----------
    ws : viewer.workspace.Workspace
    live : path-like, optional
        A sensor store: adds the live tab (:class:`viewer.live.LivePanel`).
    """

    def __init__(self, ws: Workspace, live: str | os.PathLike | None = None) -> None:
        self.ws = ws
        self.live = None if live is None else LivePanel(
            live, ws.city.sensors.stations if ws.city.sensors is not None else None,
            ws.city.timezone, on_run=self._nowcast_appeared)
        self.model = ViewModel(ws.city, ws.scene, ws.run)
        self.compare: tuple[ViewModel, Scene3D] | None = None
        self.selected: tuple[str, int] | None = None
        self.playback = Playback(self.model, on_frame=self.show_frame)
        self.view = Scene3D(self.model, height=VIEW_HEIGHT, on_pick=self.pick,
                            on_drawn=self.playback.drawn)
        self.kpis = KpiBoard(self.model.kpi_specs)
        self.diff_board = KpiBoard(self.model.kpi_specs, css_class="diff-board")
        self.legend = LegendBox()
        self.map = MapView(self.model, on_pick=self.pick)
        self.chart = SensorChart(ws.city.sensors, ws.city.timezone)
        self.events = EventTable(self.model.events(), on_choose=self.choose_event,
                                 width=SIDE_WIDTH - 40)
        self.whatif = WhatIf(self.model, ws.runs_dir or Path(ws.city_path).parent / "runs",
                             on_done=self.show_comparison, on_compare=self._compare_with)
        self.whatif.set_runs(list(ws.runs), _run_label(ws))
        self.run_select = pn.widgets.Select(label="Run", options=list(ws.runs),
                                            value=_run_label(ws), width=230,
                                            css_classes=["run-select"],
                                            description="Replay another run of this city")
        self.run_select.param.watch(lambda e: locked(self._pick_run, e.new), "value")
        if ws.catalog is not None:
            doc = pn.state.curdoc
            ws.catalog.subscribe(self._runs_changed, doc if doc and doc.session_context else None)
            if doc is not None and doc.session_context is not None:
                doc.on_session_destroyed(lambda ctx, c=ws.catalog, d=doc: c.unsubscribe(d))
        self.layers = pn.widgets.CheckButtonGroup(
            label="Layers", options=self._toggle_options(), value=list(self.view.toggles()),
            color="primary", variant="outline", css_classes=["layer-toggles"],
            description="Show or hide a layer of the 3D view")
        self.layers.param.watch(self._layers_changed, "value")
        self.color_mode = pn.widgets.RadioButtonGroup(
            label="Buildings", options=self.model.building_modes, value="use", color="primary",
            variant="outline", css_classes=["color-mode"],
            description="Colour the buildings by use, height or an engine's state")
        self.color_mode.param.watch(self._color_mode_changed, "value")
        self.cameras = pn.widgets.Select(
            label="Fly to", options=self._camera_options(), value="district", width=260,
            css_classes=["camera-presets"], description="Move the camera to a place")
        self.cameras.param.watch(lambda e: self._fly(e.new), "value")
        self.notice = pn.pane.HTML(f'<div class="notice">{html.escape(ws.problem)}</div>'
                                   if ws.problem else "", visible=bool(ws.problem),
                                   css_classes=["run-notice"])
        self.base_label = pn.pane.HTML(self._base_label(), css_classes=["view-label-base"],
                                       visible=False, sizing_mode="stretch_width", height=40)
        self.compare_label = pn.pane.HTML("", css_classes=["view-label-whatif"],
                                          sizing_mode="stretch_width", height=40)
        self.close_compare = pn.widgets.Button(label="✕", width=36, height=30,
                                               css_classes=["close-compare"],
                                               description="Close the what-if comparison")
        self.close_compare.on_click(lambda e: locked(self.hide_comparison))
        self.compare_slot = pn.Column(sizing_mode="stretch_width", visible=False,
                                      css_classes=["compare"])
        self.diff_slot = pn.Column(pn.pane.HTML('<div class="view-label">What-if minus base'
                                                '</div>'), self.diff_board.panel,
                                   visible=False, sizing_mode="stretch_width",
                                   css_classes=["difference-board"])
        self.views = pn.Row(pn.Column(self.base_label, self.view.panel,
                                      sizing_mode="stretch_width"),
                            self.compare_slot, sizing_mode="stretch_width", css_classes=["views"])
        if self.model.run is not None:
            self.chart.set_period(self.model.times[0], self.model.times[-1])
        self.chart.set_models(self._sensor_models())
        self._show_legends()
        self._show_frame(0)
        self.panel = self._layout()
        if self.live is not None:
            self.live.start()
            doc = pn.state.curdoc
            if doc is not None and doc.session_context is not None:
                doc.on_session_destroyed(lambda ctx, live=self.live: live.stop())

    # -- frames ----------------------------------------------------------------
    def show_frame(self, i: int) -> None:
        """Move every panel to replay frame ``i`` (numbers first, the 3D scene last:
        the browser applies messages in order and the scene takes longest)."""
        try:
            locked(self._show_frame, i)
        except Exception as exc:     # an unreadable chunk: say so on the page, log the rest
            path = getattr(self.model.run, "path", "the run")
            _LOG.exception("frame %s of %s", i, path)
            self.notice.object = (f'<div class="notice">Frame {int(i)} of {html.escape(str(path))} '
                                  f"cannot be read ({html.escape(type(exc).__name__)}: "
                                  f"{html.escape(str(exc))}): the run is damaged or partly "
                                  "written; run it again with <code>twin run SCENARIO -o "
                                  f"{html.escape(str(path))}</code>.</div>")
            self.notice.visible = True

    def _show_frame(self, i: int) -> None:
        i = min(int(i), self.model.n_frames - 1)
        self.kpis.update(self.model.kpis(i))
        if self.compare is not None:
            other = self.compare[0]
            j = min(i, other.n_frames - 1)
            self.diff_board.update(other.kpis(j), self.model.kpi_difference(other, i))
        if self.model.run is not None:
            self.map.set_frame(i)
            self._map_buildings(i)
            self.chart.set_time(self.model.times[i])
        self.view.show_frame(i)
        if self.compare is not None:
            self.compare[1].show_frame(min(i, self.compare[0].n_frames - 1))

    def _map_buildings(self, i: int) -> None:
        if self.color_mode.value == "use" and getattr(self, "_map_mode", "use") == "use":
            return
        self._map_mode = self.color_mode.value
        rgb = self.model.building_colors(i, self.color_mode.value)
        self.map.set_building_colors(rgb)

    # -- picking -------------------------------------------------------------------
    def pick(self, kind: str | None, row: int | None) -> None:
        """A building, road or sensor picked (map or 3D view): highlight it in every
        view, show its information (the Map tab), chart a sensor."""
        locked(self._pick, kind, row, True)

    def _pick(self, kind, row, show_info: bool = False) -> None:
        self.selected = (kind, int(row)) if kind is not None and row is not None else None
        for view in self._views():
            view.select(kind, row)
        self.map.select(kind, row)
        if kind == "sensors" and self.ws.city.sensors is not None:
            self.chart.select(str(self.ws.city.sensors.stations["id"].iloc[int(row)]))
        if show_info and kind is not None and hasattr(self, "tabs"):
            self.tabs.active = 1 if self.live is not None else 0

    def select_building(self, index: int | None) -> None:
        """Highlight building row ``index`` everywhere."""
        self.pick("buildings" if index is not None else None, index)

    def choose_event(self, event) -> None:
        """Move the replay to the first frame showing an event, fly there and pick its place."""
        locked(self._choose_event, event)

    def _choose_event(self, event) -> None:
        if self.model.run is not None and pd.notna(event.get("time")):
            frame = self.model.frame_at(event["time"])
            if self.playback.player.value != frame:
                self.playback.player.value = frame     # -> show_frame
        if pd.notna(event.get("x")) and pd.notna(event.get("y")):
            self.view.fly_to((float(event["x"]), float(event["y"])), distance=400.0)
        kind, row = event.get("target_kind"), event.get("target_row")
        if kind and row is not None and int(row) >= 0:
            self._pick(kind, int(row))

    def _fly(self, where: str) -> None:
        self.view.fly_to(where)

    # -- controls ------------------------------------------------------------------
    def _toggle_options(self) -> dict[str, str]:
        return {label: key for key, label in self.view.toggles().items()
                if key in self.view.actors}

    def _camera_options(self) -> dict[str, str]:
        return {self.model.place_label(k): k for k in self.model.camera_presets()}

    def _sensor_models(self) -> dict:
        """Every layer's modelled sensor series (a counter's modelled flow, ...)."""
        return {k: v for layer in self.model.layers.values()
                for k, v in layer.sensor_models().items()}

    def _layers_changed(self, event) -> None:
        for view in self._views():
            view.set_layers(event.new)

    def _color_mode_changed(self, event) -> None:
        for view in self._views():
            view.set_color_mode(event.new)
        self._map_buildings(self.view.frame)
        self._show_legends()

    def _show_legends(self) -> None:
        self.legend.show(self.model.legends(self.color_mode.value))

    def _views(self) -> list[Scene3D]:
        return [self.view] + ([self.compare[1]] if self.compare else [])

    # -- runs -----------------------------------------------------------------------
    def _runs_changed(self, runs: dict) -> None:
        self.ws.runs = dict(runs)
        value = self.run_select.value
        self.run_select.options = list(runs)
        if value in runs:
            self.run_select.value = value
        self.whatif.set_runs(list(runs), _run_label(self.ws, self.model.run))

    def _nowcast_appeared(self, path: Path) -> None:
        """A nowcast run written beside the live store: offer it in every session."""
        if self.ws.catalog is None:
            self.ws.runs = {path.name: path, **self.ws.runs}
            self._runs_changed(self.ws.runs)
        elif Path(path).resolve() not in {Path(p).resolve() for p in self.ws.catalog.runs.values()}:
            self.ws.catalog.add(Path(path))

    def _compare_with(self, label: str) -> None:
        try:
            run = self.ws.open(label)
        except (DataError, OSError, KeyError, ValueError) as exc:
            self.whatif.status.object = (f"Run {html.escape(label)} could not be read: "
                                         f"{html.escape(str(exc))}")
            return
        self.show_comparison(run)

    def _pick_run(self, label: str) -> None:
        if label is None or label == _run_label(self.ws, self.model.run):
            return
        try:
            run = self.ws.open(label)
        except (DataError, OSError, KeyError, ValueError) as exc:
            self.notice.object = (f'<div class="notice">Run {html.escape(label)} could not be '
                                  f'read: {html.escape(str(exc))}</div>')
            self.notice.visible = True
            return
        self.load_run(run)
        self.whatif.set_runs(list(self.ws.runs), label)

    def load_run(self, run) -> None:
        """Replace the replayed run (the camera stays)."""
        self.hide_comparison()
        self.model = ViewModel(self.ws.city, self.ws.scene, run)
        self.view.model = self.model
        self.map.set_model(self.model)
        self.whatif.set_model(self.model)
        self.kpis.set_specs(self.model.kpi_specs)
        self.diff_board.set_specs(self.model.kpi_specs)
        self.events.set_events(self.model.events())
        self.color_mode.options = self.model.building_modes
        if self.color_mode.value not in self.model.building_modes.values():
            self.color_mode.value = "use"
        self.layers.options = self._toggle_options()
        if self.model.run is not None:
            self.chart.set_period(self.model.times[0], self.model.times[-1])
        self.chart.set_models(self._sensor_models())
        self.base_label.object = self._base_label()
        self.notice.visible = False
        self._show_legends()
        self.playback.set_model(self.model)      # -> show_frame(0)

    def _base_label(self) -> str:
        name = getattr(self.model.run, "name", "") if self.model.run is not None else "no run"
        return f'<div class="view-label">Base: {html.escape(str(name))}</div>'

    def show_comparison(self, run) -> None:
        """Show ``run`` beside the current one, two equal labelled views with linked
        cameras, and a board of its KPIs minus the base's."""
        path = getattr(run, "path", None)
        if self.ws.catalog is not None and path is not None and Path(path).resolve() not in {
                Path(p).resolve() for p in self.ws.catalog.runs.values()}:
            self.ws.catalog.add(Path(path))      # a new what-if: listed in every session
        other = ViewModel(self.ws.city, self.ws.scene, run)
        if self.compare is not None:
            self.hide_comparison()
        view = Scene3D(other, height=VIEW_HEIGHT, on_pick=self.pick)
        view.set_layers(self.layers.value)
        view.set_color_mode(self.color_mode.value)
        if self.selected:
            view.select(*self.selected)
        self.view.link(view)
        self.compare = (other, view)
        self.diff_board.set_specs(self.model.kpi_specs)
        self.base_label.object = self._base_label()
        self.base_label.visible = True
        self.compare_label.object = (f'<div class="view-label">What-if: '
                                     f'{html.escape(str(run.name))}</div>')
        self.compare_slot[:] = [pn.Row(self.compare_label, self.close_compare, height=40,
                                       sizing_mode="stretch_width", margin=0), view.panel]
        self.compare_slot.visible = True
        self.diff_slot.visible = True
        self._show_frame(self.playback.player.value)

    def hide_comparison(self) -> None:
        """Back to one view."""
        if self.compare is None:
            return
        self.compare = None
        self.compare_slot[:] = []
        self.compare_slot.visible = False
        self.diff_slot.visible = False
        self.base_label.visible = False

    # -- layout ----------------------------------------------------------------
    def _layout(self) -> pn.viewable.Viewable:
        header = pn.Row(
            pn.pane.HTML(f'<div style="{_TITLE}">{html.escape(self.ws.city.name)}</div>'
                         f'<div style="{_SUB}">Operations centre · '
                         f'{html.escape(self.ws.city.crs.name)}</div>', width=300),
            self.playback.panel, self.run_select, sizing_mode="stretch_width",
            css_classes=["header"], styles={"flex-wrap": "wrap"})
        controls = pn.Row(self.layers, self.color_mode, self.cameras,
                          sizing_mode="stretch_width", css_classes=["view-controls"],
                          styles={"flex-wrap": "wrap"})
        def side(panel):
            panel.param.update(sizing_mode="fixed", width=SIDE_WIDTH - 30)
            return panel
        live = [("Live", side(self.live.panel))] if self.live is not None else []
        self.tabs = pn.Tabs(*live, ("Map", side(self.map.panel)),
                            ("Sensors", side(self.chart.panel)),
                            ("Events", side(self.events.panel)),
                            ("What-if", side(self.whatif.panel)),
                            width=SIDE_WIDTH, css_classes=["side-tabs"], dynamic=False,
                            stylesheets=[_TABS_CSS])
        left = pn.Column(controls, self.views, self.legend.panel, sizing_mode="stretch_width",
                         css_classes=["main-left"])
        main = pn.Row(left, self.tabs, sizing_mode="stretch_width")
        return pn.Column(header, self.notice, self.kpis.panel, self.diff_slot, main,
                         sizing_mode="stretch_width", stylesheets=[_CSS],
                         css_classes=["ops-screen"])


def _run_label(ws: Workspace, run=None) -> str | None:
    run = ws.run if run is None else run
    if run is None:
        return None
    path = Path(run.path).resolve()
    return next((k for k, v in ws.runs.items() if Path(v).resolve() == path), None)


def serve(target: str, *, port: int = 5006, show: bool = True,
          basic_auth: str | None = None, runs: str | os.PathLike | None = None,
          live: str | os.PathLike | None = None) -> None:
    """Serve the viewer on ``target`` (city or run) until interrupted.

    Parameters
    ----------
    target : str
        City manifest / folder or run ``*.zarr``.
    port : int
        Port on 127.0.0.1 ... all interfaces are not opened; use a reverse proxy to publish.
    show : bool
        Open a browser tab.
    basic_auth : str, optional
        A password, or a JSON file of ``user: password``, passed to Panel's basic auth.
    runs : path-like, optional
        Folder for what-if runs (default: beside the run shown, or ``runs/`` beside
        the city; never the working directory).
    live : path-like, optional
        A sensor store written by ``twin live``: the page shows its sensors, alerts and
        nowcast runs as they arrive.

    Raises
    ------
    DataError
        The port is already in use (said before any URL is printed).

    Examples
    --------
    >>> serve("data_samples/ezhou/city.toml", port=5006, show=False)  # doctest: +SKIP
    """
    kw = prepare(port, basic_auth, "vtk", "tabulator", notifications=True)
    try:   # load the city and its meshes now, not when the first visitor arrives
        open_workspace(target, runs)
    except (DataError, OSError, KeyError) as exc:
        print(f"warning: {exc} (the page will say so)", file=sys.stderr, flush=True)
    print(f"City twin viewer on http://localhost:{port}  ({target})"
          + (f"  live from {live}" if live else ""), flush=True)
    pn.serve({"/": lambda: build_app(target, runs, live)}, port=port, address="127.0.0.1", show=show,
             title="City twin – operations centre", websocket_max_message_size=
             WEBSOCKET_MAX_MESSAGE_SIZE, allow_websocket_origin=[f"localhost:{port}",
                                                                  f"127.0.0.1:{port}"], **kw)
