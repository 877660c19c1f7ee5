"""Feature attributes: numbers, text and names read leniently from any vector layer.

The readers in :mod:`geodata.vector`, :mod:`geodata.buildings`,
:mod:`geodata.roads`, :mod:`geodata.landcover` and :mod:`geodata.osm` turn
file columns into the twin's columns with these; problems name the feature
ids, as :class:`~geodata.errors.DataError` or :class:`~geodata.errors.DataWarning`.
"""
from __future__ import annotations

import difflib
import os
import warnings
from typing import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.errors import DataError, DataWarning, describe_ids

__all__ = ["missing_column", "name_column", "numeric_column", "ordered_columns", "text_column",
           "warn_ids"]


def warn_ids(problem: str, ids, where: dict) -> None:
    """Emit a DataWarning: 'file: layer 'x': problem: id1, id2 (and n more)'."""
    place = []
    if where.get("file") is not None:
        place.append(os.fspath(where["file"]))
    if where.get("layer") is not None:
        place.append(f"layer '{where['layer']}'")
    message = ": ".join([*place, problem, describe_ids(list(ids))])
    warnings.warn(message, DataWarning, stacklevel=4)


def numeric_column(gdf: gpd.GeoDataFrame, column: str, valid: Callable[[np.ndarray], np.ndarray],
             rule: str, where: dict) -> np.ndarray:
    """Column as float (NaN where missing); DataError for text or values breaking ``rule``."""
    if column not in gdf:
        return np.full(len(gdf), np.nan)
    raw = gdf[column]
    blank = raw.isna() | raw.astype(str).str.strip().isin(["", "nan", "NaN", "None"])
    values = pd.to_numeric(raw.where(~blank), errors="coerce").to_numpy(dtype=float, copy=True)
    text = np.isnan(values) & ~blank.to_numpy()
    if text.any():
        examples = ", ".join(f"{i}: '{v}'" for i, v in zip(gdf["id"][text][:5], raw[text][:5]))
        raise DataError(f"{column} is not a number for {text.sum()} features ({examples})",
                        **where, feature=describe_ids(gdf["id"][text]),
                        fix=f"write {column} as a number or leave it empty")
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~valid(values)
    if bad.any():
        examples = ", ".join(f"{i}: {v:g}" for i, v in zip(gdf["id"][bad][:5], values[bad][:5]))
        raise DataError(f"{column} must be {rule}; {bad.sum()} features are not ({examples})",
                        **where, feature=describe_ids(gdf["id"][bad]),
                        fix=f"correct {column} or leave it empty")
    return values


def missing_column(gdf: gpd.GeoDataFrame, column: str, role: str, where: dict) -> None:
    """DataError for a named attribute column the layer does not have."""
    names = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    close = difflib.get_close_matches(column, names, n=1)
    hint = f"did you mean '{close[0]}'? Otherwise " if close else ""
    raise DataError(f"has no column '{column}' (named as the {role} attribute); it has "
                    f"{', '.join(names)}", **where,
                    fix=f"{hint}name an existing column, or leave {role} out")


def text_column(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> pd.Series:
    """First present column as stripped lower-case text; NaN where missing."""
    for column in columns:
        if column in gdf:
            text = gdf[column].astype("string").str.strip().str.lower()
            text = text.astype(object).where(text.notna() & text.ne(""), np.nan)
            return text.reset_index(drop=True)
    return pd.Series(np.nan, index=range(len(gdf)), dtype=object)


def name_column(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """The ``name`` column as text (empty where missing), or empty names."""
    if "name" not in gdf:
        return np.full(len(gdf), "", dtype=object)
    return gdf["name"].astype(object).where(gdf["name"].notna(), "").astype(str).to_numpy()


def ordered_columns(gdf: gpd.GeoDataFrame, first: Sequence[str]) -> gpd.GeoDataFrame:
    """``first`` columns, then the others, geometry last."""
    geometry = gdf.geometry.name
    rest = [c for c in gdf.columns if c not in first and c != geometry]
    return gdf[[*first, *rest, geometry]]
