"""Off-screen rendering: a PNG of the right size, mostly showing the city; pictures
of a run (its water drawn where the run has it, the legend and the clock); the
``twin render`` and ``twin export --run`` commands."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import pyvista as pv
import shapely
from affine import Affine
from PIL import Image

from geodata.errors import DataError
from geodata.raster import Raster
from geodata.sensors import SensorTable
from scenes.meshes import city_scene
from scenes.overlay import PANEL
from scenes.runlayers import DEPTH
from scenes.snapshot import render_png, render_run
from twin.city import City
from twin.cli import main
from twin.replay import open_run
from twin.runner import run_scenario
from twin.scenario import load_scenario


def _pixels(path) -> np.ndarray:
    image = pv.read(path)
    w, h, _ = image.dimensions
    return np.asarray(image.point_data[image.point_data.keys()[0]])[:, :3].reshape(h, w, 3)


@pytest.mark.parametrize("view", ["oblique", "top"])
def test_render_png_shows_the_city(city, tmp_path, view):
    path = render_png(city_scene(city), tmp_path / f"{view}.png", window_size=(480, 300),
                      view=view)
    assert path.exists() and not list(tmp_path.glob("*partial*"))
    rgb = _pixels(path).astype(int)
    assert rgb.shape == (300, 480, 3)
    sky = rgb[:, :1, :]                                       # the left edge is background
    differs = np.abs(rgb - sky).max(axis=2) > 12
    assert differs.mean() > 0.15
    colours = np.unique(rgb.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 50                                  # terrain ramp, buildings, water


def test_render_png_rejects_unknown_view(city, tmp_path):
    with pytest.raises(ValueError, match="oblique"):
        render_png(city_scene(city), tmp_path / "x.png", view="sideways")


# -- pictures of runs ---------------------------------------------------------------

BX, BY, BCELL, BN = 500000.0, 3360000.0, 5.0, 24


@pytest.fixture(scope="module")
def bowl_run(tmp_path_factory):
    """A 120 m bowl (2 % towards its centre) with two buildings, rained on at
    300 mm/h for 20 minutes: water gathers in the middle."""
    folder = tmp_path_factory.mktemp("bowl")
    x = BX + BCELL * (np.arange(BN) + 0.5)
    y = BY - BCELL * (np.arange(BN) + 0.5)
    xx, yy = np.meshgrid(x, y)
    z = 10.0 + 0.02 * np.hypot(xx - x[12], yy - y[12])
    terrain = Raster(z, Affine(BCELL, 0, BX, 0, -BCELL, BY), "EPSG:4547")
    terrain.write(folder / "terrain.tif")
    (folder / "city.toml").write_text('name = "bowl"\ncrs = "EPSG:4547"\n'
                                      '[terrain]\npath = "terrain.tif"\n'
                                      '[buildings]\npath = "buildings.gpkg"\n')
    buildings = gpd.GeoDataFrame(
        {"id": ["A", "B"], "height": [12.0, 8.0], "base": [10.6, 10.6], "use": ["office", "res"]},
        geometry=[shapely.box(BX + 10, BY - 30, BX + 30, BY - 10),
                  shapely.box(BX + 90, BY - 110, BX + 110, BY - 90)], crs="EPSG:4547")
    buildings.to_file(folder / "buildings.gpkg")
    times = pd.date_range("2024-07-05T03:50Z", "2024-07-05T04:40Z", freq="5min")
    gauge = gpd.GeoDataFrame({"id": ["RG1"], "name": ["centre"], "kind": ["rain_gauge"],
                              "unit": ["mm/h"]}, geometry=[shapely.Point(x[12], y[12])],
                             crs="EPSG:4547")
    rain = pd.DataFrame({"sensor_id": "RG1", "time": times, "value": 300.0})
    city = City("Bowl", "EPSG:4547", terrain=terrain, buildings=buildings,
                sensors=SensorTable(gauge, rain), source=str(folder / "city.toml"))
    (folder / "bowl.toml").write_text(textwrap.dedent("""
        name = "Bowl storm"
        city = "city.toml"
        start = "2024-07-05T12:00:00+08:00"
        duration = "20min"
        output_every = "5min"
        [flood]
        cell_size = 5.0
        [forcing.rain]
        source = "gauges"
    """))
    run = run_scenario(load_scenario(folder / "bowl.toml"), out=folder / "bowl.zarr", city=city)
    return city, open_run(run.path)


def _image(path) -> np.ndarray:
    """Pixels with row 0 at the top (as the picture's boxes count them)."""
    return np.asarray(Image.open(path).convert("RGB"))


def _outside(boxes, shape) -> np.ndarray:
    keep = np.ones(shape[:2], bool)
    for x0, y0, x1, y1 in boxes.values():
        keep[y0:y1 + 1, x0:x1 + 1] = False
    return keep


def test_run_picture_shows_the_water_and_its_legend(bowl_run, tmp_path):
    city, run = bowl_run
    assert run.flood["depth"].isel(time=-1).max() > 0.2          # the bowl holds water
    dry = render_run(city, run, tmp_path / "dry.png", frame=0, window_size=(480, 320))
    wet = render_run(city, run, tmp_path / "wet.png", frame="last", window_size=(480, 320))
    assert dry.layers == [] and sorted(dry.boxes) == ["clock"]
    assert wet.layers == ["flood"] and sorted(wet.boxes) == ["clock", "legend:flood"]
    assert wet.frame == len(run.times) - 1 and wet.time == run.times[-1]
    a, b = _image(dry.path).astype(int), _image(wet.path).astype(int)
    assert a.shape == b.shape == (320, 480, 3)
    assert not list(tmp_path.glob("*partial*"))
    keep = _outside(wet.boxes, a.shape)
    changed = (np.abs(a - b).max(axis=2) > 30) & keep
    assert changed.mean() > 0.01                              # water is drawn ...
    rows, cols = np.nonzero(changed)
    assert abs(cols.mean() - 240) < 60 and abs(rows.mean() - 160) < 80   # ... in the middle
    water = b[changed]
    assert (water[:, 2] > water[:, 0] + 20).mean() > 0.9      # ... and it is blue
    x0, y0, x1, y1 = wet.boxes["legend:flood"]
    legend = b[y0:y1, x0:x1].reshape(-1, 3)
    for colour in DEPTH.rgb.astype(int):                      # every class swatch is there
        assert (np.abs(legend - colour).max(axis=1) <= 2).sum() > 20


def test_run_picture_draws_the_clock(bowl_run, tmp_path):
    city, run = bowl_run
    pic = render_run(city, run, tmp_path / "max.png", frame="max", window_size=(640, 400))
    assert pic.frame is None and pic.time is None
    rgb = _image(pic.path).astype(int)
    x0, y0, x1, y1 = pic.boxes["clock"]
    assert x0 < 40 and y0 < 40 and x1 - x0 > 150 and y1 - y0 > 30
    panel = rgb[y0 + 6:y1 - 6, x0 + 6:x1 - 6].reshape(-1, 3)
    dark = (np.abs(panel - np.array(PANEL[:3])).max(axis=1) < 40).mean()
    text = (panel.min(axis=1) > 150).mean()                   # light letters on the panel
    assert dark > 0.5 and 0.02 < text < 0.4


def test_run_picture_rejects_bad_frames(bowl_run, tmp_path):
    city, run = bowl_run
    for bad in ("99", "soon", "-2"):
        with pytest.raises(DataError, match="frame"):
            render_run(city, run, tmp_path / "x.png", frame=bad)
    assert not list(tmp_path.iterdir())


def test_twin_render_run_from_the_command_line(bowl_run, tmp_path):
    city, run = bowl_run
    out = tmp_path / "cli.png"
    done = subprocess.run([sys.executable, "-m", "twin.cli", "render", str(run.path), "--frame",
                           "2", "--size", "320x200", "-o", str(out)],
                          capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "frame 2" in done.stdout and "flood" in done.stdout
    assert _image(out).shape == (200, 320, 3)


def test_twin_render_and_export_errors_are_one_line(bowl_run, tmp_path, capsys):
    city, run = bowl_run
    assert main(["render", str(run.path), "--frame", "later", "-o", str(tmp_path / "a.png")]) == 2
    assert main(["render", str(run.path), "--frame", "5", "-o", str(tmp_path / "a.png")]) == 2
    assert main(["export", city.source, "--format", "glb", "-o", str(tmp_path / "a.glb"),
                 "--run", str(run.path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "0..4" in err[1] and "3dtiles" in err[2]
    assert not list(tmp_path.iterdir())


def test_twin_export_3dtiles_with_a_run_adds_the_flood(bowl_run, tmp_path, capsys):
    city, run = bowl_run
    assert main(["export", city.source, "--format", "3dtiles", "-o", str(tmp_path / "t"),
                 "--run", str(run.path)]) == 0
    tileset = json.loads((tmp_path / "t" / "flood" / "tileset.json").read_text())
    assert tileset["root"]["content"]["uri"] == "tiles/0-0-0.glb"
    assert (tmp_path / "t" / "flood" / "tiles" / "0-0-0.glb").stat().st_size > 1000
    assert main(["export", city.source, "--format", "3dtiles", "-o", str(tmp_path / "u")]) == 0
    assert not (tmp_path / "u" / "flood").exists()


def test_the_crowds_venue_is_drawn_apart_to_be_see_through(city):
    from scenes.snapshot import _LOOK, _venue_see_through
    scene = city_scene(city, layers=("terrain", "buildings"))
    split = _venue_see_through(scene, city, "court")
    court = np.asarray(scene.blocks["buildings"].cell_data["building_index"]) == 0
    assert split.blocks["venue"].n_cells == court.sum() > 0
    assert split.blocks["buildings"].n_cells == (~court).sum()
    assert set(split.blocks["venue"].cell_data["building_index"]) == {0}
    assert _LOOK["venue"]["opacity"] < 0.5
    assert _venue_see_through(scene, city, "nowhere") is scene      # an unknown venue: as is
