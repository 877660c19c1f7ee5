"""The ensemble page: how likely the water gets deep, and how far the members spread.

:func:`ensemble_page` shows an ensemble store written by ``twin ensemble`` /
:func:`twin.run_ensemble`: a header (scenario, members run and failed, what
was varied), the map of the probability that the peak depth reaches a chosen
threshold, the spread of every KPI peak over the members (table and strip
chart) and the member table with the failed members and their errors.
:func:`serve_ensemble` serves it like ``twin serve`` serves a run. A folder
that is not an ensemble gives a page saying so, never a traceback.

Examples
--------
>>> page = ensemble_page("runs/demo-ens.zarr")                # doctest: +SKIP
>>> serve_ensemble("runs/demo-ens.zarr", port=5007, show=False)  # doctest: +SKIP
"""
from __future__ import annotations

import html
import logging
import sys

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import (ColorBar, ColumnDataSource, FixedTicker, LinearColorMapper,
                          NumeralTickFormatter, Range1d)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from geodata.errors import DataError
from viewer.palette import BACKGROUND, hex_color

__all__ = ["EnsemblePage", "ensemble_page", "ensemble_error_page", "serve_ensemble",
           "PROBABILITY_PALETTE", "failed_members_html"]

log = logging.getLogger(__name__)

PROBABILITY_PALETTE: tuple[str, ...] = tuple(Viridis256[88:])
"""Probability 0..1 -> colour: viridis from its teal on (lightness rises with the
probability, colour-blind safe; every colour has a contrast of 3 or more with
the dark background). A probability of exactly 0 is left transparent."""

_BG = hex_color(BACKGROUND)
_PANEL_BG = "#101722"
_TITLE = "font-size:20px;font-weight:600;color:#e8eef7"
_STRIP_COLOR = "#7fd4ff"
_BAND_COLOR = "#ffb020"
_TABS_CSS = (":host .bk-tab { color: #c8d2e0; }"
             ":host .bk-tab.bk-active { color: #ffffff; background-color: #1d2738;"
             " border-color: #7fd4ff; }")
_POSITIONS = ("_x_max", "_y_max")
"""KPIs that are positions (where the worst hazard is), not amounts: no strip."""


def _label(kpi: str) -> str:
    """``flooded_area_m2_max`` -> ``flooded area m2 (peak)``."""
    return kpi.removesuffix("_max").replace("_", " ") + " (peak)"


