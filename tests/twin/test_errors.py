"""Bad input to every command: one line naming the file and the fix, exit 2, never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from twin.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data_samples" / "ezhou"
HEAD = (f'city = "{SAMPLE / "city.toml"}"\nstart = "2024-07-05T13:40:00+08:00"\n'
        'duration = "30min"\noutput_every = "10min"\n')
FLOOD = '[flood]\ncell_size = 32.0\n'


def one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("warning:")]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Fix:" in lines[0], err
    assert "Traceback" not in err
    return lines[0]


SCENARIOS = [
    (HEAD + FLOOD + "spead = 3\n", "'flood.spead' is not known"),
    (HEAD + "[flod]\ncell_size = 8.0\n", "did you mean 'flood'"),
    (HEAD + FLOOD.replace("cell_size", "cellsize"), "did you mean 'cell_size'"),
    (HEAD.replace('"30min"', '"5min"') + FLOOD, "output_every"),
    (HEAD.replace('"30min"', "inf") + FLOOD, "not a usable duration"),
    (HEAD.replace('"30min"', '"1e9h"') + FLOOD, "'duration'"),
    (HEAD.replace("+08:00", "") + FLOOD, "no time zone"),
    (HEAD.replace("+08:00", "+25:00") + FLOOD, "start"),
    (HEAD + FLOOD + "manning_default = 0\n", "manning_default' must be positive"),
    (HEAD + "[flood]\ncell_size = -1\n", "cell_size' must be positive"),
    (HEAD + FLOOD + 'dtype = "float16"\n', "dtype"),
    (HEAD + FLOOD + "[forcing.breach]\nat = { x = nan, y = 1.0 }\nwidth_m = 10\nlevel_m = 20\n",
     "forcing.breach.at"),
    (HEAD + FLOOD + '[forcing.breach]\nat = "levee"\nwidth_m = 40\nlevel_m = 24\ntime = "2h"\n',
     "breach.time"),
    (HEAD + FLOOD + '[forcing.breach]\nat = "levee"\nwidth_m = 40\nlevel_m = 24\nenabled = "no"\n',
     "true or false"),
    (HEAD + FLOOD + '[[forcing.pumps]]\nat = { x = 0.0, y = 0.0 }\ncapacity_m3s = 1\n',
     "outside the flood grid"),
    (HEAD + FLOOD + '[[forcing.pumps]]\nat = "pumping_station"\ncapacity_m3s = 1\n',
     "place 'pumping_station'"),
    (HEAD + FLOOD + '[forcing.rain]\nsource = "gauges"\ngauges = ["RG99"]\n', "RG99"),
    (HEAD + FLOOD + '[forcing.river]\ngauge = "TC01"\n', "not a water_level"),
    (HEAD + 'exchange_every = 0\n' + FLOOD, "exchange_every"),
    (HEAD, "names no engine"),
    ("", "city' is missing"),
    ("name = [1, 2]\n" + HEAD + FLOOD, "name"),
    (HEAD.replace(str(SAMPLE / "city.toml"), "nowhere.toml") + FLOOD, "does not exist"),
    ("duration = \n", "not valid TOML"),
    (HEAD + '[crowd]\nattendance = "many"\n', "crowd.attendance"),
    (HEAD + '[crowd]\nexits = "edges"\n', "crowd.exits"),
]


@pytest.mark.parametrize("text, message", SCENARIOS, ids=[f"s{i}" for i in range(len(SCENARIOS))])
def test_bad_scenarios_are_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    line = one_line_error(capsys, main(["run", str(path), "-o", str(tmp_path / "r.zarr")]))
    assert message in line and "bad.toml" in line
    assert not (tmp_path / "r.zarr").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]     # nothing half-written


def test_binary_and_missing_scenarios(tmp_path, capsys):
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)))
    assert "cannot be read" in one_line_error(capsys, main(["run", str(tmp_path / "bin.toml")]))
    assert "not found" in one_line_error(capsys, main(["run", str(tmp_path / "none.toml")]))
    run_dir = tmp_path / "r.zarr"
    run_dir.mkdir()
    assert "scenario file not found" in one_line_error(capsys, main(["run", str(run_dir)]))


@pytest.mark.parametrize("args, message", [
    (["ensemble", "{demo}", "--members", "4"], "no --vary"),
    (["ensemble", "{demo}", "--members", "4", "--vary", "rain_scal=0:1"],
     "did you mean 'rain_scale'"),
    (["ensemble", "{demo}", "--members", "4", "--vary", "rain_scale=1:1"], "empty"),
    (["ensemble", "{demo}", "--members", "4", "--vary", "rain_scale=a:b"], "not a number"),
    (["ensemble", "{demo}", "--members", "0", "--vary", "rain_scale=0:1"], "--members"),
    (["ensemble", "{demo}", "--members", "2", "--vary", "attendance=1:2"], "no [crowd] table"),
    (["nowcast", "{city}", "--store", "{tmp}/nostore"], "no sensor store"),
    (["export", "{city}", "--format", "glb", "-o", "{tmp}/city.vtm"], "glb"),
    (["render", "{city}", "--size", "big", "-o", "{tmp}/x.png"], "--size"),
])
def test_bad_command_lines_are_one_line(tmp_path, capsys, args, message):
    fill = {"demo": str(SAMPLE / "scenarios" / "demo.toml"), "city": str(SAMPLE / "city.toml"),
            "tmp": str(tmp_path)}
    line = one_line_error(capsys, main([a.format(**fill) for a in args]))
    assert message in line


def test_a_subprocess_never_prints_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(HEAD + "[flod]\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (["run", str(bad)], ["info", str(bad)], ["live", str(SAMPLE / "city.toml"),
                                                         "--broker", "no:port:here",
                                                         "--store", str(tmp_path / "s")]):
        done = subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=600)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout
        assert done.stderr.strip().splitlines()[-1].startswith("error: ")
