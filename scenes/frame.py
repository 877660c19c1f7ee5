"""The local east-north-up (ENU) frame of a city on the WGS 84 ellipsoid.

3D Tiles place content with a 4 x 4 ``transform`` into Earth-centred,
Earth-fixed coordinates (ECEF, EPSG:4978). A :class:`LocalFrame` is tied to
one point of the city (its scene origin): City CRS points go through pyproj
to ECEF and are then expressed in the ENU axes at that point, so every
vertex of a tileset is exact (no projection scale or grid convergence is
ignored) and small (metres from the origin, fine in float32).

Heights of the City CRS are taken as heights above the ellipsoid (the geoid
undulation, a few tens of metres, is not applied), so buildings and terrain
keep their relative heights.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer

__all__ = ["LocalFrame", "ECEF"]

ECEF = CRS.from_epsg(4978)
"""WGS 84 geocentric (Earth-centred, Earth-fixed) coordinates."""


@dataclass(frozen=True)
class LocalFrame:
    """East-north-up axes at a point of a projected City CRS.

    Parameters
    ----------
    crs : pyproj.CRS
        The City CRS (projected, metres).
    origin : tuple of float
        ``(x, y, z)`` of the frame's origin in the City CRS.

    Examples
    --------
    >>> f = LocalFrame.at(4547, (585000.0, 3363000.0, 20.0))
    >>> np.round(f.to_enu([[585000.0, 3363000.0, 30.0]]), 6).tolist()
    [[0.0, 0.0, 10.0]]
    >>> round(float(np.linalg.norm(f.origin_ecef)) / 1000)
    6373
    """

    crs: CRS
    origin: tuple[float, float, float]
    origin_ecef: np.ndarray
    rotation: np.ndarray
    """Columns are the east, north and up unit vectors in ECEF."""

    @classmethod
    def at(cls, crs, origin) -> "LocalFrame":
        """The frame at ``origin`` (City CRS coordinates)."""
        crs = CRS.from_user_input(crs)
        origin = tuple(float(v) for v in origin)
        ecef = _to_ecef(crs, np.array([origin], float))[0]
        lon, lat, _ = _ecef_to_geodetic().transform(*ecef)
        lon, lat = np.radians(lon), np.radians(lat)
        east = np.array([-np.sin(lon), np.cos(lon), 0.0])
        north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
        up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        return cls(crs, origin, ecef, np.column_stack([east, north, up]))

    def to_ecef(self, points) -> np.ndarray:
        """City CRS points ``(n, 3)`` -> ECEF (float64)."""
        return _to_ecef(self.crs, np.asarray(points, float).reshape(-1, 3))

    def to_enu(self, points) -> np.ndarray:
        """City CRS points ``(n, 3)`` -> east, north, up metres from the origin (float64)."""
        return (self.to_ecef(points) - self.origin_ecef) @ self.rotation

    def enu_to_ecef(self, enu) -> np.ndarray:
        """ENU points ``(n, 3)`` -> ECEF (float64)."""
        return np.asarray(enu, float).reshape(-1, 3) @ self.rotation.T + self.origin_ecef

    @property
    def transform(self) -> list[float]:
        """The 3D Tiles ``transform``: ENU -> ECEF, 16 numbers, column-major."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.origin_ecef
        return [float(v) for v in m.T.ravel()]


def _to_ecef(crs: CRS, points: np.ndarray) -> np.ndarray:
    """Projected ``(x, y, z)`` -> ECEF (pyproj: e.g. EPSG:4547 -> 4490 -> 4326 -> 4978),
    heights taken as ellipsoidal."""
    x, y, z = _ecef_transformer(crs).transform(points[:, 0], points[:, 1], points[:, 2])
    return np.column_stack([x, y, z])


@lru_cache(maxsize=8)
def _ecef_transformer(crs: CRS) -> Transformer:
    """City CRS (with heights) -> ECEF; built once per CRS (building one takes a while)."""
    return Transformer.from_crs(crs.to_3d(), ECEF, always_xy=True)


@lru_cache(maxsize=1)
def _ecef_to_geodetic() -> Transformer:
    """ECEF -> WGS 84 longitude, latitude (degrees) and ellipsoidal height."""
    return Transformer.from_crs(ECEF, CRS.from_epsg(4979), always_xy=True)
