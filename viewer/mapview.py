"""The linked 2D map: the frame's water, footprints, roads and sensors in the
city CRS (metres).

One tap tool picks buildings, roads and sensors; the pick shows the feature
by name with its attributes (units), its state over the run and its BIM
storeys, and is highlighted in 3D (the 3D view's picks come here too). Two
draw tools measure a distance (polyline) and an area (polygon), computed in
metres since the CRS is projected.
"""
from __future__ import annotations

import html
from functools import partial
from typing import Callable

import numpy as np
import panel as pn
import shapely
from bokeh.models import (ColumnDataSource, HoverTool, LinearColorMapper, PanTool, PolyDrawTool,
                          Range1d, ResetTool, TapTool, WheelZoomTool)
from bokeh.plotting import figure

from scenes import style
from viewer import palette
from viewer.viewmodel import feature_names

__all__ = ["MapView", "map_extent", "measure", "feature_html"]

_HINT = "<i>Tap a building, road or sensor on the map or in the 3D view.</i>"
_MEASURE_HINT = ("<i>Measure: choose the line or area tool above the map, double-click to "
                 "start, click each point, double-click to finish.</i>")
_ROAD_OPEN = "#8a8f99"
_PICKED = palette.hex_color(palette.HIGHLIGHT)
_LABELS = {"id": "id", "use": "use", "height": "height", "storeys": "storeys",
           "population": "people", "lanes": "lanes", "speed_kmh": "speed limit",
           "capacity_vph": "capacity", "oneway": "one way", "warning": "warning level",
           "alarm": "alarm level", "base": "ground level", "class": "class", "kind": "kind",
           "unit": "unit"}
_UNITS = {"height": "m", "base": "m", "speed_kmh": "km/h", "capacity_vph": "veh/h"}

FRAME = (440, 360)
"""Width and height (px) of the map's plotting frame."""


def map_extent(bounds: tuple[float, float, float, float],
               frame: tuple[int, int] = FRAME) -> tuple[float, float, float, float]:
    """``(xmin, xmax, ymin, ymax)`` of the map: ``bounds`` padded by 2 % and widened
    to the frame's aspect so one metre is as long east as north.

    Examples
    --------
    >>> map_extent((0, 0, 100, 100), (200, 100))
    (-54.0, 154.0, -2.0, 102.0)
    """
    xmin, ymin, xmax, ymax = bounds
    pad = 0.02 * max(xmax - xmin, ymax - ymin)
    xmin, ymin, xmax, ymax = xmin - pad, ymin - pad, xmax + pad, ymax + pad
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    scale = max((xmax - xmin) / frame[0], (ymax - ymin) / frame[1])
    hw, hh = scale * frame[0] / 2, scale * frame[1] / 2
    return (cx - hw, cx + hw, cy - hh, cy + hh)


def measure(xs, ys) -> tuple[float, float]:
    """Length of the polyline through the points and area of the polygon they close (m, m2).

    Examples
    --------
    >>> measure([0, 3, 3], [0, 0, 4])
    (7.0, 6.0)
    """
    xy = np.column_stack([np.asarray(xs, float), np.asarray(ys, float)])
    if len(xy) < 2:
        return 0.0, 0.0
    length = float(np.hypot(*np.diff(xy, axis=0).T).sum())
    area = float(shapely.area(shapely.Polygon(xy))) if len(xy) >= 3 else 0.0
    return length, area