class EnsemblePage:
    """The widgets of one session showing one ensemble.

    Parameters
    ----------
    ens : twin.ensemble.Ensemble

    Attributes
    ----------
    threshold : panel.widgets.Select
        The depth (m) whose exceedance probability the map shows.
    source : bokeh.models.ColumnDataSource
        The map's image (rows from south to north, as Bokeh draws them).
    spread : panel.widgets.Tabulator
        ``kpi_spread()`` of the ensemble.
    strips : dict of str to ColumnDataSource
        Members' values of each KPI peak.
    panel : panel.viewable.Viewable

    Examples
    --------
    >>> import twin
    >>> page = EnsemblePage(twin.open_ensemble("runs/demo-ens.zarr"))  # doctest: +SKIP
    >>> page.threshold.value = 0.5                                      # doctest: +SKIP
    """

    def __init__(self, ens) -> None:
        self.ens = ens
        self.members = ens.members
        self.prob = ens.probability
        self.has_map = self.prob is not None and "depth_exceedance" in self.prob
        self.source = ColumnDataSource({"image": [], "x": [], "y": [], "dw": [], "dh": []},
                                       name="ens-probability")
        thresholds = ([float(t) for t in self.prob["threshold"].values] if self.has_map
                      else [])
        self.threshold = pn.widgets.Select(
            label="Peak depth at least", options={f"≥ {t:g} m": t for t in thresholds},
            value=thresholds[min(1, len(thresholds) - 1)] if thresholds else None,
            css_classes=["ens-threshold"], width=200, disabled=not thresholds)
        self.map_title = pn.pane.HTML("", css_classes=["ens-map-title"],
                                      sizing_mode="stretch_width")
        self.spread = pn.widgets.Tabulator(self._spread_table(), disabled=True,
                                           show_index=False, css_classes=["ens-spread"],
                                           sizing_mode="stretch_width", theme="midnight")
        self.strips: dict[str, ColumnDataSource] = {}
        self.member_table = pn.widgets.Tabulator(
            self.members.reset_index(), disabled=True, show_index=False,
            css_classes=["ens-members"], sizing_mode="stretch_width", theme="midnight",
            height=min(400, 60 + 32 * len(self.members)))
        self.threshold.param.watch(lambda e: self.show_threshold(e.new), "value")
        self.panel = self._layout()
        if self.has_map:
            self.show_threshold(self.threshold.value)

    # --- the probability map ---------------------------------------------------------
    def probability_image(self, threshold: float) -> np.ndarray:
        """``P(max depth >= threshold)`` on the grid, rows from south to north."""
        da = self.prob["depth_exceedance"].sel(threshold=threshold)
        values = np.asarray(da.values, dtype=float)
        y = self.prob["y"].values
        return values[::-1] if len(y) > 1 and y[0] > y[-1] else values

    def _extent(self) -> tuple[float, float, float, float]:
        x, y = self.prob["x"].values.astype(float), self.prob["y"].values.astype(float)
        dx = abs(x[1] - x[0]) if len(x) > 1 else 1.0
        dy = abs(y[1] - y[0]) if len(y) > 1 else 1.0
        return x.min() - dx / 2, y.min() - dy / 2, x.max() + dx / 2, y.max() + dy / 2

    def show_threshold(self, threshold: float) -> None:
        """Show the probability map of ``threshold`` (m)."""
        if not self.has_map or threshold is None:
            return
        image = self.probability_image(threshold)
        x0, y0, x1, y1 = self._extent()
        self.source.data = {"image": [image], "x": [x0], "y": [y0], "dw": [x1 - x0],
                            "dh": [y1 - y0]}
        cell = (x1 - x0) * (y1 - y0) / image.size
        likely = int(np.count_nonzero(image >= 0.5))
        self.map_title.object = (
            f'<div class="ens-map-caption">Probability that the peak depth reaches '
            f'{threshold:g} m — {likely} cells ({likely * cell:,.0f} m²) in half of the '
            f'members or more; highest {np.nanmax(image):.0%}</div>')

    def _map(self) -> pn.viewable.Viewable:
        if not self.has_map:
            return pn.pane.HTML('<div class="ens-no-map">This ensemble ran no flood: there is '
                                'no depth probability to map.</div>')
        x0, y0, x1, y1 = self._extent()
        fig = figure(height=460, sizing_mode="stretch_width", match_aspect=True,
                     x_range=Range1d(x0, x1), y_range=Range1d(y0, y1),
                     tools="pan,wheel_zoom,box_zoom,reset,hover",
                     tooltips=[("P", "@image{0%}")], background_fill_color=_BG,
                     border_fill_color=_PANEL_BG, output_backend="canvas",
                     name="ens-map")
        fig.grid.visible = False
        fig.xaxis.formatter = fig.yaxis.formatter = NumeralTickFormatter(format="0,0")
        for axis in (fig.xaxis, fig.yaxis):
            axis.major_label_text_color = "#c8d2e0"
            axis.axis_label_text_color = "#c8d2e0"
        fig.xaxis.axis_label, fig.yaxis.axis_label = "x (m, city CRS)", "y (m)"
        mapper = LinearColorMapper(palette=list(PROBABILITY_PALETTE), low=1e-9, high=1.0,
                                   low_color="rgba(0,0,0,0)", nan_color="rgba(0,0,0,0)",
                                   name="ens-mapper")
        fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source,
                  color_mapper=mapper)
        bar = ColorBar(color_mapper=mapper, title="probability", width=14,
                       ticker=FixedTicker(ticks=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
                       background_fill_color=_PANEL_BG, title_text_color="#e8eef7",
                       major_label_text_color="#e8eef7", name="ens-colorbar")
        fig.add_layout(bar, "right")
        return pn.Column(self.threshold, self.map_title, pn.pane.Bokeh(fig),
                         sizing_mode="stretch_width", css_classes=["ens-map"])

    # --- the spread of the KPIs -------------------------------------------------------
    def _spread_table(self) -> pd.DataFrame:
        spread = self.ens.kpi_spread()
        spread.index.name = "kpi"
        return spread.reset_index()

    def _strip(self, kpi: str, row: pd.Series) -> pn.viewable.Viewable:
        ok = self.members[self.members["status"] == "ok"]
        values = pd.to_numeric(ok[kpi], errors="coerce")
        varied = [c for c in self.ens.attrs.get("vary", []) if c in ok]
        text = [", ".join(f"{c}={ok.at[m, c]:g}" if isinstance(ok.at[m, c], (int, float))
                          else f"{c}={ok.at[m, c]}" for c in varied) for m in ok.index]
        src = ColumnDataSource({"value": values.to_numpy(float),
                                "y": np.linspace(-0.25, 0.25, len(values)) if len(values) > 1
                                else np.zeros(len(values)),
                                "member": ok.index.astype(str).tolist(), "varied": text},
                               name=f"ens-strip-{kpi}")
        self.strips[kpi] = src
        lo, hi = float(row["min"]), float(row["max"])
        pad = max(hi - lo, abs(hi) * 0.05, 1e-9) * 0.08
        fig = figure(height=90, sizing_mode="stretch_width", title=_label(kpi),
                     x_range=Range1d(lo - pad, hi + pad), y_range=Range1d(-0.6, 0.6),
                     tools="hover", tooltips=[("member", "@member"), ("value", "@value{0.[00]}"),
                                              ("", "@varied")],
                     background_fill_color=_PANEL_BG, border_fill_color=_PANEL_BG,
                     output_backend="canvas", name=f"ens-strip-fig-{kpi}")
        fig.title.text_color = "#e8eef7"
        fig.yaxis.visible = False
        fig.ygrid.visible = False
        fig.xaxis.major_label_text_color = "#c8d2e0"
        fig.hbar(y=0, left=float(row["p05"]), right=float(row["p95"]), height=0.7,
                 fill_color=_BAND_COLOR, fill_alpha=0.25, line_color=_BAND_COLOR)
        fig.segment(x0=float(row["median"]), x1=float(row["median"]), y0=-0.35, y1=0.35,
                    line_color=_BAND_COLOR, line_width=3)
        fig.scatter("value", "y", source=src, size=9, color=_STRIP_COLOR, line_color="#0b1018")
        return pn.pane.Bokeh(fig, sizing_mode="stretch_width")

    def _spread(self) -> pn.viewable.Viewable:
        table = self.spread.value
        if table.empty:
            return pn.pane.HTML("<div>No KPI values: no member ran to the end.</div>")
        varies = table["max"] > table["min"]
        strips = [self._strip(r["kpi"], r) for _, r in table[varies].iterrows()
                  if not r["kpi"].endswith(_POSITIONS)]
        same = ", ".join(f"{html.escape(_label(r['kpi']))} {r['min']:g}"
                         for _, r in table[~varies].iterrows()
                         if not r["kpi"].endswith(_POSITIONS))
        note = pn.pane.HTML('<div class="ens-note">Dots: the members; band: 5–95 %; '
                            'bar: median.' + (f"<br>The same in every member: {same}." if same
                                              else "") + "</div>", sizing_mode="stretch_width")
        return pn.Column(self.spread, note, *strips, sizing_mode="stretch_width",
                         css_classes=["ens-spread-charts"])

    def _impacts(self) -> pn.viewable.Viewable:
        parts = []
        for what, series, verb in (("Buildings", self.ens.buildings, "flooded"),
                                   ("Roads", self.ens.roads, "closed")):
            hit = series[series > 0].sort_values(ascending=False) if series is not None \
                else pd.Series(dtype=float)
            if hit.empty:
                parts.append(pn.pane.HTML(f"<div>{what}: none {verb} in any member.</div>"))
                continue
            frame = pd.DataFrame({"id": hit.index.astype(str),
                                  f"P({verb})": hit.to_numpy(float)})
            parts.append(pn.pane.HTML(f"<b>{what} {verb} in at least one member "
                                      f"({len(hit)})</b>"))
            parts.append(pn.widgets.Tabulator(frame, disabled=True, show_index=False,
                                              theme="midnight", height=min(300, 40 + 30 * len(hit)),
                                              css_classes=[f"ens-{what.lower()}"],
                                              sizing_mode="stretch_width"))
        return pn.Column(*parts, sizing_mode="stretch_width")

    # --- the page ---------------------------------------------------------------------
    def header_html(self) -> str:
        """The scenario's name, the members run and failed, and what was varied."""
        a = self.ens.attrs
        failed = int((self.members["status"] != "ok").sum())
        varied = []
        for name in a.get("vary", []):
            if name in self.members:
                v = pd.to_numeric(self.members[name], errors="coerce")
                varied.append(f"{html.escape(name)} {v.min():g} – {v.max():g}" if v.notna().all()
                              else html.escape(name))
        return (f'<div class="ens-header"><div style="{_TITLE}">'
                f'{html.escape(str(a.get("name", "?")))} — ensemble</div>'
                f'<div>{int(a.get("members", len(self.members)))} members run, '
                f'{int(a.get("members_ok", len(self.members) - failed))} ok, {failed} failed'
                f' · varied: {", ".join(varied) or "nothing"}</div></div>')

    def _layout(self) -> pn.viewable.Viewable:
        header = pn.pane.HTML(self.header_html(), css_classes=["ens-header-pane"],
                              sizing_mode="stretch_width")
        failed = pn.pane.HTML(failed_members_html(self.members), css_classes=["ens-failed"],
                              sizing_mode="stretch_width")
        tabs = pn.Tabs(("KPI spread", self._spread()),
                       ("Members", pn.Column(failed, self.member_table,
                                             sizing_mode="stretch_width")),
                       ("Buildings and roads", self._impacts()),
                       sizing_mode="stretch_width", stylesheets=[_TABS_CSS])
        return pn.Column(header, pn.Row(pn.Column(self._map(), sizing_mode="stretch_width"),
                                        tabs, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width", css_classes=["ensemble-page"])


def failed_members_html(members: pd.DataFrame) -> str:
    """A list of the failed members and their errors ('' when none failed).

    Examples
    --------
    >>> m = pd.DataFrame({"status": ["ok", "failed"], "error": ["", "ValueError: x"]})
    >>> "member 1" in failed_members_html(m)
    True
    """
    bad = members[members["status"] != "ok"]
    if bad.empty:
        return ""
    items = "".join(f"<li><b>member {html.escape(str(i))}</b>: "
                    f"{html.escape(str(r.get('error', '')) or 'no error given')}</li>"
                    for i, r in bad.iterrows())
    return (f'<div class="ens-failed-list" style="color:#ff9db5"><b>{len(bad)} member(s) '
            f'failed</b> (the probabilities count only the members that ran):<ul>{items}'
            f'</ul></div>')


def ensemble_error_page(target, exc: BaseException) -> pn.viewable.Viewable:
    """A page saying that ``target`` cannot be shown as an ensemble, and what to do.

    Examples
    --------
    >>> page = ensemble_error_page("runs/x.zarr", DataError("is not an ensemble"))
    >>> "Cannot open runs/x.zarr" in page[1].object
    True
    """
    text = html.escape(str(exc)).replace("\n", "<br>")
    return pn.Column(
        pn.pane.HTML(f'<div style="{_TITLE}">City twin – ensemble</div>'),
        pn.pane.Alert(f"<b>Cannot open {html.escape(str(target))}</b><br>{text}<br><br>"
                      "Give a folder written by <code>twin ensemble SCENARIO --members N "
                      "--vary NAME=LOW:HIGH -o ENS.zarr</code> (a single run is shown by "
                      "<code>twin serve RUN.zarr</code>).", alert_type="danger",
                      css_classes=["error-page"]),
        sizing_mode="stretch_width")


def ensemble_page(path) -> pn.viewable.Viewable:
    """The page of the ensemble at ``path``, or a message page if it cannot be shown.

    Examples
    --------
    >>> ensemble_page("runs/demo-ens.zarr").servable()   # doctest: +SKIP
    """
    from twin.ensemble import open_ensemble
    try:
        return EnsemblePage(open_ensemble(path)).panel
    except (DataError, OSError, KeyError, ValueError) as exc:
        log.warning("cannot show %s as an ensemble: %s", path, exc)
        return ensemble_error_page(path, exc)


def serve_ensemble(path, port: int = 5006, show: bool = True,
                   basic_auth: str | None = None) -> None:
    """Serve the ensemble page of ``path`` on 127.0.0.1 until interrupted.

    Parameters
    ----------
    path : path-like
        The ensemble store.
    port : int
    show : bool
        Open a browser tab.
    basic_auth : str, optional
        A password, or a JSON file of ``user: password``, passed to Panel's basic auth.

    Raises
    ------
    DataError
        The port is already in use (said before any URL is printed).

    Examples
    --------
    >>> serve_ensemble("runs/demo-ens.zarr", port=5007, show=False)  # doctest: +SKIP
    """
    from viewer.server import prepare
    kw = prepare(port, basic_auth, "tabulator")
    print(f"City twin ensemble viewer on http://localhost:{port}  ({path})", flush=True,
          file=sys.stdout)
    pn.serve({"/": lambda: ensemble_page(path)}, port=port, address="127.0.0.1", show=show,
             title="City twin – ensemble", allow_websocket_origin=[f"localhost:{port}",
                                                                   f"127.0.0.1:{port}"], **kw)
