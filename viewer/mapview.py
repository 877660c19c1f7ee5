"""The linked 2D map: footprints, roads and sensors in the city CRS (metres).

Clicking a building shows its attributes (and its BIM storeys when it has a
model) and highlights it in 3D; the 3D pane has no picking, so the two are
linked by the building's row. Clicking a sensor picks it for the chart. Two
draw tools measure a distance (polyline) and an area (polygon), computed in
metres since the CRS is projected.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import panel as pn
import shapely
from bokeh.models import (ColumnDataSource, HoverTool, PolyDrawTool, Range1d, TapTool,
                          WheelZoomTool)
from bokeh.plotting import figure

from scenes import style
from viewer import palette

__all__ = ["MapView", "map_extent", "measure"]

FRAME = (520, 420)
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
    """The 2D map of a city with building picking and measurement.

    Parameters
    ----------
    city : twin.City
    on_building : callable
        Called with the building row (int) clicked, or ``None`` when cleared.
    on_sensor : callable, optional
        Called with the sensor id clicked.

    Examples
    --------
    >>> mv = MapView(city, on_building=print)   # doctest: +SKIP
    >>> mv.select_building(3)                   # doctest: +SKIP
    """

    def __init__(self, city, on_building: Callable[[int | None], None],
                 on_sensor: Callable[[str], None] | None = None) -> None:
        self.city = city
        self.on_building = on_building
        self.on_sensor = on_sensor
        self.extent = map_extent(city.bounds)
        self.info = pn.pane.HTML("<i>Click a building on the map.</i>",
                                 css_classes=["building-info"],
                                 sizing_mode="stretch_width", min_height=120)
        self.measurement = pn.pane.HTML("Draw a line (distance) or polygon (area) with the "
                                        "draw tools.", css_classes=["measurement"])
        self.figure = self._figure()
        self.panel = pn.Column(pn.pane.Bokeh(self.figure, css_classes=["map"]), self.measurement,
                               self.info, css_classes=["mapview"])

    # -- figure ------------------------------------------------------------
    def _figure(self):
        x0, x1, y0, y1 = self.extent
        fig = figure(frame_width=FRAME[0], frame_height=FRAME[1], x_range=Range1d(x0, x1),
                     y_range=Range1d(y0, y1), tools="pan,reset", toolbar_location="above",
                     background_fill_color="#101722", border_fill_color="#0b1018",
                     min_border=0, output_backend="canvas")
        fig.axis.visible = False
        fig.grid.visible = False
        wheel = WheelZoomTool()
        fig.add_tools(wheel)
        fig.toolbar.active_scroll = wheel
        self._add_water(fig)
        self._add_roads(fig)
        self._add_buildings(fig)
        self._add_sensors(fig)
        self._add_measure_tools(fig)
        return fig

    def _add_water(self, fig) -> None:
        if len(self.city.water):
            xs, ys = _polygon_rings(self.city.water.geometry.values)
            fig.patches(xs, ys, fill_color=palette.hex_color(style.WATER_COLOR), line_color=None,
                        fill_alpha=0.8)

    def _add_roads(self, fig) -> None:
        if len(self.city.roads):
            coords = shapely.get_coordinates(self.city.roads.geometry.values)
            parts = shapely.get_num_coordinates(self.city.roads.geometry.values)
            splits = np.cumsum(parts)[:-1]
            self.road_source = ColumnDataSource({
                "xs": [a.tolist() for a in np.split(coords[:, 0], splits)],
                "ys": [a.tolist() for a in np.split(coords[:, 1], splits)],
                "color": ["#8a8f99"] * len(parts)})
            fig.multi_line("xs", "ys", source=self.road_source, line_color="color", line_width=2)

    def _add_buildings(self, fig) -> None:
        b = self.city.buildings
        xs, ys = _polygon_rings(b.geometry.values)
        colors = [palette.hex_color(c) for c in style.colors_for(
            b["use"] if "use" in b else [None] * len(b), style.BUILDING_USE_COLORS)]
        self.building_source = ColumnDataSource({
            "xs": xs, "ys": ys, "id": b["id"].astype(str).tolist(), "color": colors,
            "use": b["use"].astype(str).tolist() if "use" in b else [""] * len(b),
            "height": b["height"].round(1).tolist()})
        r = fig.patches("xs", "ys", source=self.building_source, fill_color="color",
                        line_color="#0b1018", line_width=0.5, selection_fill_color="#00ffc8",
                        selection_line_color="#ffffff", nonselection_fill_alpha=0.7)
        fig.add_tools(TapTool(renderers=[r]),
                      HoverTool(renderers=[r], tooltips=[("id", "@id"), ("use", "@use"),
                                                         ("height", "@height m")]))
        self.building_source.selected.on_change("indices", self._tapped_building)

    def _add_sensors(self, fig) -> None:
        if self.city.sensors is None or not len(self.city.sensors.stations):
            self.sensor_source = None
            return
        st = self.city.sensors.stations
        self.sensor_source = ColumnDataSource({
            "x": st.geometry.x.tolist(), "y": st.geometry.y.tolist(),
            "id": st["id"].astype(str).tolist(), "kind": st["kind"].astype(str).tolist(),
            "color": ["#969696"] * len(st)})
        r = fig.scatter("x", "y", source=self.sensor_source, size=9, marker="diamond",
                        fill_color="color", line_color="white")
        fig.add_tools(TapTool(renderers=[r]), HoverTool(renderers=[r], tooltips=[
            ("sensor", "@id"), ("kind", "@kind")]))
        self.sensor_source.selected.on_change("indices", self._tapped_sensor)

    def _add_measure_tools(self, fig) -> None:
        self.line_source = ColumnDataSource({"xs": [], "ys": []})
        self.area_source = ColumnDataSource({"xs": [], "ys": []})
        lines = fig.multi_line("xs", "ys", source=self.line_source, line_color="#ffd400",
                               line_width=3, line_dash="dashed")
        areas = fig.patches("xs", "ys", source=self.area_source, fill_color="#ffd400",
                            fill_alpha=0.25, line_color="#ffd400", line_width=2)
        fig.add_tools(PolyDrawTool(renderers=[lines], description="Measure distance"),
                      PolyDrawTool(renderers=[areas], description="Measure area"))
        self.line_source.on_change("data", lambda attr, old, new: self._measured())
        self.area_source.on_change("data", lambda attr, old, new: self._measured())

    # -- behaviour -----------------------------------------------------------
    def _tapped_building(self, attr, old, new) -> None:
        index = int(new[0]) if new else None
        self.show_building(index)
        self.on_building(index)

    def _tapped_sensor(self, attr, old, new) -> None:
        if new and self.on_sensor is not None:
            self.on_sensor(self.sensor_source.data["id"][int(new[0])])

    def select_building(self, index: int | None) -> None:
        """Select a building row as if clicked (or clear with ``None``)."""
        self.building_source.selected.indices = [] if index is None else [int(index)]

    def show_building(self, index: int | None) -> None:
        """Write the attributes (and BIM storeys) of building row ``index``."""
        if index is None:
            self.info.object = "<i>Click a building on the map.</i>"
            return
        row = self.city.buildings.iloc[index]
        skip = {"geometry"}
        cells = "".join(f"<tr><th>{k}</th><td>{_fmt(v)}</td></tr>" for k, v in row.items()
                        if k not in skip)
        html = f'<table class="attributes">{cells}</table>'
        model = self.city.bim.get(str(row["id"]))
        if model is not None:
            storeys = "".join(f"<tr><td>{s['name']}</td><td>{float(s['elevation']):.2f} m</td></tr>"
                              for _, s in model.storeys.iterrows())
            html += f'<b>BIM storeys</b><table class="storeys">{storeys}</table>'
        self.info.object = html

    def set_states(self, road_closed: np.ndarray, sensor_colors: np.ndarray | None) -> None:
        """Colour closed roads red and sensors by status on the map."""
        if len(self.city.roads):
            colors = np.where(road_closed, palette.hex_color(palette.ROAD_CLOSED),
                              "#8a8f99").tolist()
            if colors != list(self.road_source.data["color"]):
                # one column: assigning the whole dict would re-send every road's geometry
                self.road_source.data["color"] = colors
        if self.sensor_source is not None and sensor_colors is not None:
            hexes = np.array(["#{:02x}{:02x}{:02x}".format(*c) for c in map(tuple, np.unique(
                sensor_colors, axis=0))])
            _, code = np.unique(sensor_colors, axis=0, return_inverse=True)
            colors = hexes[code.ravel()].tolist()
            if colors != list(self.sensor_source.data["color"]):
                self.sensor_source.data["color"] = colors

    def _measured(self) -> None:
        parts = []
        for xs, ys in zip(self.line_source.data["xs"], self.line_source.data["ys"]):
            parts.append(f"distance {measure(xs, ys)[0]:,.1f} m")
        for xs, ys in zip(self.area_source.data["xs"], self.area_source.data["ys"]):
            length, area = measure(list(xs) + list(xs[:1]), list(ys) + list(ys[:1]))
            parts.append(f"area {area:,.0f} m² ({area / 1e4:.2f} ha), perimeter {length:,.1f} m")
        self.measurement.object = "; ".join(parts) or "Nothing measured."


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


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
