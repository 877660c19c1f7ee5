"""Checking parsed TOML against a schema: kinds, required keys, arrays, did-you-mean."""
from __future__ import annotations

import math

import pytest

from geodata.errors import DataError
from geodata.schema import check_table

SCHEMA = {"name": "text", "size": "positive", "count": "integer", "on": "bool", "zone": "timezone",
          "crs": "crs", "mode": "fast|slow",
          "box": {"x": "number!", "y": "number!"},
          "items": [{"path": "text!"}],
          "named": {"*": {"v": "number"}}}

GOOD = {"name": "a", "size": 2.5, "count": 3, "on": False, "zone": "Asia/Shanghai",
        "crs": "EPSG:4547", "mode": "slow", "box": {"x": 1, "y": 2.0},
        "items": [{"path": "p"}, {"path": "q"}], "named": {"anything": {"v": -1}}}


def test_a_good_table_passes():
    check_table(GOOD, SCHEMA, file="f.toml")
    check_table({}, SCHEMA)


@pytest.mark.parametrize("change, pieces", [
    ({"name": ""}, ["name must be text in quotes, got the text ''"]),
    ({"size": "2.5"}, ["size must be a number, got the text '2.5'", "size = 2.5"]),
    ({"size": "big"}, ["size must be a number, got the text 'big'", "e.g. size = 5"]),
    ({"size": 0}, ["size must be above 0, got 0"]),
    ({"size": math.inf}, ["size must be a finite number"]),
    ({"size": [1]}, ["size must be a number, got an array"]),
    ({"count": 2.5}, ["count must be a whole number"]),
    ({"on": "yes"}, ["on must be true or false, got the text 'yes'"]),
    ({"zone": "Asia/Shanghia"}, ["zone 'Asia/Shanghia' is not a time zone"]),
    ({"crs": "EPSG:0"}, ["crs 'EPSG:0' is not a CRS"]),
    ({"mode": "medium"}, ["mode must be one of fast, slow, got the text 'medium'"]),
    ({"box": [1, 2]}, ["[box] must be a table, got an array"]),
    ({"box": {"x": 1}}, ["section [box] has no 'y'", "add y = ... under [box]"]),
    ({"box": {"x": 1, "y": 2, "w": 3}}, ["[box] has an unknown key 'w'", "keys of [box] are x, y"]),
    ({"items": {"path": "p"}}, ["[items] must be an array of tables, got a single table"]),
    ({"items": [{"path": "p"}, {"paths": "q"}]}, ["[items[1]] has an unknown key 'paths'",
                                                   "did you mean 'path'?"]),
    ({"named": {"a": {"v": "x"}}}, ["named.a.v must be a number"]),
    ({"nmae": "x"}, ["the file has an unknown key 'nmae'", "did you mean 'name'?"]),
    ({"zzz": 1}, ["unknown key 'zzz'. Fix: The keys of the file are box, count"]),
])
def test_each_problem_is_one_line_naming_key_and_fix(change, pieces):
    with pytest.raises(DataError) as err:
        check_table({**GOOD, **change}, SCHEMA, file="f.toml")
    msg = str(err.value)
    assert msg.startswith("f.toml: ") and "\n" not in msg and "Fix:" in msg
    for piece in pieces:
        assert piece in msg, (piece, msg)
