"""The city information model: every layer of a city in one projected CRS."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
from pyproj import CRS

from geodata.raster import Raster

__all__ = ["City"]


@dataclass
class City:
    """A city information model: terrain, buildings, roads, water, land use,
    sensors and BIM models, all in one projected CRS in metres.

    Parameters
    ----------
    name : str
    crs : pyproj.CRS
        Projected CRS in metres shared by every layer.
    terrain : geodata.raster.Raster or None
    buildings : GeoDataFrame
        Columns ``id, height, base, use, geometry`` (Polygon).
    roads : GeoDataFrame
        Columns ``id, lanes, speed_kmh, capacity_vph, oneway, geometry`` (LineString).
    water, landuse : GeoDataFrame
        Polygons; ``landuse`` has columns ``class`` and ``manning``.
    sensors : geodata.sensors.SensorTable or None
    bim : dict
        Building id -> BIM model (``geodata.bim.BimModel``) placed in ``crs``.
    layers : dict
        Other layers (e.g. road surfaces from CityJSON), name -> GeoDataFrame.
    """

    name: str
    crs: CRS
    terrain: Raster | None = None
    buildings: gpd.GeoDataFrame = field(default_factory=lambda: _empty("Polygon"))
    roads: gpd.GeoDataFrame = field(default_factory=lambda: _empty("LineString"))
    water: gpd.GeoDataFrame = field(default_factory=lambda: _empty("Polygon"))
    landuse: gpd.GeoDataFrame = field(default_factory=lambda: _empty("Polygon"))
    sensors: Any = None
    bim: dict = field(default_factory=dict)
    layers: dict = field(default_factory=dict)
    source: str | None = None


def _empty(kind: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([]))
