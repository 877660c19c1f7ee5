"""Coordinate reference systems: reading CRS codes, and coordinates that do not fit their CRS.

Two mistakes are common with outside data: a CRS code that cannot be read
(``"EPSG:45470"``, ``"WGS84 UTM"``), and coordinates in another CRS than the
file says, e.g. a GeoJSON without a ``crs`` member (read as WGS 84 longitude/
latitude) that holds projected metres, or lon/lat numbers under a projected
CRS. :func:`parse_crs` and :func:`check_coordinates` turn both into one-line
:class:`~geodata.errors.DataError` messages.
"""
from __future__ import annotations

import math

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geodata.errors import DataError

__all__ = ["check_coordinates", "looks_like_lonlat", "parse_crs"]


def parse_crs(value, *, file=None, key: str = "crs") -> CRS:
    """A :class:`pyproj.CRS` from a code, or a DataError naming ``key`` and the fix.

    Examples
    --------
    >>> parse_crs("EPSG:4547").to_epsg()
    4547
    >>> parse_crs(4547).to_epsg()
    4547
    """
    if isinstance(value, CRS):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise DataError(f"{key} must be a CRS code such as \"EPSG:4547\", got {value!r}",
                        file=file, fix=f'write {key} = "EPSG:<code>"')
    try:
        return CRS.from_user_input(value)
    except CRSError:
        raise DataError(f"{key} {value!r} is not a CRS pyproj knows", file=file,
                        fix='use an EPSG code such as "EPSG:4547" (see epsg.io)') from None


def check_coordinates(bounds, crs, *, file=None, layer: str | None = None) -> None:
    """Refuse coordinates that cannot be in ``crs`` (wrong or missing CRS in the file).

    Geographic CRS: longitudes beyond +-180 or latitudes beyond +-90 (usually
    metres under a missing CRS). Projected CRS with a known area of use:
    coordinates farther from that area than its own width or height (usually
    longitude/latitude under a projected CRS, or the wrong zone).

    Parameters
    ----------
    bounds : (xmin, ymin, xmax, ymax)
        Extent of the data, in ``crs``.
    crs : pyproj.CRS
        The CRS the file claims.

    Examples
    --------
    >>> check_coordinates((114.8, 30.3, 114.9, 30.4), CRS.from_epsg(4326))
    >>> check_coordinates((585000, 3362000, 589000, 3365000), CRS.from_epsg(4326))
    Traceback (most recent call last):
    ...
    geodata.errors.DataError: coordinates (585000, 3362000, 589000, 3365000) are not longitude/latitude although the CRS is EPSG:4326 (a GeoJSON without a crs member is read as WGS 84); they look like projected metres. Fix: set the file's real CRS, e.g. ogr2ogr -a_srs EPSG:4547 out.gpkg in.geojson
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
        return
    shown = f"({_g(xmin)}, {_g(ymin)}, {_g(xmax)}, {_g(ymax)})"
    name = _name(crs)
    if crs.is_geographic:
        if min(xmin, xmax) < -180.5 or max(xmin, xmax) > 360.5 or ymin < -90.5 or ymax > 90.5:
            raise DataError(f"coordinates {shown} are not longitude/latitude although the CRS "
                            f"is {name} (a GeoJSON without a crs member is read as WGS 84); "
                            "they look like projected metres", file=file, layer=layer,
                            fix="set the file's real CRS, e.g. ogr2ogr -a_srs EPSG:4547 "
                                "out.gpkg in.geojson")
        return
    area = _area(crs)
    if area is None:
        return
    axmin, aymin, axmax, aymax = area
    mx, my = axmax - axmin, aymax - aymin
    if xmax < axmin - mx or xmin > axmax + mx or ymax < aymin - my or ymin > aymax + my:
        hint = ("they look like longitude/latitude" if looks_like_lonlat(bounds)
                else "the file's CRS is probably wrong")
        raise DataError(f"coordinates {shown} lie far outside the area where {name} is used "
                        f"(about {_g(axmin)}, {_g(aymin)}, {_g(axmax)}, {_g(aymax)}); {hint}",
                        file=file, layer=layer,
                        fix="set the file's real CRS (ogr2ogr -a_srs EPSG:<code>), or "
                            "reproject it (ogr2ogr -t_srs)")


def looks_like_lonlat(bounds) -> bool:
    """Whether an extent fits in longitude/latitude ranges.

    Examples
    --------
    >>> looks_like_lonlat((114.8, 30.3, 114.9, 30.4)), looks_like_lonlat((585000, 0, 586000, 9))
    (True, False)
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    return -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90


def _area(crs: CRS):
    """The CRS's area of use in its own coordinates, or None when unknown."""
    use = crs.area_of_use
    if use is None:                        # a CRS rebuilt from WKT1 lost it: look the code up
        code = crs.to_epsg(min_confidence=70)
        use = None if code is None else CRS.from_epsg(code).area_of_use
    if use is None:
        return None
    try:
        to_crs = Transformer.from_crs(4326, crs, always_xy=True)
        box = to_crs.transform_bounds(use.west, use.south, use.east, use.north, densify_pts=21)
    except Exception:   # noqa: BLE001 - pyproj raises several kinds for odd areas
        return None
    return box if all(math.isfinite(v) for v in box) else None


def _name(crs: CRS) -> str:
    auth = crs.to_authority()
    return ":".join(auth) if auth else crs.name


def _g(v: float) -> str:
    return f"{v:.6g}" if abs(v) < 1000 else f"{v:.0f}"
