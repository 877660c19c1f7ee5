"""Resolving the `twin serve` target: runs found newest first, clear errors."""
import os

import pytest

from pathlib import Path

from geodata.errors import DataError
from viewer.workspace import RunCatalog, default_runs_dir, find_runs, open_workspace


def test_runs_are_listed_newest_first(tmp_path):
    old, new = tmp_path / "runs" / "a.zarr", tmp_path / "runs" / "b.zarr"
    other = tmp_path / "out" / "demo" / "a.zarr"
    for i, p in enumerate([old, other, new]):
        p.mkdir(parents=True)
        os.utime(p, (1000 + i, 1000 + i))
    runs = find_runs(tmp_path / "city.toml", [tmp_path / "runs", tmp_path / "out"])
    assert list(runs) == ["b.zarr", "demo/a.zarr", "runs/a.zarr"]
    assert runs["b.zarr"] == new.resolve()


def test_missing_target_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(DataError, match="does not exist") as err:
        open_workspace(tmp_path / "gone.toml")
    assert "gone.toml" in str(err.value) and "twin demo" in str(err.value)


def test_sample_city_with_its_run(sample_city_path, real_run):
    ws = open_workspace(real_run.path)
    assert ws.run is not None and ws.city.name and ws.scene.blocks["buildings"].n_cells
    assert real_run.path.name in ws.runs


def test_what_if_runs_go_beside_the_run_or_the_city_never_the_cwd(tmp_path):
    assert default_runs_dir(tmp_path / "out" / "storm.zarr") == tmp_path / "out"
    assert default_runs_dir(tmp_path / "city" / "city.toml") == tmp_path / "city" / "runs"
    assert default_runs_dir(Path("rel.zarr")).is_absolute()


def test_a_new_run_reaches_every_session(tmp_path):
    catalog = RunCatalog({"a.zarr": tmp_path / "a.zarr"})
    one, two = [], []
    catalog.subscribe(one.append)
    catalog.subscribe(two.append)
    label = catalog.add(tmp_path / "w" / "whatif.zarr")
    assert label == "whatif.zarr" and list(catalog.runs) == ["whatif.zarr", "a.zarr"]
    assert list(one[-1]) == list(two[-1]) == ["whatif.zarr", "a.zarr"]
    catalog.add(tmp_path / "w" / "whatif.zarr")                 # known: stays once, first
    assert list(catalog.runs) == ["whatif.zarr", "a.zarr"]


def test_the_runs_folder_is_searched(sample_city_path, real_run):
    ws = open_workspace(real_run.path, runs_dir=real_run.path.parent)
    assert ws.runs_dir == real_run.path.parent and ws.catalog is not None
    assert list(ws.runs)[0] == real_run.path.name
