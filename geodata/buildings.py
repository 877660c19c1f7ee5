"""Building footprints with a height, a ground elevation, a use and storeys."""
from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from pyproj import CRS

from geodata.attributes import (missing_column, numeric_column, ordered_columns, text_column,
                                warn_ids)
from geodata.errors import DataError
from geodata.raster import Raster
from geodata.vector import read_vector

__all__ = ["building_columns", "read_buildings"]

_MAX_HEIGHT_M = 1000.0
_MAX_STOREYS = 300.0


def read_buildings(path: str | os.PathLike, *, crs, layer: str | None = None,
                   height: str = "height", storeys: str = "storeys",
                   dsm: Raster | None = None, dtm: Raster | None = None,
                   default_height: float = 9.0, storey_height: float = 3.0) -> gpd.GeoDataFrame:
    """Read building footprints with a height (m) and a ground elevation (m).

    Height, per building, from the first rule that gives a value:

    1. the ``height`` attribute;
    2. the ``storeys`` attribute times ``storey_height``;
    3. with both ``dsm`` and ``dtm``: the 90th percentile of DSM minus DTM over
       the cells whose centres lie in the footprint (the representative point
       for footprints smaller than a cell);
    4. ``default_height``, with a :class:`DataWarning` listing the ids.

    An empty attribute falls through to the next rule; text, zero, negative
    or absurd values (height above 1000 m, more than 300 storeys) raise
    :class:`DataError` naming the ids.

    ``base`` (ground elevation) is the median of ``dtm`` sampled at the
    footprint's vertices and representative point, else a ``base`` column,
    else 0. Fill the DTM's holes first (:meth:`Raster.fill_nodata`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``id, height, base, use, storeys, height_source`` (``"attribute"``,
        ``"storeys"``, ``"dsm"`` or ``"default"``), the file's other columns,
        and Polygon ``geometry`` in ``crs``. ``storeys`` not in the file is
        ``round(height / storey_height)``, at least 1.

    Examples
    --------
    >>> b = read_buildings("data_samples/ezhou/buildings.gpkg", crs=4547)  # doctest: +SKIP
    >>> b[["id", "height", "base", "use"]].head()  # doctest: +SKIP
    """
    gdf, layer = read_vector(path, crs=crs, layer=layer, kind="buildings", geometry=("Polygon",),
                       id_prefix="b")
    return building_columns(gdf, crs=crs, height=height, storeys=storeys, dsm=dsm, dtm=dtm,
                            default_height=default_height, storey_height=storey_height,
                            file=Path(path), layer=layer)


