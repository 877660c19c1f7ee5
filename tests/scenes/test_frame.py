"""The local east-north-up frame against pyproj and the WGS 84 ellipsoid."""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS, Transformer

from scenes.frame import LocalFrame


def test_enu_round_trip_and_axes():
    f = LocalFrame.at(4547, (585000.0, 3363000.0, 20.0))
    pts = np.array([[585000.0, 3363000.0, 20.0], [586000.0, 3364000.0, 60.0]])
    enu = f.to_enu(pts)
    assert np.allclose(enu[0], 0, atol=1e-6)
    assert np.allclose(f.enu_to_ecef(enu), f.to_ecef(pts), atol=1e-6)
    # 1 km east and north on the grid: ~1 km in each ENU axis, height kept to curvature
    assert np.hypot(*enu[1, :2]) == pytest.approx(np.hypot(1000, 1000), rel=1e-3)
    assert enu[1, 2] == pytest.approx(40.0 - 1414.2 ** 2 / (2 * 6.37e6), abs=0.05)


def test_origin_latitude_longitude_match_pyproj():
    f = LocalFrame.at(4547, (585000.0, 3363000.0, 0.0))
    lon, lat = Transformer.from_crs(CRS.from_epsg(4547), CRS.from_epsg(4326),
                                    always_xy=True).transform(585000.0, 3363000.0)
    up = f.rotation[:, 2]
    # geodetic up: (cos lat cos lon, cos lat sin lon, sin lat)
    assert np.degrees(np.arcsin(up[2])) == pytest.approx(lat, abs=1e-9)
    assert np.degrees(np.arctan2(up[1], up[0])) == pytest.approx(lon, abs=1e-9)
