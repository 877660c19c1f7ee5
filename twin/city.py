"""The city information model: every layer of a city in one projected CRS.

A :class:`City` holds the terrain, buildings, roads, water, land use, sensors
and BIM models of a district, all reprojected to one projected CRS in metres.
It answers spatial questions (buildings in a polygon, the nearest road,
sensors near a point) from STRtree indexes. Loading and saving live in
:mod:`twin.manifest` (:func:`~twin.manifest.load_city`, :func:`~twin.manifest.save_city`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata.errors import DataError
from geodata.raster import Raster

__all__ = ["City"]


@dataclass(eq=False)
class City:
    """A city information model: terrain, buildings, roads, water, land use,
    sensors and BIM models, all in one projected CRS in metres.

    Build one with :func:`twin.load_city`; the constructor is for code that
    already holds the layers.

    Parameters
    ----------
    name : str
    crs : pyproj.CRS
        Projected CRS in metres shared by every layer.
    terrain : geodata.raster.Raster or None
        Bare-earth elevation (m); row 0 is north.
    buildings : GeoDataFrame
        Columns ``id, height, base, use, geometry`` (Polygon); ``base`` is the
        ground elevation and ``height`` the height above it, in metres.
    roads : GeoDataFrame
        Columns ``id, lanes, speed_kmh, capacity_vph, oneway, geometry``
        (LineString).
    water, landuse : GeoDataFrame
        Polygons; ``landuse`` has columns ``class`` and ``manning``.
    sensors : geodata.sensors.SensorTable or None
    bim : dict
        Building id -> ``geodata.bim.BimModel`` placed in ``crs``.
    layers : dict
        Other layers (for example bridges from CityJSON), name -> GeoDataFrame.
    places : dict
        Named points of interest, name -> ``(x, y)``; used for camera presets
        and scenario forcing locations.
    timezone : str
        IANA zone of local time, for clocks shown to people.
    source : str or None
        The file the city was loaded from.

    Examples
    --------
    >>> import twin
    >>> city = twin.load_city("data_samples/ezhou/city.toml")  # doctest: +SKIP
    >>> city.buildings_near(city.places["venue"], radius=200)    # doctest: +SKIP
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
    places: dict = field(default_factory=dict)
    timezone: str = "UTC"
    source: str | None = None

    def __post_init__(self) -> None:
        self.crs = CRS.from_user_input(self.crs)
        if not self.crs.is_projected:
            raise DataError(f"the city CRS {self.crs.to_string()} is not projected",
                            file=self.source,
                            fix="choose a projected CRS in metres, e.g. EPSG:4547 "
                                "for Ezhou or the local UTM zone")
        self.places = {k: tuple(map(float, v)) for k, v in self.places.items()}

    # -- description -----------------------------------------------------
    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` over the terrain, the vector layers, the
        sensor stations and the BIM models."""
        boxes = [gdf.total_bounds for gdf in (self.buildings, self.roads, self.water,
                                              self.landuse) if len(gdf)]
        if self.sensors is not None and len(self.sensors.stations):
            boxes.append(self.sensors.stations.total_bounds)
        boxes += [np.asarray(m.mesh.bounds)[:, :2].ravel() for m in self.bim.values()]
        if self.terrain is not None:
            boxes.append(np.array(self.terrain.bounds))
        if not boxes:
            return (np.nan,) * 4
        b = np.vstack(boxes)
        return (float(b[:, 0].min()), float(b[:, 1].min()),
                float(b[:, 2].max()), float(b[:, 3].max()))

    def summary(self) -> dict:
        """Counts, extent, CRS, height statistics and sensor time span.

        Returns
        -------
        dict
            JSON-friendly; ``twin info`` prints it.

        Examples
        --------
        >>> city.summary()["buildings"]["count"]  # doctest: +SKIP
        3412
        """
        xmin, ymin, xmax, ymax = self.bounds
        out: dict[str, Any] = {
            "name": self.name,
            "crs": f"{self.crs.name} ({_crs_code(self.crs)})",
            "extent_m": {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax,
                         "width": xmax - xmin, "height": ymax - ymin},
        }
        if self.terrain is not None:
            z = self.terrain.data
            out["terrain"] = {"shape": list(self.terrain.shape),
                              "cell_size_m": self.terrain.cell_size,
                              "min_m": float(np.nanmin(z)), "max_m": float(np.nanmax(z))}
        out["buildings"] = _building_stats(self.buildings)
        out["roads"] = {"count": len(self.roads),
                        "length_km": float(self.roads.geometry.length.sum() / 1000)}
        if "class" in self.roads:
            out["roads"]["by_class"] = self.roads["class"].value_counts().to_dict()
        out["water"] = {"count": len(self.water),
                        "area_km2": float(self.water.geometry.area.sum() / 1e6)}
        out["landuse"] = {"count": len(self.landuse)}
        out["sensors"] = _sensor_stats(self.sensors)
        out["bim"] = {bid: {"faces": int(len(m.mesh.faces)), "storeys": int(len(m.storeys))}
                      for bid, m in self.bim.items()}
        out["places"] = sorted(self.places)
        return out

    def __repr__(self) -> str:
        n_sensors = 0 if self.sensors is None else len(self.sensors.stations)
        return (f"<City {self.name!r} {_crs_code(self.crs)}: {len(self.buildings)} buildings, "
                f"{len(self.roads)} roads, {len(self.water)} water, {n_sensors} sensors, "
                f"{len(self.bim)} BIM>")

    # -- spatial queries ---------------------------------------------------
    @cached_property
    def _building_tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.buildings.geometry.values)

    @cached_property
    def _road_tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.roads.geometry.values)

    @cached_property
    def _sensor_tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.sensors.stations.geometry.values)

    def building(self, building_id: str) -> pd.Series:
        """The row of one building by id; ``KeyError`` naming it when absent."""
        hit = self.buildings.index[self.buildings["id"] == building_id]
        if len(hit) == 0:
            raise KeyError(f"no building with id {building_id!r}")
        return self.buildings.loc[hit[0]]

    def buildings_within(self, polygon, *, predicate: str = "intersects") -> gpd.GeoDataFrame:
        """Buildings that intersect (or are ``"within"``) a polygon.

        Examples
        --------
        >>> from shapely import box
        >>> city.buildings_within(box(585000, 3363000, 585500, 3363500))  # doctest: +SKIP
        """
        idx = self._building_tree.query(polygon, predicate=predicate)
        return self.buildings.iloc[np.sort(idx)]

    def buildings_near(self, point, radius: float) -> gpd.GeoDataFrame:
        """Buildings within ``radius`` metres of ``point`` (``(x, y)``), nearest first,
        with a ``distance`` column."""
        return _near(self.buildings, self._building_tree, point, radius)

    def sensors_near(self, point, radius: float, *, kind: str | None = None) -> gpd.GeoDataFrame:
        """Sensor stations within ``radius`` metres of ``point``, nearest first."""
        if self.sensors is None:
            return _empty("Point")
        near = _near(self.sensors.stations, self._sensor_tree, point, radius)
        return near if kind is None else near[near["kind"] == kind]

    def nearest_road(self, point) -> pd.Series:
        """The road nearest to ``point`` (``(x, y)``), with its ``distance`` in metres."""
        if len(self.roads) == 0:
            raise DataError("the city has no roads", file=self.source,
                            fix="add a [roads] layer to the manifest")
        geom = shapely.Point(*point)
        i = int(self._road_tree.nearest(geom))
        row = self.roads.iloc[i].copy()
        row["distance"] = float(shapely.distance(self.roads.geometry.values[i], geom))
        return row


def _empty(kind: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": pd.Series([], dtype=str)},
                            geometry=gpd.GeoSeries([], dtype="geometry"))


def _crs_code(crs: CRS) -> str:
    auth = crs.to_authority()
    return ":".join(auth) if auth else crs.name


def _near(gdf: gpd.GeoDataFrame, tree: shapely.STRtree, point, radius: float) -> gpd.GeoDataFrame:
    geom = shapely.Point(*point)
    idx = np.sort(tree.query(geom, predicate="dwithin", distance=radius))
    out = gdf.iloc[idx].copy()
    out["distance"] = shapely.distance(out.geometry.values, geom)
    return out.sort_values("distance")


def _building_stats(b: gpd.GeoDataFrame) -> dict:
    if len(b) == 0:
        return {"count": 0}
    h = b["height"].to_numpy(float)
    stats = {"count": len(b), "footprint_km2": float(b.geometry.area.sum() / 1e6),
             "height_m": {"min": float(h.min()), "median": float(np.median(h)),
                          "mean": float(h.mean()), "max": float(h.max())}}
    if "use" in b:
        stats["by_use"] = b["use"].value_counts().to_dict()
    if "population" in b:
        stats["population"] = int(b["population"].fillna(0).sum())
    return stats


def _sensor_stats(sensors) -> dict:
    if sensors is None:
        return {"count": 0}
    out = {"count": len(sensors.stations),
           "by_kind": sensors.stations["kind"].value_counts().to_dict(),
           "readings": len(sensors.readings)}
    if len(sensors.readings):
        start, end = sensors.time_span
        out["time_span"] = [start.isoformat(), end.isoformat()]
    return out
