"""Errors and warnings raised when outside data is wrong.

Every problem with an input names where it is (file, layer, feature id),
what is wrong, and what the user can do about it, in one line.
"""
from __future__ import annotations

import os
from typing import Iterable

__all__ = ["DataError", "DataWarning", "describe_ids"]


def describe_ids(ids: Iterable[object], limit: int = 10) -> str:
    """Return a short, readable list of feature ids.

    Examples
    --------
    >>> describe_ids(["a", "b", "c"], limit=2)
    'a, b (and 1 more)'
    """
    ids = [str(i) for i in ids]
    head = ", ".join(ids[:limit])
    if len(ids) > limit:
        head += f" (and {len(ids) - limit} more)"
    return head


def _where(file, layer, feature) -> str:
    parts = []
    if file is not None:
        parts.append(os.fspath(file))
    if layer is not None:
        parts.append(f"layer '{layer}'")
    if feature is not None:
        parts.append(f"feature {feature}")
    return ": ".join(parts)


class DataError(ValueError):
    """Bad input data: names the file, layer, feature, problem and fix.

    Parameters
    ----------
    problem : str
        What is wrong, e.g. ``"height is negative (-3.0 m)"``.
    file, layer, feature : optional
        Where the problem is.
    fix : str, optional
        What the user can do about it.

    Examples
    --------
    >>> err = DataError("has no CRS", file="roads.gpkg", layer="roads",
    ...                 fix="set one with ogr2ogr -a_srs EPSG:4547")
    >>> str(err)
    "roads.gpkg: layer 'roads': has no CRS. Fix: set one with ogr2ogr -a_srs EPSG:4547"
    """

    def __init__(self, problem: str, *, file=None, layer=None, feature=None,
                 fix: str | None = None) -> None:
        self.problem = problem
        self.file = None if file is None else os.fspath(file)
        self.layer = layer
        self.feature = feature
        self.fix = fix
        where = _where(file, layer, feature)
        msg = f"{where}: {problem}" if where else problem
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


class DataWarning(UserWarning):
    """Input data was repaired or features were dropped; the message lists them."""
