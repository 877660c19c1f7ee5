"""The writer registry: formats, suffix checks, all-or-nothing writes."""
from __future__ import annotations

import json

import pytest

from geodata.errors import DataError
from scenes.vtk import read_vtm
from scenes.writers import WRITERS, default_path, formats, register, write_scene


def test_formats_are_registered_with_their_suffixes():
    assert formats() == {"glb": (".glb",), "vtm": (".vtm",),
                         "cityjson": (".city.json", ".json"), "3dtiles": ()}
    assert default_path("vtm", "out", "x").name == "x.vtm"


@pytest.mark.parametrize("fmt, name", [("glb", "city.vtm"), ("vtm", "city.glb"),
                                       ("cityjson", "city.glb"), ("3dtiles", "city.glb")])
def test_a_wrong_suffix_is_a_data_error_with_a_fix(city, tmp_path, fmt, name):
    with pytest.raises(DataError, match="Fix:") as err:
        write_scene(city, tmp_path / name, fmt)
    assert name in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_names_the_choices(city, tmp_path):
    with pytest.raises(DataError, match="glb"):
        write_scene(city, tmp_path / "x.obj", "obj")


def test_each_format_writes_and_replaces_an_existing_output(city, tmp_path):
    for fmt in formats():
        path = default_path(fmt, tmp_path, "tiny")
        for _ in range(2):                                   # the second write replaces
            assert write_scene(city, path, fmt) == path
        assert path.exists()
    assert json.loads((tmp_path / "tiny.city.json").read_text())["type"] == "CityJSON"
    assert set(read_vtm(tmp_path / "tiny.vtm").blocks) >= {"terrain", "buildings"}
    assert (tmp_path / "tiny-3dtiles" / "tileset.json").exists()
    assert not [p for p in tmp_path.rglob("*") if "partial" in p.name]


def test_a_failing_writer_leaves_the_old_output_and_no_partial_files(city, tmp_path):
    out = tmp_path / "tiles"
    write_scene(city, out, "3dtiles", max_features=1)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def broken(city, path, **opts):
        (path / "tiles").mkdir(parents=True)
        (path / "tiles" / "half.glb").write_bytes(b"glTF")
        (path.parent / f"{path.name}.partial").write_text("x")
        raise RuntimeError("disk full")

    register("broken", (), broken)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            write_scene(city, out, "broken")
    finally:
        del WRITERS["broken"]
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["tiles"]


def test_options_reach_the_writer(city, tmp_path):
    path = write_scene(city, tmp_path / "c.city.json", "cityjson", terrain=False)
    kinds = {o["type"] for o in json.loads(path.read_text())["CityObjects"].values()}
    assert "TINRelief" not in kinds and "Building" in kinds


def test_a_folder_that_is_not_a_tileset_is_not_replaced(city, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="tileset.json"):
        write_scene(city, out, "3dtiles")
    assert (out / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (write_scene(city, empty, "3dtiles") / "tileset.json").exists()