class MapView:
    """The 2D map of a city: the frame's water, picking and measurement.

    Parameters
    ----------
    model : viewer.viewmodel.ViewModel
        The city and run shown (replace with :meth:`set_model`).
    on_pick : callable
        Called with ``(kind, row)`` when a building, road or sensor is tapped
        (``kind`` in ``"buildings"``, ``"roads"``, ``"sensors"``), ``(None, None)``
        when the selection is cleared.

    Examples
    --------
    >>> mv = MapView(vm, on_pick=print)   # doctest: +SKIP
    >>> mv.select("buildings", 3)         # doctest: +SKIP
    """

    def __init__(self, model, on_pick: Callable[[str | None, int | None], None]) -> None:
        self.model = model
        self.city = model.city
        self.on_pick = on_pick
        self.frame = 0
        self.selected: tuple[str, int] | None = None
        self._quiet = False
        self.extent = map_extent(self.city.bounds)
        self.info = pn.pane.HTML(_HINT, css_classes=["feature-info", "building-info"],
                                 sizing_mode="stretch_width", min_height=120)
        self.measurement = pn.pane.HTML(_MEASURE_HINT, css_classes=["measurement"],
                                        sizing_mode="stretch_width")
        self.figure = self._figure()
        self.panel = pn.Column(pn.pane.Bokeh(self.figure, css_classes=["map"]), self.measurement,
                               self.info, css_classes=["mapview"], sizing_mode="stretch_width")

    # -- figure ------------------------------------------------------------
    def _figure(self):
        x0, x1, y0, y1 = self.extent
        fig = figure(frame_width=FRAME[0], frame_height=FRAME[1], x_range=Range1d(x0, x1),
                     y_range=Range1d(y0, y1), tools="", toolbar_location="above",
                     background_fill_color="#101722", border_fill_color="#0b1018",
                     min_border=0, output_backend="canvas")
        fig.axis.visible = False
        fig.grid.visible = False
        wheel = WheelZoomTool(description="Zoom (mouse wheel)")
        fig.add_tools(PanTool(description="Pan (drag)"), wheel,
                      ResetTool(description="Back to the whole district"))
        fig.toolbar.active_scroll = wheel
        self._add_water(fig)
        self._add_flood(fig)
        pickable = [self._add_roads(fig), self._add_buildings(fig), self._add_sensors(fig)]
        pickable = [r for r in pickable if r is not None]
        tap = TapTool(renderers=pickable, mode="replace",
                      description="Pick a building, road or sensor")
        fig.add_tools(tap)
        fig.toolbar.active_tap = tap
        self._add_measure_tools(fig)
        return fig

    def _add_water(self, fig) -> None:
        if len(self.city.water):
            xs, ys = _polygon_rings(self.city.water.geometry.values)
            fig.patches(xs, ys, fill_color=palette.hex_color(style.WATER_COLOR), line_color=None,
                        fill_alpha=0.8)

    def _add_flood(self, fig) -> None:
        """An image of the frame's engine grid (water depth classes) under the features."""
        self.flood_source = ColumnDataSource({"image": [np.zeros((1, 1), np.uint8)],
                                              "x": [0.0], "y": [0.0], "dw": [1.0], "dh": [1.0]})
        self.flood_mapper = LinearColorMapper(palette=["#00000000", "#00000000"], low=0, high=1)
        self.flood_image = fig.image("image", x="x", y="y", dw="dw", dh="dh",
                                     source=self.flood_source, color_mapper=self.flood_mapper,
                                     visible=False, name="map-flood")

    def _add_roads(self, fig):
        r = self.city.roads
        if not len(r):
            self.road_source = None
            return None
        coords = shapely.get_coordinates(r.geometry.values)
        parts = shapely.get_num_coordinates(r.geometry.values)
        splits = np.cumsum(parts)[:-1]
        self.road_source = ColumnDataSource({
            "xs": [a.tolist() for a in np.split(coords[:, 0], splits)],
            "ys": [a.tolist() for a in np.split(coords[:, 1], splits)],
            "color": [_ROAD_OPEN] * len(parts), "width": [2.0] * len(parts),
            "name": _names(self.city, "roads"), "class": r["class"].astype(str).tolist() if "class" in r
            else [""] * len(r), "state": ["open"] * len(r)}, name="map-roads")
        line = fig.multi_line("xs", "ys", source=self.road_source, line_color="color",
                              line_width="width", selection_line_color=_PICKED,
                              nonselection_line_alpha=0.8)
        fig.add_tools(HoverTool(renderers=[line], tooltips=[
            ("road", "@name"), ("class", "@class"), ("state", "@state")]))
        self.road_source.selected.on_change("indices", partial(self._tapped, "roads"))
        return line

    def _add_buildings(self, fig):
        b = self.city.buildings
        xs, ys = _polygon_rings(b.geometry.values)
        colors = [palette.hex_color(c) for c in style.colors_for(
            b["use"] if "use" in b else [None] * len(b), style.BUILDING_USE_COLORS)]
        self.building_source = ColumnDataSource({
            "xs": xs, "ys": ys, "id": b["id"].astype(str).tolist(), "color": colors,
            "name": _names(self.city, "buildings"),
            "use": b["use"].astype(str).tolist() if "use" in b else [""] * len(b),
            "height": b["height"].round(1).tolist()}, name="map-buildings")
        r = fig.patches("xs", "ys", source=self.building_source, fill_color="color",
                        line_color="#0b1018", line_width=0.5, selection_fill_color=_PICKED,
                        selection_line_color="#ffffff", nonselection_fill_alpha=0.7)
        fig.add_tools(HoverTool(renderers=[r], tooltips=[("building", "@name"), ("use", "@use"),
                                                         ("height", "@height m")]))
        self.building_source.selected.on_change("indices", partial(self._tapped, "buildings"))
        return r

    def _add_sensors(self, fig):
        if self.city.sensors is None or not len(self.city.sensors.stations):
            self.sensor_source = None
            return None
        st = self.city.sensors.stations
        self.sensor_source = ColumnDataSource({
            "x": st.geometry.x.tolist(), "y": st.geometry.y.tolist(),
            "id": st["id"].astype(str).tolist(), "name": _names(self.city, "sensors"),
            "kind": st["kind"].astype(str).str.replace("_", " ").tolist(),
            "status": ["no data"] * len(st), "color": ["#969696"] * len(st)}, name="map-sensors")
        r = fig.scatter("x", "y", source=self.sensor_source, size=11, marker="diamond",
                        fill_color="color", line_color="white", selection_line_color=_PICKED,
                        selection_line_width=3)
        fig.add_tools(HoverTool(renderers=[r], tooltips=[
            ("sensor", "@name"), ("kind", "@kind"), ("status", "@status")]))
        self.sensor_source.selected.on_change("indices", partial(self._tapped, "sensors"))
        return r

    def _add_measure_tools(self, fig) -> None:
        self.line_source = ColumnDataSource({"xs": [], "ys": []})
        self.area_source = ColumnDataSource({"xs": [], "ys": []})
        lines = fig.multi_line("xs", "ys", source=self.line_source, line_color="#ffd400",
                               line_width=3, line_dash="dashed")
        areas = fig.patches("xs", "ys", source=self.area_source, fill_color="#ffd400",
                            fill_alpha=0.25, line_color="#ffd400", line_width=2)
        fig.add_tools(PolyDrawTool(renderers=[lines], description=(
                          "Measure a distance: double-click to start, click each point, "
                          "double-click to finish")),
                      PolyDrawTool(renderers=[areas], description=(
                          "Measure an area: double-click to start, click each corner, "
                          "double-click to finish")))
        self.line_source.on_change("data", lambda attr, old, new: self._measured())
        self.area_source.on_change("data", lambda attr, old, new: self._measured())

    # -- behaviour -----------------------------------------------------------
    def set_model(self, model) -> None:
        """Show another run of the same city."""
        self.model = model
        self.frame = 0

    def _tapped(self, kind: str, attr, old, new) -> None:
        if self._quiet:
            return
        if new:
            row = int(new[-1])
            self._select_only(kind, row)
            self.show(kind, row)
            self.on_pick(kind, row)
        elif self.selected is not None and self.selected[0] == kind:
            self.show(None, None)
            self.on_pick(None, None)

    def _select_only(self, kind: str | None, row: int | None) -> None:
        """Select one feature on the map and clear the other sources, without callbacks."""
        self._quiet = True
        try:
            for k, source in (("buildings", self.building_source), ("roads", self.road_source),
                              ("sensors", self.sensor_source)):
                if source is None:
                    continue
                want = [int(row)] if k == kind and row is not None else []
                if list(source.selected.indices) != want:
                    source.selected.indices = want
        finally:
            self._quiet = False
        self.selected = (kind, int(row)) if kind is not None and row is not None else None

    def select(self, kind: str | None, row: int | None) -> None:
        """Pick a feature as if tapped (without calling back), or clear with ``None``."""
        self._select_only(kind, row)
        self.show(kind, row)

    def select_building(self, index: int | None) -> None:
        """Select a building row as if tapped (calls back), or clear with ``None``."""
        self.building_source.selected.indices = [] if index is None else [int(index)]

    def show(self, kind: str | None, row: int | None) -> None:
        """Write what is known of a feature: names, attributes with units, its state
        in each engine over the run (buildings) and its BIM storeys."""
        self.info.object = _HINT if kind is None or row is None else \
            feature_html(self.model, kind, int(row), self.frame)

    def show_building(self, index: int | None) -> None:
        """Write the attributes of building row ``index``."""
        self.show("buildings" if index is not None else None, index)

    def set_frame(self, i: int) -> None:
        """Show frame ``i``: road states (colour, closed, a line layer's widths), sensor
        statuses, the engine grid's image."""
        self.frame = int(i)
        vm = self.model
        if vm.run is None:
            return
        if self.road_source is not None:
            closed = vm.roads_closed(i)
            colors = [palette.hex_color(c) for c in vm.road_colors(i)]   # layers colour them
            state = np.where(closed, "closed", "open").tolist()
            widths = next((w for layer in vm.layers.values()
                           if (w := layer.road_widths(i)) is not None), None)
            widths = [2.0] * len(closed) if widths is None else \
                np.round(2.0 * np.asarray(widths, float), 1).tolist()
            _patch(self.road_source, color=colors, state=state, width=widths)
        if self.sensor_source is not None:
            status = vm.sensor_status(i)
            hexes = {k: palette.hex_color(v) for k, v in palette.SENSOR_STATUS_COLORS.items()}
            _patch(self.sensor_source, status=status.tolist(),
                   color=[hexes.get(s, hexes["no data"]) for s in status])
        self._show_grid(i)
        if self.selected is not None:
            self.show(*self.selected)

    def set_building_colors(self, rgb) -> None:
        """Colour the footprints (RGB per building row), as the 3D view colours them."""
        _patch(self.building_source, color=[palette.hex_color(c) for c in rgb])

    def _show_grid(self, i: int) -> None:
        image = next((img for layer in self.model.layers.values()
                      if (img := layer.map_image(i)) is not None), None)
        if image is None:
            self.flood_image.visible = False
            return
        img, (x, y, w, h), pal = image
        if list(self.flood_mapper.palette) != list(pal):
            self.flood_mapper.update(palette=list(pal), low=-0.5, high=len(pal) - 0.5)
        geometry = {"x": [x], "y": [y], "dw": [w], "dh": [h]}
        if any(self.flood_source.data[k] != v for k, v in geometry.items()):
            self.flood_source.data = {"image": [img], **geometry}
        else:
            self.flood_source.data["image"] = [img]
        self.flood_image.visible = True

    def _measured(self) -> None:
        parts = []
        for xs, ys in zip(self.line_source.data["xs"], self.line_source.data["ys"]):
            parts.append(f"distance {measure(xs, ys)[0]:,.1f} m")
        for xs, ys in zip(self.area_source.data["xs"], self.area_source.data["ys"]):
            length, area = measure(list(xs) + list(xs[:1]), list(ys) + list(ys[:1]))
            parts.append(f"area {area:,.0f} m² ({area / 1e4:.2f} ha), perimeter {length:,.1f} m")
        self.measurement.object = "; ".join(parts) or _MEASURE_HINT


