"""Road centre lines with the attributes traffic models need (class, lanes, speed, capacity)."""
from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.attributes import name_column, numeric_column, ordered_columns, text_column, warn_ids
from geodata.errors import DataError, describe_ids
from geodata.vector import read_vector

__all__ = ["OSM_HIGHWAY", "ROAD_DEFAULTS", "read_roads"]

#: Defaults per road class: lanes per direction (a two-way road gets twice
#: as many), free-flow speed (km/h) and capacity per lane (veh/h). Speeds are the design speeds of Chinese urban
#: roads (CJJ 37-2012: arterial 60, collector 50, local 30 km/h); per-lane
#: capacities are HCM-style planning values: a signalised arterial lane
#: carries about 1800 veh/h (HCM base saturation flow 1900 pc/h/ln less
#: heavy-vehicle and lane-width losses), a collector about 1500, a local
#: street about 900 (parking, crossings, frequent junctions).
ROAD_DEFAULTS: dict[str, dict[str, float]] = {
    "arterial": {"lanes": 3, "speed_kmh": 60.0, "capacity_per_lane_vph": 1800.0},
    "collector": {"lanes": 2, "speed_kmh": 50.0, "capacity_per_lane_vph": 1500.0},
    "local": {"lanes": 1, "speed_kmh": 30.0, "capacity_per_lane_vph": 900.0},
    "other": {"lanes": 1, "speed_kmh": 30.0, "capacity_per_lane_vph": 900.0},
}


#: OpenStreetMap ``highway`` values and the road class they belong to.
OSM_HIGHWAY: dict[str, str] = {
    **dict.fromkeys(["motorway", "trunk", "primary", "motorway_link", "trunk_link",
                     "primary_link"], "arterial"),
    **dict.fromkeys(["secondary", "tertiary", "secondary_link", "tertiary_link"], "collector"),
    **dict.fromkeys(["residential", "living_street", "service", "unclassified"], "local"),
}


def read_roads(path: str | os.PathLike, *, crs, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a road centre-line layer with the attributes traffic models need.

    ``class`` comes from a ``class`` column (arterial, collector, local,
    other) or an OpenStreetMap ``highway`` column (see :data:`OSM_HIGHWAY`).
    ``lanes`` counts all the road's lanes (both directions of a two-way
    road) and ``capacity_vph`` is its total capacity over all of them, as
    the traffic adapter reads them. Missing values come from
    :data:`ROAD_DEFAULTS` of the class (lanes per direction, doubled for a
    two-way road; capacity = lanes x capacity per lane), with a
    :class:`DataWarning` naming the roads. ``oneway`` accepts
    yes/no/true/false/1/0 and ``-1`` (one way against the drawing direction:
    the line is reversed).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, name, class, lanes, speed_kmh, capacity_vph, oneway``, other
        columns, LineString ``geometry`` in ``crs``.

    Examples
    --------
    >>> roads = read_roads("data_samples/ezhou/roads.gpkg", crs=4547)  # doctest: +SKIP
    """
    gdf, layer = read_vector(path, crs=crs, layer=layer, kind="roads",
                             geometry=("LineString",), id_prefix="r")
    where = {"file": Path(path), "layer": layer}
    raw = text_column(gdf, ["class", "highway"])
    road_class = raw.where(raw.isin(list(ROAD_DEFAULTS)), raw.map(OSM_HIGHWAY))
    unknown = (raw.notna() & road_class.isna()).to_numpy()
    if unknown.any():
        names = ", ".join(sorted(raw[unknown].unique()))
        warn_ids(f"{unknown.sum()} roads have an unknown class ({names}); treated as 'other'",
                 gdf["id"][unknown], where)
    road_class = road_class.fillna("other").astype(str).to_numpy()
    table = pd.DataFrame(ROAD_DEFAULTS).T.astype(float).loc[road_class]

    lanes = numeric_column(gdf, "lanes", lambda v: (v >= 1) & (v <= 24), "between 1 and 24",
                           where)
    speed = numeric_column(gdf, "speed_kmh", lambda v: (v > 0) & (v <= 200),
                           "above 0 and at most 200 km/h", where)
    capacity = numeric_column(gdf, "capacity_vph", lambda v: (v > 0) & (v <= 40000),
                              "above 0 and at most 40000 veh/h", where)
    defaulted = np.isnan(lanes) | np.isnan(speed) | np.isnan(capacity)
    if defaulted.any():
        warn_ids(f"{defaulted.sum()} roads lack lanes, speed_kmh or capacity_vph; used the "
                 "defaults of their class (CJJ 37-2012 speeds, HCM-style lane capacities)",
                 gdf["id"][defaulted], where)
    oneway, reverse = _oneway(gdf, where)
    directions = np.where(oneway, 1.0, 2.0)
    lanes = np.where(np.isnan(lanes), table["lanes"].to_numpy() * directions, lanes)
    speed = np.where(np.isnan(speed), table["speed_kmh"].to_numpy(), speed)
    capacity = np.where(np.isnan(capacity), lanes * table["capacity_per_lane_vph"].to_numpy(),
                        capacity)

    geoms = gdf.geometry.values.copy()
    geoms[reverse] = shapely.reverse(geoms[reverse])
    name = name_column(gdf)
    gdf = gdf.drop(columns=[c for c in ("name", "class", "lanes", "speed_kmh",
                                        "capacity_vph", "oneway") if c in gdf])
    gdf = gdf.assign(name=name, **{"class": road_class}, lanes=np.rint(lanes).astype("int64"),
                     speed_kmh=speed.astype(float), capacity_vph=capacity.astype(float),
                     oneway=oneway).set_geometry(geoms)
    return ordered_columns(gdf, ["id", "name", "class", "lanes", "speed_kmh", "capacity_vph",
                                 "oneway"])


def _oneway(gdf: gpd.GeoDataFrame, where: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(oneway, reverse)`` boolean arrays from a ``oneway`` column."""
    text = text_column(gdf, ["oneway"])
    meaning = {"yes": True, "true": True, "1": True, "1.0": True, "-1": True, "-1.0": True,
               "reverse": True, "no": False, "false": False, "0": False, "0.0": False}
    oneway = text.map(meaning)
    bad = (text.notna() & oneway.isna()).to_numpy()
    if bad.any():
        raise DataError(f"oneway must be yes/no/true/false/1/0/-1, got "
                        f"{', '.join(sorted(text[bad].unique()))}", **where,
                        feature=describe_ids(gdf["id"][bad]), fix="correct the oneway values")
    reverse = text.isin(["-1", "-1.0", "reverse"]).to_numpy()
    return oneway.fillna(False).astype(bool).to_numpy(), reverse
