"""The `twin` command as a user runs it: a real subprocess, exit codes, one-line errors."""
from __future__ import annotations

import subprocess
import sys

import pytest


def twin(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0]


def test_info_prints_the_summary(sample_city_path):
    proc = twin("info", sample_city_path)
    assert proc.returncode == 0, proc.stderr
    assert "EPSG:4547" in proc.stdout and "Buildings:" in proc.stdout and "Sensors:" in proc.stdout


def test_info_missing_file(tmp_path):
    assert_one_line_error(twin("info", tmp_path / "nowhere.toml"), "nowhere.toml", "Fix:")


def test_info_corrupt_raster(tmp_path):
    (tmp_path / "dem.tif").write_bytes(b"II*\x00 this is not a tiff")
    (tmp_path / "city.toml").write_text('crs = "EPSG:4547"\n[terrain]\npath = "dem.tif"\n')
    assert_one_line_error(twin("info", tmp_path / "city.toml"), "dem.tif")


def test_info_geographic_crs(tmp_path):
    (tmp_path / "city.toml").write_text('crs = "EPSG:4326"\n')
    assert_one_line_error(twin("info", tmp_path / "city.toml"), "geographic")


def test_export_writes_only_complete_files(sample_city_path, tmp_path):
    out = tmp_path / "city.glb"
    proc = twin("export", sample_city_path, "--format", "glb", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 100_000
    assert [p.name for p in tmp_path.iterdir()] == ["city.glb"]


def test_render_bad_size(sample_city_path, tmp_path):
    assert_one_line_error(twin("render", sample_city_path, "-o", tmp_path / "x.png", "--size", "big"),
                          "--size")


@pytest.mark.slow
def test_demo_runs_end_to_end(sample_city_path, tmp_path):
    proc = twin("demo", "--out", tmp_path / "demo", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("ezhou.glb", "ezhou.vtm", "ezhou.city.json", "ezhou.png", "demo.zarr"):
        assert (tmp_path / "demo" / name).exists(), name
    assert "Buildings:" in proc.stdout and "Wrote:" in proc.stdout
