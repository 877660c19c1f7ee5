"""Checking parsed TOML (or JSON) tables against a small schema, with one-line errors.

A schema is plain data: a ``dict`` is a table (key -> schema; the key ``"*"``
stands for any name), a one-element ``list`` an array of tables, and a string
a value kind, ending in ``"!"`` when the key is required:

=============  ============================================================
kind           accepts
=============  ============================================================
``text``       a non-empty string
``number``     an integer or float, finite (not a boolean, not text)
``positive``   a number above 0
``integer``    a whole number
``bool``       ``true`` or ``false``
``crs``        a CRS code pyproj reads (``"EPSG:4547"`` or ``4547``)
``timezone``   an IANA zone name (``"Asia/Shanghai"``)
``a|b|c``      one of these words
=============  ============================================================

Every problem raises :class:`~geodata.errors.DataError` naming the file, the
table and key, what is wrong and the fix; unknown keys get a "did you mean"
suggestion (difflib).

Examples
--------
>>> schema = {"terrain": {"path": "text!", "cell_size": "positive"}}
>>> check_table({"terrain": {"path": "dem.tif", "cell_size": 5}}, schema)
>>> check_table({"terrain": {"path": "dem.tif", "cellsize": 5}}, schema, file="city.toml")
Traceback (most recent call last):
...
geodata.errors.DataError: city.toml: [terrain] has an unknown key 'cellsize'. Fix: did you mean 'cell_size'? The keys of [terrain] are cell_size, path
"""
from __future__ import annotations

import difflib
import math
import zoneinfo

from geodata.crs import parse_crs
from geodata.errors import DataError

__all__ = ["check_table"]


def check_table(value, schema, *, file=None, where: str = "") -> None:
    """Check ``value`` against ``schema``; raise :class:`DataError` at the first problem.

    Parameters
    ----------
    value : dict
        Parsed TOML.
    schema : dict, list or str
        See the module description.
    file : path-like, optional
        Named in messages.
    where : str
        Dotted name of ``value`` inside the file (``""`` for the whole file).
    """
    if isinstance(schema, list):
        _check_array(value, schema[0], file, where)
    elif isinstance(schema, dict):
        _check_dict(value, schema, file, where)
    else:
        _check_leaf(value, schema.rstrip("!"), file, where)


def _check_dict(value, schema: dict, file, where: str) -> None:
    label = f"[{where}]" if where else "the file"
    if not isinstance(value, dict):
        raise DataError(f"{label} must be a table, got {_describe(value)}", file=file,
                        fix=f"write it as a [{where}] section with key = value lines, or "
                            "an inline table { key = value }")
    for key, item in value.items():
        sub = schema.get(key, schema.get("*"))
        if sub is None:
            known = sorted(k for k in schema if k != "*")
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise DataError(f"{label} has an unknown key '{key}'", file=file,
                            fix=f"{hint}The keys of {label} are {', '.join(known)}")
        check_table(item, sub, file=file, where=f"{where}.{key}" if where else key)
    for key, kind in schema.items():
        if key != "*" and isinstance(kind, str) and kind.endswith("!") and key not in value:
            example = '"..."' if kind.startswith("text") else "..."
            raise DataError(f"section {label} has no '{key}'", file=file,
                            fix=f"add {key} = {example} under {label}")


def _check_array(value, schema, file, where: str) -> None:
    if isinstance(value, dict):
        raise DataError(f"[{where}] must be an array of tables, got a single table", file=file,
                        fix=f"write each entry under its own [[{where}]] header")
    if not isinstance(value, list):
        raise DataError(f"{where} must be an array of tables, got {_describe(value)}",
                        file=file, fix=f"write each entry under its own [[{where}]] header")
    for i, item in enumerate(value):
        check_table(item, schema, file=file, where=f"{where}[{i}]")


def _check_leaf(value, kind: str, file, where: str) -> None:
    key = where.rsplit(".", 1)[-1]
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where} must be text in quotes, got {_describe(value)}", file=file,
                            fix=f'write {key} = "..."')
    elif kind in ("number", "positive", "integer"):
        _check_number(value, kind, key, file, where)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise DataError(f"{where} must be true or false, got {_describe(value)}", file=file,
                            fix=f"write {key} = true or {key} = false (no quotes)")
    elif kind == "crs":
        parse_crs(value, file=file, key=where)
    elif kind == "timezone":
        _check_zone(value, key, file, where)
    elif "|" in kind:
        words = kind.split("|")
        if value not in words:
            raise DataError(f"{where} must be one of {', '.join(words)}, got {_describe(value)}",
                            file=file, fix=f'write {key} = "{words[0]}"')
    else:   # pragma: no cover - a schema written wrongly is a programming error
        raise ValueError(f"unknown schema kind {kind!r}")


def _check_number(value, kind: str, key: str, file, where: str) -> None:
    if isinstance(value, str):
        try:
            float(value)
            fix = f"write it without quotes: {key} = {value.strip()}"
        except ValueError:
            fix = f"write {key} as a number, e.g. {key} = 5"
        raise DataError(f"{where} must be a number, got the text {value!r}", file=file, fix=fix)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{where} must be a number, got {_describe(value)}", file=file,
                        fix=f"write {key} as a number, e.g. {key} = 5")
    if not math.isfinite(value):
        raise DataError(f"{where} must be a finite number, got {value}", file=file,
                        fix=f"write {key} as a plain number")
    if kind == "positive" and not value > 0:
        raise DataError(f"{where} must be above 0, got {value:g}", file=file,
                        fix=f"give {key} a positive value")
    if kind == "integer" and value != int(value):
        raise DataError(f"{where} must be a whole number, got {value:g}", file=file,
                        fix=f"write {key} as a whole number")


def _check_zone(value, key: str, file, where: str) -> None:
    try:
        if not isinstance(value, str):
            raise TypeError
        zoneinfo.ZoneInfo(value)
    except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise DataError(f"{where} {value!r} is not a time zone", file=file,
                        fix=f'use an IANA zone name, e.g. {key} = "Asia/Shanghai"') from None


def _describe(value) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "an array [...]"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