def feature_html(model, kind: str, row: int, frame: int) -> str:
    """HTML about one feature for people: its name first, attributes with units,
    each engine's account of it over the run (buildings), BIM storeys.

    Examples
    --------
    >>> feature_html(vm, "buildings", 0, 0)   # doctest: +SKIP
    '<div class="feature"><h4>Fenghuang Sports Centre Stadium</h4>...'
    """
    table = model.city.sensors.stations if kind == "sensors" else getattr(model.city, kind)
    rec = table.iloc[row]
    name = feature_names(model.city)[kind][row]
    cells = "".join(f"<tr><th>{html.escape(_LABELS.get(k, k))}</th>"
                    f"<td>{html.escape(_fmt(v, _UNITS.get(k, '')))}</td></tr>"
                    for k, v in rec.items() if k not in ("geometry", "name"))
    out = (f'<div class="feature"><h4>{html.escape(name)}</h4>'
           f'<table class="attributes">{cells}</table>')
    if kind == "sensors" and model.run is not None:
        status = model.sensor_status(frame)
        out += f"<div>status now: <b>{html.escape(str(status.iloc[row]))}</b></div>"
    if kind == "roads" and model.run is not None:
        out += f"<div>now: <b>{'closed' if model.roads_closed(frame)[row] else 'open'}</b></div>"
    if kind == "buildings":
        if model.run is not None:
            out += "".join(layer.building_info(row, frame) for layer in model.layers.values())
        bim = model.city.bim.get(str(rec["id"])) if model.city.bim else None
        if bim is not None:
            storeys = "".join(f"<tr><td>{html.escape(str(s['name']))}</td>"
                              f"<td>{float(s['elevation']):.2f} m</td></tr>"
                              for _, s in bim.storeys.iterrows())
            out += f'<b>BIM storeys</b><table class="storeys">{storeys}</table>'
    return out + "</div>"


