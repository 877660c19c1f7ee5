"""Ensembles on a real dask scheduler with two worker processes on loopback: the stored
probabilities equal those computed from the members run one by one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="dask.distributed is not installed")

from geodata.errors import DataError                                   # noqa: E402
from twin.ensemble import THRESHOLDS, open_ensemble, reduce_member, run_ensemble  # noqa: E402
from twin.manifest import load_city                                    # noqa: E402
from twin.runner import run_scenario                                   # noqa: E402
from twin.scenario import load_scenario                                # noqa: E402
from twin.variation import member_scenario, parse_variations, sample   # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def write_bowl(folder: Path) -> Path:
    from affine import Affine
    from geodata.raster import Raster
    n, cell = 20, 5.0
    x = np.arange(n) + 0.5
    z = 10.0 + 0.03 * cell * np.hypot(x[None, :] - n / 2, x[:, None] - n / 2)
    Raster(z, Affine(cell, 0, 500000.0, 0, -cell, 3360000.0), "EPSG:4547").write(
        folder / "terrain.tif")
    (folder / "city.toml").write_text('name = "bowl"\ncrs = "EPSG:4547"\n'
                                      '[terrain]\npath = "terrain.tif"\n')
    s = folder / "bowl.toml"
    s.write_text('name = "bowl"\ncity = "city.toml"\nstart = "2024-07-05T12:00:00+08:00"\n'
                 'duration = "20min"\noutput_every = "10min"\n[flood]\ncell_size = 5.0\n'
                 'drainage_mm_h = 5.0\n[forcing.rain]\nsource = "design"\nreturn_period = 10\n'
                 'duration = "20min"\n')
    return s


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        t0 = time.time()
        while not info.exists() and time.time() - t0 < 120:
            time.sleep(0.2)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1"], cwd=folder,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        from dask.distributed import Client
        with Client(address) as client:
            client.wait_for_workers(2, timeout=300)
        yield address
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_probabilities_equal_the_members_run_one_by_one(tmp_path, cluster):
    scenario = write_bowl(tmp_path)
    vary = ["rain_scale=0.2,0.7,1.2,1.7,2.2"]
    ens = run_ensemble(scenario, members=5, vary=vary, out=tmp_path / "ens.zarr",
                       scheduler=cluster)
    ens = open_ensemble(tmp_path / "ens.zarr")
    assert ens.attrs["members_ok"] == 5 and (ens.members["status"] == "ok").all()
    assert ens.attrs["provenance"]["workers"] == 2
    base = load_scenario(scenario)
    city = load_city(base.city)
    table = sample(parse_variations(vary), 5)
    depth = np.zeros((len(THRESHOLDS), 20, 20))
    areas = []
    for i in range(5):
        run = run_scenario(member_scenario(base, table.iloc[i].to_dict()),
                           out=tmp_path / f"m{i}.zarr", city=city)
        r = reduce_member(run)
        depth += r["depth"]
        areas.append(r["kpis"]["flooded_area_m2_max"])
    np.testing.assert_array_equal(ens.probability["depth_exceedance"].values, depth / 5)
    np.testing.assert_allclose(ens.members["flooded_area_m2_max"], areas)
    p = ens.probability["depth_exceedance"].sel(threshold=0.1).values
    assert 0 < p.max() <= 1 and p.min() == 0                  # the varied rain matters
    spread = ens.kpi_spread().loc["max_depth_m_max"]
    assert spread["min"] < spread["max"]


def test_a_failing_member_is_reported_not_dropped(tmp_path, cluster):
    scenario = write_bowl(tmp_path)
    # a breach time past the end is refused by the flood adapter for that member only
    text = scenario.read_text() + ('[forcing.breach]\nat = { x = 500050.0, y = 3359950.0 }\n'
                                   'width_m = 5.0\nlevel_m = 9.0\ntime = "5min"\n')
    scenario.write_text(text)
    ens = run_ensemble(scenario, members=2, vary=["breach_time=300,7200"],
                       out=tmp_path / "ens.zarr", scheduler=cluster)
    m = ens.members
    assert m["status"].tolist() == ["ok", "failed"]
    assert "breach.time" in m["error"].iloc[1] and ens.attrs["members_ok"] == 1


def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path):
    scenario = write_bowl(tmp_path)
    t0 = time.time()
    with pytest.raises(DataError, match="cannot reach the dask scheduler"):
        run_ensemble(scenario, members=2, vary=["rain_scale=0.5:1.5"],
                     out=tmp_path / "e.zarr", scheduler="tcp://127.0.0.1:9")
    assert time.time() - t0 < 60
    assert not (tmp_path / "e.zarr").exists()