def building_columns(gdf: gpd.GeoDataFrame, *, crs, height: str = "height",
                     storeys: str = "storeys", dsm: Raster | None = None,
                     dtm: Raster | None = None, default_height: float = 9.0,
                     storey_height: float = 3.0, file=None,
                     layer: str | None = None) -> gpd.GeoDataFrame:
    """The height, base, use and storeys columns of :func:`read_buildings`.

    ``gdf`` is a prepared layer (:func:`prepare_layer`) in ``crs``; ``file``
    and ``layer`` only name the source in messages.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"id": ["a"], "storeys": [4]}, geometry=[shapely.box(0, 0, 9, 9)],
    ...                      crs=4547)
    >>> building_columns(g, crs=4547)["height"].tolist()
    [12.0]
    """
    where = {"file": file, "layer": layer}
    for name, column in (("height", height), ("storeys", storeys)):
        if not isinstance(column, str):
            raise DataError(f"the {name} attribute must be a column name, got {column!r}",
                            **where, fix=f'write {name} = "column_name"')
        if column != name and column not in gdf:
            missing_column(gdf, column, name, where)
    city_crs = CRS.from_user_input(crs)
    dsm, dtm = (None if r is None else _in_crs(r, city_crs) for r in (dsm, dtm))
    geoms = gdf.geometry.values

    value = numeric_column(gdf, height, lambda v: (v > 0) & (v <= _MAX_HEIGHT_M),
                     f"above 0 and at most {_MAX_HEIGHT_M:g} m", where)
    source = np.where(np.isnan(value), "", "attribute").astype(object)
    floors = numeric_column(gdf, storeys, lambda v: (v >= 1) & (v <= _MAX_STOREYS),
                      f"between 1 and {_MAX_STOREYS:g}", where)
    take = np.isnan(value) & ~np.isnan(floors)
    value[take], source[take] = floors[take] * storey_height, "storeys"
    if dsm is not None and dtm is not None and np.isnan(value).any():
        need = np.flatnonzero(np.isnan(value))
        estimate = _surface_height(geoms[need], dsm, dtm)
        ok = (estimate > 0) & (estimate <= _MAX_HEIGHT_M)
        value[need[ok]], source[need[ok]] = estimate[ok], "dsm"
    missing = np.isnan(value)
    if missing.any():
        warn_ids(f"{missing.sum()} buildings have no height, storeys or surface model "
              f"height; used the default {default_height:g} m", gdf["id"][missing], where)
        value[missing], source[missing] = default_height, "default"

    levels = np.where(np.isnan(floors), np.maximum(1.0, np.rint(value / storey_height)), floors)
    use = text_column(gdf, ["use"]).fillna("unknown").astype(str).to_numpy()
    gdf = gdf.drop(columns=[c for c in (height, storeys, "use") if c in gdf])
    gdf = gdf.assign(height=value, base=_base(gdf, geoms, dtm, where), use=use,
                     storeys=np.rint(levels).astype("int64"), height_source=source.astype(str))
    return ordered_columns(gdf, ["id", "height", "base", "use", "storeys", "height_source"])


def _in_crs(raster: Raster, crs: CRS) -> Raster:
    if raster.crs == crs:
        return raster
    return raster.reproject(crs, None if raster.crs.is_geographic else raster.cell_size)


def _surface_height(geoms: np.ndarray, dsm: Raster, dtm: Raster) -> np.ndarray:
    """90th percentile of DSM - DTM inside each footprint (NaN where unknown)."""
    labels = rasterio.features.rasterize(
        zip(geoms, range(1, len(geoms) + 1)), out_shape=dsm.shape,
        transform=dsm.transform, fill=0, dtype="int32")
    rows, cols = np.nonzero(labels)
    diff = dsm.data[rows, cols] - dtm.sample(dsm.x[cols], dsm.y[rows])
    keep = np.isfinite(diff)
    per_building = pd.Series(diff[keep]).groupby(labels[rows, cols][keep] - 1).quantile(0.9)
    out = per_building.reindex(range(len(geoms))).to_numpy(dtype=float, copy=True)
    small = np.isnan(out)
    points = shapely.point_on_surface(geoms[small])
    px, py = shapely.get_x(points), shapely.get_y(points)
    out[small] = dsm.sample(px, py) - dtm.sample(px, py)
    return out


def _base(gdf: gpd.GeoDataFrame, geoms: np.ndarray, dtm: Raster | None,
          where: dict) -> np.ndarray:
    column = numeric_column(gdf, "base", lambda v: (v >= -500) & (v <= 9000),
                      "a ground elevation between -500 and 9000 m", where)
    if dtm is None:
        return np.nan_to_num(column, nan=0.0)
    coords, index = shapely.get_coordinates(shapely.extract_unique_points(geoms),
                                            return_index=True)
    points = shapely.point_on_surface(geoms)
    x = np.concatenate([coords[:, 0], shapely.get_x(points)])
    y = np.concatenate([coords[:, 1], shapely.get_y(points)])
    index = np.concatenate([index, np.arange(len(geoms))])
    ground = pd.Series(dtm.sample(x, y)).groupby(index).median()
    base = ground.reindex(range(len(geoms))).to_numpy(dtype=float, copy=True)
    outside = np.isnan(base)
    if outside.any():
        warn_ids(f"{outside.sum()} buildings have no terrain under them (outside the DTM or "
              "in its holes); used their base column or 0 m; fill the DTM holes first",
              gdf["id"][outside], where)
        base[outside] = np.nan_to_num(column[outside], nan=0.0)
    return base
