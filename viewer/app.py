"""The operations-centre viewer: one screen with the 3D city, replay, KPIs,
sensor charts, events, the linked 2D map and what-if runs.

``twin serve`` calls :func:`serve`; :func:`build_app` makes the page of one
browser session (each session has its own camera, frame and selection; the
city, its meshes and the runs are loaded once per server).
"""
from __future__ import annotations

import os
from pathlib import Path

import panel as pn

from geodata.errors import DataError
from viewer.kpis import KpiBoard
from viewer.playback import Playback
from viewer.scene3d import LAYERS, Scene3D
from viewer.viewmodel import ViewModel
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
        self.view = Scene3D(self.model)
        self.kpis = KpiBoard()
        self.playback = Playback(self.model, on_frame=self.show_frame)
        self.run_select = pn.widgets.Select(name="Run", options=list(ws.runs),
                                            value=_run_label(ws), width=220,
                                            css_classes=["run-select"])
        self.run_select.param.watch(self._pick_run, "value")
        self.layers = pn.widgets.CheckButtonGroup(name="Layers", options={v: k for k, v in
                                                                          LAYERS.items()},
                                                  value=list(LAYERS), button_type="primary",
                                                  button_style="outline",
                                                  css_classes=["layer-toggles"])
        self.layers.param.watch(lambda e: self.view.set_layers(e.new), "value")
        self.color_mode = pn.widgets.RadioButtonGroup(
            name="Buildings", options={"Use": "use", "Height": "height", "Flood impact": "impact"},
            value="use", button_type="primary", button_style="outline",
            css_classes=["color-mode"])
        self.color_mode.param.watch(lambda e: self.view.set_color_mode(e.new), "value")
        self.cameras = pn.widgets.RadioButtonGroup(
            name="Camera", options=list(self.model.camera_presets()), value="district",
            button_type="success", button_style="outline", css_classes=["camera-presets"])
        self.cameras.param.watch(lambda e: self.view.fly_to(e.new), "value")
        self.notice = pn.pane.HTML(f'<div class="notice">{ws.problem}</div>' if ws.problem else "",
                                   visible=bool(ws.problem), css_classes=["run-notice"])
        self.show_frame(0)
        self.panel = self._layout()

    # -- behaviour -----------------------------------------------------------
    def show_frame(self, i: int) -> None:
        """Move every panel to replay frame ``i``."""
        self.view.show_frame(i)
        self.kpis.update(self.model.kpis(i))

    def _pick_run(self, event) -> None:
        try:
            run = self.ws.open(event.new)
        except (DataError, OSError, KeyError, ValueError) as exc:
            self.notice.object = f'<div class="notice">Run {event.new} could not be read: {exc}</div>'
            self.notice.visible = True
            return
        self.load_run(run)

    def load_run(self, run) -> None:
        """Replace the replayed run (the camera stays)."""
        self.model = ViewModel(self.ws.city, self.ws.scene, run)
        self.view.model = self.model
        self.playback.set_model(self.model)
        self.notice.visible = False
        self.show_frame(0)

    # -- layout ----------------------------------------------------------------
    def _layout(self) -> pn.viewable.Viewable:
        header = pn.Row(
            pn.pane.HTML(f'<div style="{_TITLE}">{self.ws.city.name}</div><div style="{_SUB}">'
                         f'Operations centre · {self.ws.city.crs.name}</div>', width=340),
            self.playback.panel, self.run_select, sizing_mode="stretch_width",
            css_classes=["header"])
        controls = pn.Row(self.layers, self.color_mode, self.cameras,
                          sizing_mode="stretch_width", css_classes=["view-controls"])
        return pn.Column(header, self.notice, self.kpis.panel, controls, self.view.pane,
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
    print(f"City twin viewer on http://localhost:{port}  ({target})", flush=True)
    pn.serve({"/": lambda: build_app(target)}, port=port, address="127.0.0.1", show=show,
             title="City twin – operations centre", websocket_max_message_size=
             WEBSOCKET_MAX_MESSAGE_SIZE, allow_websocket_origin=[f"localhost:{port}",
                                                                  f"127.0.0.1:{port}"], **kw)
