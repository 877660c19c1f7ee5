"""The ground people walk on around a venue: a walkable grid, the venue with its
gates, the exits, and the crowd inside.

:func:`crowd_area` cuts a square of the city around a place: buildings and
water are walls; the venue building (a stadium) is walkable inside, its outer
ring of cells is a wall opened at its gates (the crowd counters at its walls,
or its four sides without counters); the exits are the edges of the square
and the station buildings in it.

Examples
--------
>>> area = crowd_area(city, CrowdSettings(), file=None)     # doctest: +SKIP
>>> area.grid.shape, sorted(area.exits)                    # doctest: +SKIP
((700, 700), ['edge_east', 'edge_north', 'edge_south', 'edge_west', 'station'])
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import rasterio.features
import shapely
from scipy import ndimage

from geodata.errors import DataError, DataWarning
from geodata.grid import GridSpec
from twin.engines.crowd.settings import CrowdSettings
from twin.engines.flood.grid import locate

__all__ = ["CrowdArea", "crowd_area", "counted_attendance"]

_GATE_HALF_WIDTH_M = 6.0
_GATE_COUNTER_REACH_M = 40.0


@dataclass(eq=False)
class CrowdArea:
    """A walkable grid around a venue.

    Attributes
    ----------
    grid : geodata.grid.GridSpec
        In the city CRS.
    walkable : numpy.ndarray of bool
    exits : dict
        Exit name -> bool mask.
    start : numpy.ndarray of bool
        Cells where the crowd starts (the venue's inside).
    venue_id, venue_name : str
    gates : pandas.DataFrame
        ``name, x, y`` of the venue's gates.
    counters : list of str
        Crowd counters at the venue's walls.
    """

    grid: GridSpec
    walkable: np.ndarray
    exits: dict
    start: np.ndarray
    venue_id: str
    venue_name: str
    gates: pd.DataFrame
    counters: list

    @property
    def local_origin(self) -> tuple[float, float]:
        """``(x_west, y_south)``: the engine's position origin in the city CRS."""
        xmin, ymin, _, _ = self.grid.bounds
        return xmin, ymin


def crowd_area(city, s: CrowdSettings, *, file=None) -> CrowdArea:
    """The walkable square of ``s.radius_m`` around ``s.area`` at ``s.cell_size``.

    Raises
    ------
    DataError
        The area lies outside the city, the venue is unknown or not in the area,
        an exit group finds no cell.
    """
    cx, cy = locate(city, s.area, file=file, key="crowd.area")
    _inside_city(city, cx, cy, file)
    n = int(np.ceil(2 * s.radius_m / s.cell_size))
    grid = GridSpec.from_origin(cx - s.radius_m, cy + s.radius_m, s.cell_size, (n, n))
    venue = _venue(city, s, cx, cy, file)
    footprint = _rasterize([venue.geometry], grid)
    if not footprint.any():
        raise DataError(f"key 'crowd.venue': building {venue['id']} lies outside the crowd area",
                        file=file, fix="centre the area on the venue or enlarge radius_m")
    others = city.buildings[city.buildings["id"] != venue["id"]]
    walls = _rasterize(others.geometry.values, grid)
    if len(city.water):
        walls |= _rasterize(city.water.geometry.values, grid)
    inner = ndimage.binary_erosion(footprint, iterations=1)
    gates, counters = _gates(city, venue)
    gate_cells = _near(grid, gates[["x", "y"]].to_numpy(float), _GATE_HALF_WIDTH_M)
    walkable = ~walls & ~(footprint & ~inner) | (footprint & ~inner & gate_cells)
    exits = _exits(city, s, grid, walkable, file)
    return CrowdArea(grid, walkable, exits, inner & walkable, str(venue["id"]),
                     str(venue.get("name", venue["id"])), gates, counters)


def _inside_city(city, x: float, y: float, file) -> None:
    if city.terrain is None:
        return
    xmin, ymin, xmax, ymax = city.terrain.grid.bounds
    if not (xmin <= x <= xmax and ymin <= y <= ymax):
        raise DataError(f"key 'crowd.area' ({x:.0f}, {y:.0f}) lies outside the city "
                        f"({xmin:.0f}..{xmax:.0f}, {ymin:.0f}..{ymax:.0f})", file=file,
                        fix="give a place of the city or coordinates inside it")


def _venue(city, s: CrowdSettings, cx: float, cy: float, file) -> pd.Series:
    b = city.buildings
    if s.venue is not None:
        hit = b[b["id"].astype(str) == s.venue]
        if len(hit) == 0:
            raise DataError(f"key 'crowd.venue' names building {s.venue!r}, which the city "
                            "does not have", file=file, fix="give the id of a building")
        return hit.iloc[0]
    stadia = b[b["use"] == "stadium"] if "use" in b else b.iloc[:0]
    if len(stadia) == 0:
        raise DataError("the city has no building of use 'stadium' for the crowd to leave",
                        file=file, fix="name the venue: [crowd] venue = \"<building id>\"")
    d = shapely.distance(stadia.geometry.values, shapely.Point(cx, cy))
    return stadia.iloc[int(np.argmin(d))]


def _rasterize(geoms, grid: GridSpec) -> np.ndarray:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(grid.shape, bool)
    return rasterio.features.rasterize(((g, 1) for g in geoms), out_shape=grid.shape,
                                       transform=grid.transform, fill=0,
                                       dtype="uint8").astype(bool)


def _gates(city, venue) -> tuple[pd.DataFrame, list]:
    """Gates: the crowd counters within reach of the venue's wall, projected onto it;
    without counters, the middle of the four sides of its bounding box."""
    ring = venue.geometry.exterior
    counters = []
    if city.sensors is not None and len(city.sensors.stations):
        st = city.sensors.stations
        st = st[st["kind"] == "crowd_counter"]
        near = shapely.distance(st.geometry.values, ring) <= _GATE_COUNTER_REACH_M
        st = st[near]
        if len(st):
            pts = shapely.line_interpolate_point(ring, shapely.line_locate_point(
                ring, st.geometry.values))
            counters = st["id"].astype(str).tolist()
            names = st["name"].astype(str).tolist() if "name" in st else counters
            return pd.DataFrame({"name": names, "x": shapely.get_x(pts),
                                 "y": shapely.get_y(pts)}), counters
    xmin, ymin, xmax, ymax = venue.geometry.bounds
    mx, my = (xmin + xmax) / 2, (ymin + ymax) / 2
    pts = [shapely.Point(mx, ymax), shapely.Point(xmax, my), shapely.Point(mx, ymin),
           shapely.Point(xmin, my)]
    pts = shapely.line_interpolate_point(ring, shapely.line_locate_point(ring, pts))
    return pd.DataFrame({"name": ["north gate", "east gate", "south gate", "west gate"],
                         "x": shapely.get_x(pts), "y": shapely.get_y(pts)}), counters


def _near(grid: GridSpec, xy: np.ndarray, radius: float) -> np.ndarray:
    xx, yy = np.meshgrid(grid.x, grid.y)
    out = np.zeros(grid.shape, bool)
    for x, y in xy:
        out |= np.hypot(xx - x, yy - y) <= radius
    return out


def _exits(city, s: CrowdSettings, grid: GridSpec, walkable: np.ndarray, file) -> dict:
    exits = {}
    if "edges" in s.exits:
        edge = np.zeros(grid.shape, bool)
        sides = {"edge_north": (0, slice(None)), "edge_south": (-1, slice(None)),
                 "edge_west": (slice(1, -1), 0), "edge_east": (slice(1, -1), -1)}
        for name, index in sides.items():
            m = np.zeros(grid.shape, bool)
            m[index] = True
            m &= walkable & ~edge
            edge |= m
            if m.any():
                exits[name] = m
    if "station" in s.exits:
        b = city.buildings
        st = b[b["use"] == "station"] if "use" in b else b.iloc[:0]
        m = _rasterize(st.geometry.values, grid)
        if m.any():
            exits["station"] = m
        else:
            warnings.warn(f"{file or 'scenario'}: no station building lies in the crowd area; "
                          "the 'station' exit is left out", DataWarning, stacklevel=3)
    unknown = sorted(set(s.closed_exits) - set(exits))
    if unknown:
        raise DataError(f"key 'crowd.closed_exits' names {unknown}, which are not exits here",
                        file=file, fix=f"use some of {sorted(exits)}")
    if not exits:
        raise DataError("the crowd area has no exit", file=file,
                        fix='list exits = ["edges", "station"] in [crowd]')
    return exits


def counted_attendance(city, counters: list, start: pd.Timestamp, event_end_s: float) -> float:
    """People who left through the counted gates: the gate counters' readings (people
    per reading interval) above their quiet-time median, summed from 15 min before
    to 90 min after the event's end.

    Examples
    --------
    >>> counted_attendance(city, ["CC01", "CC02", "CC03"], start, 600.0)   # doctest: +SKIP
    28431.0
    """
    if not counters or city.sensors is None:
        return 0.0
    r = city.sensors.readings
    r = r[r["sensor_id"].astype(str).isin(counters)].dropna(subset=["value"])
    end = start + pd.Timedelta(seconds=event_end_s)
    t = pd.to_datetime(r["time"], utc=True)
    window = (t >= end - pd.Timedelta(minutes=15)) & (t <= end + pd.Timedelta(minutes=90))
    base = r.groupby("sensor_id")["value"].median()
    extra = (r["value"] - r["sensor_id"].map(base)).clip(lower=0)
    return float(extra[window.to_numpy()].sum())
