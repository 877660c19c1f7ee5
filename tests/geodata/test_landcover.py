"""Tests for geodata.landcover: water kinds and land-use roughness."""
from __future__ import annotations

import pytest

from geodata.errors import DataError, DataWarning
from geodata.landcover import MANNING, read_landuse, read_water
from tests.geodata.test_vector import box, write


def test_water_kinds(tmp_path):
    path = write(tmp_path, "water.gpkg", [box(0, 0), box(20, 0), box(40, 0)],
                 id=["y", "r", "n"], water=["Reservoir", "river", None],
                 name=["Yanglan Lake", None, None])
    with pytest.warns(DataWarning, match="1 water bodies have no kind; taken as lakes: n"):
        water = read_water(path, crs=4547)
    assert water.columns.tolist()[:3] == ["id", "kind", "name"]
    assert water["kind"].tolist() == ["lake", "river", "lake"]
    assert water["name"].tolist() == ["Yanglan Lake", "", ""]


def test_unknown_water_kind(tmp_path):
    path = write(tmp_path, "water.gpkg", [box(0, 0)], id=["x"], kind=["swamp"])
    with pytest.raises(DataError, match="unknown water kind swamp.*Fix: use river, lake"):
        read_water(path, crs=4547)


def test_landuse_manning(tmp_path):
    path = write(tmp_path, "lu.gpkg", [box(0, 0), box(20, 0), box(40, 0), box(60, 0)],
                 id=["p", "f", "m", "q"], landuse=["Park", "forest", "residential", "quarry"],
                 manning=[None, None, 0.08, None])
    with pytest.warns(DataWarning, match="1 land-use areas have an unknown.*: q"):
        lu = read_landuse(path, crs=4547)
    assert lu["class"].tolist() == ["park", "forest", "residential", "other"]
    assert lu["manning"].tolist() == [0.035, 0.10, 0.08, 0.05]
    # typical Chow (1959) ranges
    assert 0.013 <= MANNING["road"] <= 0.016 and 0.025 <= MANNING["grass"] <= 0.035


def test_landuse_bad_manning(tmp_path):
    path = write(tmp_path, "lu.gpkg", [box(0, 0)], id=["a"], manning=[3.0])
    with pytest.raises(DataError, match="manning must be between 0.005 and 1"):
        read_landuse(path, crs=4547)


