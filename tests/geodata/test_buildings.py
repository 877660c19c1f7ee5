"""Tests for geodata.buildings: heights, bases, uses of building footprints."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Transformer

from geodata.buildings import read_buildings
from geodata.errors import DataError, DataWarning
from geodata.raster import Raster
from tests.geodata.test_vector import X0, Y0, box, no_warnings, write


def test_height_fallback_order(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0), box(40, 0)],
                 id=["h", "s", "d"], height=[12.5, None, None], storeys=[5, 4, None])
    with pytest.warns(DataWarning, match="1 buildings have no height.*default 9 m: d"):
        b = read_buildings(path, crs=4547, storey_height=3.5)
    assert b["height"].tolist() == [12.5, 14.0, 9.0]
    assert b["height_source"].tolist() == ["attribute", "storeys", "default"]
    assert b["storeys"].tolist() == [5, 4, 3]


def test_height_from_surface_models(tmp_path):
    # terrain: plane rising 1 m per 100 m to the east; roofs 12 m above it
    cell = 1.0
    transform = Affine(cell, 0, X0 - 10, 0, -cell, Y0 + 30)
    x = X0 - 10 + (np.arange(80) + 0.5) * cell
    ground = np.tile(5.0 + 0.01 * (x - X0), (40, 1)).astype("float32")
    dtm = Raster(ground, transform, 4547)
    surface = ground.copy()
    surface[10:20, 10:20] += 12.0  # footprint of building "roof": x 0..10, y 10..20
    surface[15, 12] += 30.0  # an antenna: one cell, must not set the height
    dsm = Raster(surface, transform, 4547)
    path = write(tmp_path, "b.gpkg", [box(0, 10), box(40, 0), box(200, 200)],
                 id=["roof", "flat", "outside"], height=[None, None, None])
    with pytest.warns(DataWarning) as record:
        b = read_buildings(path, crs=4547, dsm=dsm, dtm=dtm)
    messages = [str(w.message) for w in record]
    assert any("2 buildings have no height" in m and m.endswith(": flat, outside")
               for m in messages)
    assert any("1 buildings have no terrain" in m and m.endswith(": outside") for m in messages)
    assert b["height_source"].tolist() == ["dsm", "default", "default"]
    assert b["height"].tolist() == pytest.approx([12.0, 9.0, 9.0], abs=1e-4)
    # base: median of the terrain at the footprint's corners and centre
    assert b["base"].iloc[0] == pytest.approx(5.05, abs=0.011)
    assert b["base"].iloc[1] == pytest.approx(5.45, abs=0.011)


def test_height_from_surface_models_small_footprint(tmp_path):
    transform = Affine(2.0, 0, X0, 0, -2.0, Y0 + 20)
    dtm = Raster(np.full((10, 10), 3.0, "float32"), transform, 4547)
    surface = np.full((10, 10), 3.0, "float32")
    surface[5, 5] = 9.0  # cell x 10..12, y 8..10
    dsm = Raster(surface, transform, 4547)
    # a 0.5 m kiosk inside that cell, away from its centre: no cell centre inside
    path = write(tmp_path, "b.gpkg", [box(10.1, 8.1, 0.5)], id=["kiosk"])
    b = read_buildings(path, crs=4547, dsm=dsm, dtm=dtm)
    assert b["height"].tolist() == [6.0] and b["height_source"].tolist() == ["dsm"]
    assert b["base"].tolist() == [3.0]


@pytest.mark.parametrize(("value", "message"), [
    (-3.0, "height must be above 0 and at most 1000 m.*bad: -3"),
    (0.0, "height must be above 0"),
    (1500.0, "height must be above 0 and at most 1000 m.*bad: 1500"),
])
def test_bad_heights_name_the_ids(tmp_path, value, message):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=["good", "bad"],
                 height=[10.0, value])
    with pytest.raises(DataError, match=message) as info:
        read_buildings(path, crs=4547)
    assert info.value.feature == "bad"
    assert "b.gpkg" in str(info.value)


def test_text_height_is_an_error(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0), box(40, 0)], id=["a", "b", "c"],
                 height=["10", "tall", ""])
    with pytest.raises(DataError, match="height is not a number for 1 features \\(b: 'tall'\\)"):
        read_buildings(path, crs=4547)


def test_text_and_bad_storeys(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0)], id=["a"], storeys=["three"])
    with pytest.raises(DataError, match="storeys is not a number"):
        read_buildings(path, crs=4547)
    path = write(tmp_path, "c.gpkg", [box(0, 0)], id=["a"], storeys=[-2])
    with pytest.raises(DataError, match="storeys must be between 1 and 300"):
        read_buildings(path, crs=4547)


def test_custom_height_column_and_use(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=["a", "b"],
                 h_roof=[21.0, 6.0], use=[" Residential", None], population=[40, 3])
    with no_warnings():
        b = read_buildings(path, crs=4547, height="h_roof")
    assert b.columns.tolist()[:6] == ["id", "height", "base", "use", "storeys", "height_source"]
    assert b["height"].tolist() == [21.0, 6.0]
    assert b["use"].tolist() == ["residential", "unknown"]
    assert b["population"].tolist() == [40, 3]
    assert b["base"].tolist() == [0.0, 0.0]
    assert "h_roof" not in b


def test_base_column_without_dtm(tmp_path):
    path = write(tmp_path, "b.gpkg", [box(0, 0), box(20, 0)], id=["a", "b"],
                 height=[9.0, 9.0], base=[21.5, None])
    b = read_buildings(path, crs=4547)
    assert b["base"].tolist() == [21.5, 0.0]


def test_base_outside_dtm_warns(tmp_path):
    dtm = Raster(np.full((10, 10), 4.0, "float32"), Affine(1, 0, X0, 0, -1, Y0 + 10), 4547)
    path = write(tmp_path, "b.gpkg", [box(0, 0, 5), box(500, 500)], id=["in", "far"],
                 height=[9.0, 9.0])
    with pytest.warns(DataWarning, match="1 buildings have no terrain under them.*: far"):
        b = read_buildings(path, crs=4547, dtm=dtm)
    assert b["base"].tolist() == [4.0, 0.0]


def test_buildings_from_wgs84_with_dtm_in_city_crs(tmp_path):
    """Footprints in lon/lat are reprojected before sampling the terrain."""
    to_geo = Transformer.from_crs(4547, 4326, always_xy=True)
    square = shapely.transform(box(102, 102), lambda xy: np.c_[to_geo.transform(*xy.T)])
    path = write(tmp_path, "b.geojson", [square], crs=4326, id=["a"], height=[10.0])
    transform = Affine(5, 0, X0, 0, -5, Y0 + 200)
    rows = np.arange(40)[:, None]
    dtm = Raster(np.broadcast_to(rows * 1.0, (40, 40)), transform, 4547)  # z = row index
    b = read_buildings(path, crs=4547, dtm=dtm)
    assert b.area.iloc[0] == pytest.approx(100.0, rel=1e-3)
    assert b["base"].iloc[0] == 18.0  # median of rows 17 (north), 18 (centre), 19 (south)