def _patch(source: ColumnDataSource, **columns) -> None:
    """Send only the columns that changed (never the geometry)."""
    for key, values in columns.items():
        if list(source.data[key]) != list(values):
            source.data[key] = values


def _names(city, kind: str) -> list[str]:
    table = city.sensors.stations if kind == "sensors" else getattr(city, kind)
    return [f"{n} ({i})" for n, i in zip(feature_names(city)[kind], table["id"].astype(str))]


def _polygon_rings(geoms) -> tuple[list, list]:
    """Exterior rings of (multi)polygons as Bokeh patches; multipolygons by their largest part."""
    parts, owner = shapely.get_parts(np.asarray(geoms), return_index=True)
    order = np.lexsort((-shapely.area(parts), owner))
    first = order[np.unique(owner[order], return_index=True)[1]]
    rings = shapely.get_exterior_ring(parts[first])
    coords = shapely.get_coordinates(rings)
    splits = np.cumsum(shapely.get_num_coordinates(rings))[:-1]
    return ([a.tolist() for a in np.split(coords[:, 0], splits)],
            [a.tolist() for a in np.split(coords[:, 1], splits)])


def _fmt(value, unit: str = "") -> str:
    if isinstance(value, (float, np.floating)):
        text = f"{value:,.2f}"
    elif isinstance(value, (bool, np.bool_)):
        text = "yes" if value else "no"
    else:
        text = str(value)
    return f"{text} {unit}".strip()
