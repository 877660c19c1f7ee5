"""Tests for geodata.errors: the one-line messages users see."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from geodata.errors import DataError, DataWarning, describe_ids


def test_message_names_file_layer_feature_problem_and_fix():
    err = DataError("height is negative (-3.0 m)", file=Path("data") / "buildings.gpkg",
                    layer="buildings", feature="b000012", fix="correct the height")
    assert str(err) == ("data/buildings.gpkg: layer 'buildings': feature b000012: "
                        "height is negative (-3.0 m). Fix: correct the height")
    assert (err.file, err.layer, err.feature, err.problem, err.fix) == (
        "data/buildings.gpkg", "buildings", "b000012", "height is negative (-3.0 m)",
        "correct the height")
    assert "\n" not in str(err)


def test_message_without_location_or_fix():
    assert str(DataError("something is off")) == "something is off"
    assert str(DataError("has no CRS", file="roads.gpkg")) == "roads.gpkg: has no CRS"
    assert str(DataError("bad", layer="roads", fix="do x")) == "layer 'roads': bad. Fix: do x"


def test_is_a_value_error():
    with pytest.raises(ValueError):
        raise DataError("bad input")


def test_data_warning_is_a_user_warning():
    with pytest.warns(UserWarning, match="dropped 2"):
        warnings.warn("dropped 2 features: a, b", DataWarning)


@pytest.mark.parametrize(("ids", "limit", "expected"), [
    ([], 10, ""),
    (["a"], 10, "a"),
    (["a", "b", "c"], 3, "a, b, c"),
    (["a", "b", "c", "d"], 2, "a, b (and 2 more)"),
    ([1, 2, 3], 10, "1, 2, 3"),
    (iter(["x", "y"]), 1, "x (and 1 more)"),
])
def test_describe_ids(ids, limit, expected):
    assert describe_ids(ids, limit=limit) == expected


def test_describe_ids_default_limit_is_ten():
    text = describe_ids([f"b{i}" for i in range(25)])
    assert text.endswith("b9 (and 15 more)")
    assert text.count(",") == 9
