"""The run lifecycle against real `twin run` processes: signals, re-runs, locks, kills."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from geodata.raster import Raster
from twin.lifecycle import RunSlot
from twin.replay import open_run, run_status

TWIN = [sys.executable, "-m", "twin.cli"]
REPO = Path(__file__).resolve().parents[2]


def write_city(folder: Path) -> Path:
    """A 24 x 24 bowl of 5 m cells, and a scenario of many short frames (a long run)."""
    n, cell = 24, 5.0
    x = np.arange(n) + 0.5
    z = 10.0 + 0.02 * cell * np.hypot(x[None, :] - n / 2, x[:, None] - n / 2)
    Raster(z, Affine(cell, 0, 500000.0, 0, -cell, 3360000.0), "EPSG:4547").write(
        folder / "terrain.tif")
    (folder / "city.toml").write_text('name = "bowl"\ncrs = "EPSG:4547"\n'
                                      '[terrain]\npath = "terrain.tif"\n')
    scenario = folder / "long.toml"
    scenario.write_text('name = "long"\ncity = "city.toml"\nstart = "2024-07-05T12:00:00+08:00"\n'
                        'duration = "48h"\noutput_every = "20s"\n[flood]\ncell_size = 5.0\n'
                        '[forcing.rain]\nsource = "design"\nreturn_period = 10\nduration = "1h"\n')
    return scenario


def short(scenario: Path) -> Path:
    path = scenario.with_name("short.toml")
    path.write_text(scenario.read_text().replace('duration = "48h"', 'duration = "2min"'))
    return path


def start(scenario: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([*TWIN, "run", str(scenario), "-o", str(out)], cwd=scenario.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for_frames(out: Path, proc: subprocess.Popen, frames: int = 3, timeout: float = 600):
    """Wait until the run being written holds ``frames`` frames."""
    import zarr
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()
        for tmp in out.parent.glob(f".{out.name}.*.running"):
            try:
                if zarr.open_group(tmp, mode="r").attrs.get("frames", 0) >= frames:
                    return
            except Exception:           # noqa: BLE001 - still being created
                pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the run never stored its first frames")


@pytest.fixture
def city(tmp_path):
    return write_city(tmp_path)


@pytest.mark.parametrize("signals", [[signal.SIGINT], [signal.SIGINT, signal.SIGINT],
                                     [signal.SIGTERM], [signal.SIGHUP],
                                     [signal.SIGTERM, signal.SIGINT]])
def test_signals_leave_a_readable_partial_run(city, signals):
    out = city.parent / "runs" / "long.zarr"
    proc = start(city, out)
    wait_for_frames(out, proc)
    for s in signals:
        proc.send_signal(s)
        time.sleep(0.05)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run = open_run(out)
    assert run.status == "partial" and len(run.times) >= 3
    assert f"partial run ({len(run.times)} frames) saved to {out}" in err
    assert len(run.kpis) == len(run.times)
    assert sorted(p.name for p in out.parent.iterdir()) == ["long.zarr"]   # no temp, no lock


def test_an_interrupted_rerun_keeps_the_complete_run(city):
    out = city.parent / "runs" / "long.zarr"
    done = subprocess.run([*TWIN, "run", str(short(city)), "-o", str(out)], cwd=city.parent,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    before = open_run(out)
    assert before.status == "complete" and before.name == "long"
    proc = start(city, out)
    wait_for_frames(out, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert open_run(out).status == "complete" and len(open_run(out).times) == 7
    partial = out.with_name("long.partial.zarr")
    assert run_status(partial) == "partial"
    assert f"saved to {partial}" in err and f"complete run at {out} was kept" in err


def test_a_second_writer_is_refused_and_a_stale_lock_is_taken_over(city):
    out = city.parent / "runs" / "long.zarr"
    proc = start(city, out)
    wait_for_frames(out, proc, frames=1)
    second = subprocess.run([*TWIN, "run", str(short(city)), "-o", str(out)], cwd=city.parent,
                            capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert second.returncode == 2
    assert f"being written by another process (pid {proc.pid})" in second.stderr
    assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
    proc.kill()                                        # kill -9: lock and temp folder stay
    proc.wait()
    assert (out.parent / "long.zarr.lock").exists()
    assert list(out.parent.glob(".long.zarr.*.running"))
    third = subprocess.run([*TWIN, "run", str(short(city)), "-o", str(out)], cwd=city.parent,
                           capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    assert third.returncode == 0, third.stderr
    assert "stale lock" in third.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["long.zarr"]


def test_a_read_only_output_folder_is_one_line(city):
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop the override capability")
    folder = city.parent / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    cmd = [*TWIN, "run", str(short(city)), "-o", str(folder / "r.zarr")]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", *cmd]
    done = subprocess.run(cmd, cwd=city.parent, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    folder.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "locked" in done.stderr and "Fix:" in done.stderr


def test_slot_refuses_a_file_and_a_folder_that_is_not_a_run(tmp_path):
    from geodata.errors import DataError
    (tmp_path / "file.zarr").write_text("x")
    with pytest.raises(DataError, match="is a file"):
        with RunSlot(tmp_path / "file.zarr", is_run=run_status):
            pass
    (tmp_path / "notes").mkdir()
    with pytest.raises(DataError, match="not a run"):
        with RunSlot(tmp_path / "notes", is_run=run_status):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.zarr", "notes"]
