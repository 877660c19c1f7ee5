"""The operations-centre viewer: one screen with the 3D city, replay, KPIs,
sensor charts, events, the linked 2D map and what-if runs.

``twin serve`` calls :func:`serve`; :func:`build_app` makes the page of one
browser session (each session has its own camera, frame and selection; the
city, its meshes and the runs are loaded once per server).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import panel as pn

from geodata.errors import DataError
from viewer.charts import SensorChart
from viewer.events import EventTable
from viewer.kpis import KpiBoard
from viewer.mapview import MapView
from viewer.playback import Playback
from viewer.scene3d import LAYERS, Scene3D
from viewer.viewmodel import ViewModel
from viewer.whatif import WhatIf
from viewer.workspace import Workspace, open_workspace

__all__ = ["build_app", "serve", "error_page", "WEBSOCKET_MAX_MESSAGE_SIZE"]

WEBSOCKET_MAX_MESSAGE_SIZE = 512 * 1024 * 1024
"""Bytes: a city-scale scene arrives in one websocket message."""

_TITLE = "font:600 20px/1.2 sans-serif;color:#e8eef8"
_SUB = "font-size:12px;color:#8fa3bf"
_CSS = """
body, .bk-root { background: #0b1018; color: #e8eef8; }
.title { font: 600 20px/1.2 sans-serif; color: #e8eef8; }
.subtitle { font-size: 12px; color: #8fa3bf; }
.notice { background: #3a2a10; border-left: 4px solid #ffb020; padding: 6px 10px; color: #ffe0a0; }
"""


def build_app(target: str | os.PathLike) -> pn.viewable.Viewable:
    """The page of one browser session on ``target`` (city or run).

    A target that cannot be read gives :func:`error_page` instead of a traceback.

    Examples
    --------
    >>> page = build_app("data_samples/ezhou/city.toml")  # doctest: +SKIP
    >>> page.servable()                                    # doctest: +SKIP
    """
    try:
        ws = open_workspace(target)
    except (DataError, OSError, KeyError) as exc:
        return error_page(str(target), exc)
    return OperationsScreen(ws).panel


def error_page(target: str, exc: BaseException) -> pn.viewable.Viewable:
    """A clear page saying what could not be opened and what to do."""
    text = str(exc).replace("\n", "<br>")
    return pn.Column(
        pn.pane.HTML('<div class="title">City twin – operations centre</div>'),
        pn.pane.Alert(f"<b>Cannot open {target}</b><br>{text}<br><br>Start the viewer on a "
                      "city manifest or a run: <code>twin serve data_samples/ezhou/city.toml"
                      "</code>, or make the sample first with <code>twin demo</code>.",
                      alert_type="danger", css_classes=["error-page"]),
        stylesheets=[_CSS], sizing_mode="stretch_width")


class OperationsScreen:
    """The widgets of one session, wired together.

    Parameters
    ----------
    ws : viewer.workspace.Workspace
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.model = ViewModel(ws.city, ws.scene, ws.run)
        self.compare: tuple[ViewModel, Scene3D, KpiBoard] | None = None
        self.view = Scene3D(self.model)
        self.kpis = KpiBoard()
        self.playback = Playback(self.model, on_frame=self.show_frame)
        self.map = MapView(ws.city, on_building=self.select_building, on_sensor=self._pick_sensor)
        self.chart = SensorChart(ws.city.sensors, ws.city.timezone)
        self.events = EventTable(self.model.events(), on_choose=self.choose_event)
        self.whatif = WhatIf(getattr(ws.run, "scenario", None) if ws.run is not None else None,
                             Path("runs"), on_done=self.show_comparison)
        self.run_select = pn.widgets.Select(label="Run", options=list(ws.runs),
                                            value=_run_label(ws), width=220,
                                            css_classes=["run-select"])
        self.run_select.param.watch(self._pick_run, "value")
        self.layers = pn.widgets.CheckButtonGroup(label="Layers", options={v: k for k, v in
                                                                          LAYERS.items()},
                                                  value=list(LAYERS), color="primary",
                                                  variant="outline",
                                                  css_classes=["layer-toggles"])
        self.layers.param.watch(self._layers_changed, "value")
        self.color_mode = pn.widgets.RadioButtonGroup(
            label="Buildings", options={"Use": "use", "Height": "height", "Flood impact": "impact"},
            value="use", color="primary", variant="outline",
            css_classes=["color-mode"])
        self.color_mode.param.watch(self._color_mode_changed, "value")
        self.cameras = pn.widgets.Select(
            label="Fly to", options=list(self.model.camera_presets()), value="district",
            width=160, css_classes=["camera-presets"])
        self.cameras.param.watch(lambda e: self.view.fly_to(e.new), "value")
        self.notice = pn.pane.HTML(f'<div class="notice">{ws.problem}</div>' if ws.problem else "",
                                   visible=bool(ws.problem), css_classes=["run-notice"])
        self.compare_slot = pn.Column(visible=False, css_classes=["compare"])
        self.views = pn.Row(self.view.panel, self.compare_slot, css_classes=["views"])
        self.show_frame(0)
        self.panel = self._layout()

    # -- behaviour -----------------------------------------------------------
    def show_frame(self, i: int) -> None:
        """Move every panel to replay frame ``i`` (numbers first, the 3D scene last:
        the browser applies messages in order and the scene takes longest)."""
        values = self.model.kpis(i)
        if self.compare is None:
            self.kpis.update(values)
        else:
            other, _, board = self.compare
            self.kpis.update(values)
            board.update(other.kpis(min(i, other.n_frames - 1)),
                         self.model.kpi_difference(other, i))
        if self.model.run is not None:
            self.map.set_states(self.model.roads_closed(i), self.model.sensor_colors(i)
                                if self.ws.city.sensors is not None else None)
            self.chart.set_time(self.model.times[i])
        self.view.show_frame(i)
        if self.compare is not None:
            self.compare[1].show_frame(min(i, self.compare[0].n_frames - 1))

    def select_building(self, index: int | None) -> None:
        """Highlight building row ``index`` in 3D (the map shows its attributes)."""
        for view in self._views():
            view.highlight(index)

    def choose_event(self, event) -> None:
        """Fly to an event and move the replay to its time."""
        if pd.notna(event.get("x")) and pd.notna(event.get("y")):
            self.view.fly_to((float(event["x"]), float(event["y"])), distance=400.0)
        if self.model.run is not None and pd.notna(event.get("time")):
            self.playback.player.value = self.model.frame_at(event["time"])

    def _pick_sensor(self, sensor_id: str) -> None:
        self.chart.select(sensor_id)
        self.tabs.active = 1

    def _layers_changed(self, event) -> None:
        for view in self._views():
            view.set_layers(event.new)

    def _color_mode_changed(self, event) -> None:
        for view in self._views():
            view.set_color_mode(event.new)

    def _views(self) -> list[Scene3D]:
        return [self.view] + ([self.compare[1]] if self.compare else [])

    def _pick_run(self, event) -> None:
        try:
            run = self.ws.open(event.new)
        except (DataError, OSError, KeyError, ValueError) as exc:
            self.notice.object = (f'<div class="notice">Run {event.new} could not be read: '
                                  f'{exc}</div>')
            self.notice.visible = True
            return
        self.load_run(run)

    def load_run(self, run) -> None:
        """Replace the replayed run (the camera stays)."""
        self.model = ViewModel(self.ws.city, self.ws.scene, run)
        self.view.model = self.model
        self.playback.set_model(self.model)
        self.events.set_events(self.model.events())
        self.notice.visible = False
        self.show_frame(0)

    def show_comparison(self, run) -> None:
        """Show ``run`` beside the current one: linked cameras, KPI differences."""
        other = ViewModel(self.ws.city, self.ws.scene, run)
        view = Scene3D(other, width=465, height=560)
        view.set_layers(self.layers.value)
        view.set_color_mode(self.color_mode.value)
        self.view.link(view)
        board = KpiBoard(width=465)
        self.compare = (other, view, board)
        self.view.pane.param.update(width=465, height=560)
        self.compare_slot[:] = [pn.pane.HTML(f'<div style="{_SUB}">What-if: {run.name} '
                                             f'(differences to {self.model.run.name})</div>'),
                                board.panel, view.panel]
        self.compare_slot.visible = True
        self.show_frame(self.playback.player.value)

    # -- layout ----------------------------------------------------------------
    def _layout(self) -> pn.viewable.Viewable:
        header = pn.Row(
            pn.pane.HTML(f'<div style="{_TITLE}">{self.ws.city.name}</div><div style="{_SUB}">'
                         f'Operations centre · {self.ws.city.crs.name}</div>', width=340),
            self.playback.panel, self.run_select, sizing_mode="stretch_width",
            css_classes=["header"])
        controls = pn.Row(self.layers, self.color_mode, self.cameras,
                          sizing_mode="stretch_width", css_classes=["view-controls"])
        self.tabs = pn.Tabs(("Map", self.map.panel), ("Sensors", self.chart.panel),
                            ("Events", self.events.panel), ("What-if", self.whatif.panel),
                            width=550, css_classes=["side-tabs"], dynamic=False)
        main = pn.Row(pn.Column(controls, self.views, sizing_mode="stretch_both"), self.tabs,
                      sizing_mode="stretch_both")
        return pn.Column(header, self.notice, self.kpis.panel, main,
                         sizing_mode="stretch_both", stylesheets=[_CSS], css_classes=["ops-screen"])


def _run_label(ws: Workspace) -> str | None:
    if ws.run is None:
        return None
    path = Path(ws.run.path).resolve()
    return next((k for k, v in ws.runs.items() if Path(v).resolve() == path), None)


def serve(target: str, *, port: int = 5006, show: bool = True,
          basic_auth: str | None = None) -> None:
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

    Examples
    --------
    >>> serve("data_samples/ezhou/city.toml", port=5006, show=False)  # doctest: +SKIP
    """
    pn.extension("vtk", "tabulator", inline=True, theme="dark", notifications=True)
    pn.config.inline = True
    kw = {"basic_auth": basic_auth, "cookie_secret": os.urandom(16).hex()} if basic_auth else {}
    try:   # load the city and its meshes now, not when the first visitor arrives
        open_workspace(target)
    except (DataError, OSError, KeyError) as exc:
        print(f"warning: {exc} (the page will say so)", file=sys.stderr, flush=True)
    print(f"City twin viewer on http://localhost:{port}  ({target})", flush=True)
    pn.serve({"/": lambda: build_app(target)}, port=port, address="127.0.0.1", show=show,
             title="City twin – operations centre", websocket_max_message_size=
             WEBSOCKET_MAX_MESSAGE_SIZE, allow_websocket_origin=[f"localhost:{port}",
                                                                  f"127.0.0.1:{port}"], **kw)
