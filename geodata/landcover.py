"""Land cover: water bodies (rivers, lakes, canals, ponds) and land use with its roughness."""
from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.attributes import name_column, numeric_column, ordered_columns, text_column, warn_ids
from geodata.errors import DataError, describe_ids
from geodata.vector import read_vector

__all__ = ["MANNING", "WATER_KINDS", "read_landuse", "read_water"]

#: Manning's n (s/m^(1/3)) per land-use class, inside the typical ranges of
#: Chow (1959) *Open-Channel Hydraulics*, Table 5-6 (asphalt/concrete
#: 0.013-0.016, short grass 0.025-0.035, cultivated land 0.020-0.050, light
#: to medium woods 0.08-0.16) and the land-cover table of the HEC-RAS 2D
#: User's Manual; built-up classes use higher "urban roughness" values that
#: stand for the obstruction of buildings and walls at grid scale.
MANNING: dict[str, float] = {
    "road": 0.015, "paved": 0.015,
    "residential": 0.06,
    "commercial": 0.05, "industrial": 0.05,
    "park": 0.035, "grass": 0.035,
    "forest": 0.10,
    "farmland": 0.04,
    "water": 0.025,
    "other": 0.05,
}


#: Water-body kinds, and the OpenStreetMap ``water`` values that mean them.
WATER_KINDS: dict[str, str] = {
    "river": "river", "stream": "river",
    "lake": "lake", "reservoir": "lake", "oxbow": "lake",
    "canal": "canal", "ditch": "canal",
    "pond": "pond", "basin": "pond",
}


def read_water(path: str | os.PathLike, *, crs, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read water-body polygons (rivers, lakes, canals, ponds).

    ``kind`` comes from a ``kind`` column or an OpenStreetMap ``water``
    column, mapped with :data:`WATER_KINDS`; a missing kind becomes
    ``"lake"`` with a :class:`DataWarning`, an unknown one raises
    :class:`DataError`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, kind, name``, other columns, Polygon ``geometry`` in ``crs``.

    Examples
    --------
    >>> water = read_water("data_samples/ezhou/water.gpkg", crs=4547)  # doctest: +SKIP
    """
    gdf, layer = read_vector(path, crs=crs, layer=layer, kind="water bodies", geometry=("Polygon",),
                       id_prefix="w")
    where = {"file": Path(path), "layer": layer}
    raw = text_column(gdf, ["kind", "water"])
    kind = raw.map(WATER_KINDS)
    unknown = (raw.notna() & kind.isna()).to_numpy()
    if unknown.any():
        raise DataError(f"unknown water kind {', '.join(sorted(raw[unknown].unique()))}",
                        **where, feature=describe_ids(gdf["id"][unknown]),
                        fix="use river, lake, canal or pond")
    missing = kind.isna().to_numpy()
    if missing.any():
        warn_ids(f"{missing.sum()} water bodies have no kind; taken as lakes",
              gdf["id"][missing], where)
    name = name_column(gdf)
    gdf = gdf.drop(columns=[c for c in ("kind", "name") if c in gdf])
    gdf = gdf.assign(kind=kind.fillna("lake").astype(str).to_numpy(), name=name)
    return ordered_columns(gdf, ["id", "kind", "name"])


def read_landuse(path: str | os.PathLike, *, crs, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read land-use polygons with a Manning roughness for flood routing.

    ``class`` comes from a ``class`` or OpenStreetMap ``landuse`` column;
    ``manning`` from a ``manning`` column (0.005 to 1), else from
    :data:`MANNING` by class. Unknown or missing classes become ``"other"``
    with a :class:`DataWarning`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, class, manning``, other columns, Polygon ``geometry`` in ``crs``.

    Examples
    --------
    >>> landuse = read_landuse("landuse.gpkg", crs=4547)  # doctest: +SKIP
    """
    gdf, layer = read_vector(path, crs=crs, layer=layer, kind="land-use areas",
                       geometry=("Polygon",), id_prefix="l")
    where = {"file": Path(path), "layer": layer}
    raw = text_column(gdf, ["class", "landuse"])
    given = numeric_column(gdf, "manning", lambda v: (v >= 0.005) & (v <= 1.0),
                     "between 0.005 and 1", where)
    known = raw.isin(list(MANNING)).to_numpy()
    unknown = ~known & np.isnan(given)
    if unknown.any():
        warn_ids(f"{unknown.sum()} land-use areas have an unknown or missing class; treated as "
              f"'other' (n = {MANNING['other']})", gdf["id"][unknown], where)
    land_class = np.where(known, raw.astype(str), "other")
    manning = np.where(np.isnan(given), pd.Series(land_class).map(MANNING), given)
    gdf = gdf.drop(columns=[c for c in ("class", "manning") if c in gdf])
    gdf = gdf.assign(**{"class": land_class}, manning=manning.astype(float))
    return ordered_columns(gdf, ["id", "class", "manning"])
