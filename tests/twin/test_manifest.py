"""Loading cities from manifests, CityJSON and saved folders; bad manifests."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer

from geodata.errors import DataError, DataWarning
from twin.manifest import load_city, save_city


@pytest.fixture(scope="module")
def sample(sample_city_path):
    return load_city(sample_city_path)


# -- the embedded sample ------------------------------------------------------------

def test_sample_city_is_at_ezhou_in_cgcs2000(sample):
    assert sample.crs.to_epsg() == 4547
    x, y = Transformer.from_crs(4490, 4547, always_xy=True).transform(114.89, 30.39)
    xmin, ymin, xmax, ymax = sample.bounds
    assert xmin - 5000 < x < xmax + 5000 and ymin - 5000 < y < ymax + 5000


def test_sample_city_layers(sample):
    assert len(sample.buildings) >= 3000
    assert sample.buildings.geometry.is_valid.all()
    assert (sample.buildings["height"] > 0).all()
    # the base of a building is the ground under it
    pts = sample.buildings.geometry.representative_point()
    ground = sample.terrain.sample(pts.x.to_numpy(), pts.y.to_numpy())
    assert np.nanmax(np.abs(ground - sample.buildings["base"].to_numpy())) < 3.0
    assert len(sample.sensors.stations) >= 30
    assert {"rain_gauge", "water_level", "traffic_counter", "crowd_counter"} <= set(
        sample.sensors.stations["kind"])
    assert sample.bim, "the sample has at least one BIM building"


def test_sample_bim_sits_on_its_building(sample):
    for bid, model in sample.bim.items():
        footprint = sample.building(bid).geometry
        centre = shapely.Point(np.asarray(model.mesh.vertices)[:, :2].mean(axis=0))
        assert footprint.buffer(30).contains(centre), bid


def test_save_and_load_round_trip(sample, tmp_path):
    folder = save_city(sample, tmp_path / "copy")
    again = load_city(folder)
    assert again.crs.equals(sample.crs)
    assert list(again.buildings["id"]) == list(sample.buildings["id"])
    np.testing.assert_allclose(again.buildings["height"], sample.buildings["height"])
    np.testing.assert_array_equal(again.terrain.data, sample.terrain.data)
    assert len(again.roads) == len(sample.roads)
    assert len(again.sensors.readings) == len(sample.sensors.readings)
    assert set(again.bim) == set(sample.bim)
    for bid in sample.bim:
        np.testing.assert_allclose(again.bim[bid].mesh.vertices, sample.bim[bid].mesh.vertices)
    assert again.places == sample.places
    assert not list(tmp_path.glob(".copy.*")), "no temporary folder left behind"


def test_failed_save_leaves_nothing(sample, tmp_path, monkeypatch):
    import twin.manifest as manifest

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(manifest, "_write_sensors", boom)
    with pytest.raises(OSError):
        save_city(sample, tmp_path / "copy")
    assert list(tmp_path.iterdir()) == []


# -- outside data -------------------------------------------------------------------

def test_delft_cityjson_loads_as_a_city(delft_cityjson):
    city = load_city(delft_cityjson)
    assert city.crs.to_epsg() == 28992
    assert len(city.buildings) == 160
    assert len(city.roads) > 0 and len(city.water) > 0


def test_delft_with_its_terrain_fills_holes_and_grounds_buildings(delft_cityjson, delft_dtm, tmp_path):
    manifest = tmp_path / "delft.toml"
    manifest.write_text(f'name = "Delft"\ncrs = "EPSG:28992"\n'
                        f'[cityjson]\npath = "{delft_cityjson.as_posix()}"\n'
                        f'[terrain]\npath = "{delft_dtm.as_posix()}"\n')
    with pytest.warns(DataWarning, match="nodata"):
        city = load_city(manifest)
    assert not np.isnan(city.terrain.data).any()
    with rasterio.open(delft_dtm) as src:
        raw = src.read(1, masked=True)
    assert city.terrain.data.min() >= raw.min() - 1e-3
    assert city.terrain.data.max() <= raw.max() + 1e-3


def test_ifc_building_is_placed_from_its_georeference(fzk_haus_ifc, tmp_path):
    manifest = tmp_path / "karlsruhe.toml"
    manifest.write_text('name = "FZK"\ncrs = "EPSG:25832"\n'
                        f'[[bim]]\nbuilding = "fzk"\npath = "{fzk_haus_ifc.as_posix()}"\n')
    city = load_city(manifest)
    v = np.asarray(city.bim["fzk"].mesh.vertices)
    # Karlsruhe lies in UTM 32N around E 456000, N 5430000
    assert 440_000 < v[:, 0].mean() < 470_000 and 5_410_000 < v[:, 1].mean() < 5_450_000


# -- bad manifests ----------------------------------------------------------------------

def _write(tmp_path, text):
    path = tmp_path / "city.toml"
    path.write_text(text)
    return path


def test_missing_manifest(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_city(tmp_path / "nope.toml")


def test_not_toml(tmp_path):
    with pytest.raises(DataError, match="not valid TOML"):
        load_city(_write(tmp_path, "name = [unclosed"))


def test_unknown_section_is_named(tmp_path):
    with pytest.raises(DataError, match="buildngs"):
        load_city(_write(tmp_path, 'crs = "EPSG:4547"\n[buildngs]\npath = "b.gpkg"\n'))


def test_geographic_city_crs(tmp_path):
    with pytest.raises(DataError, match="geographic"):
        load_city(_write(tmp_path, 'crs = "EPSG:4490"\n'))


def test_section_without_path(tmp_path):
    with pytest.raises(DataError, match=r"\[roads\] has no 'path'"):
        load_city(_write(tmp_path, 'crs = "EPSG:4547"\n[roads]\nlayer = "x"\n'))


def test_missing_layer_file_is_named(tmp_path):
    with pytest.raises(DataError, match="missing.gpkg"):
        load_city(_write(tmp_path, 'crs = "EPSG:4547"\n[roads]\npath = "missing.gpkg"\n'))


def test_bim_for_unknown_building(sample_city_path, tmp_path):
    text = sample_city_path.read_text().replace('building = "', 'building = "NOPE', 1)
    for key in ("path", "stations", "readings"):
        text = text.replace(f'{key} = "', f'{key} = "{sample_city_path.parent.as_posix()}/')
    with pytest.raises(DataError, match="NOPE"):
        load_city(_write(tmp_path, text))


def test_layer_far_from_terrain_is_refused(sample_city_path, tmp_path):
    import geopandas as gpd
    roads = gpd.read_file(sample_city_path.parent / "roads.gpkg").head(20)
    roads["geometry"] = roads.geometry.translate(50_000, 0)
    roads.to_file(tmp_path / "far.gpkg", layer="roads")
    text = (f'crs = "EPSG:4547"\n[terrain]\npath = "{(sample_city_path.parent / "terrain.tif").as_posix()}"\n'
            f'[roads]\npath = "far.gpkg"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataError, match="far.gpkg"):
            load_city(_write(tmp_path, text))


# -- malformed manifests: one DataError line each -----------------------------------------

SAMPLE = "data_samples/ezhou"   # resolved against the repository in _bad()

BAD_MANIFESTS = [
    # (what, manifest text, expected pieces of the message)
    ("cell size as text", '[terrain]\npath = "{S}/terrain.tif"\ncell_size = "5"\n',
     ["terrain.cell_size must be a number, got the text '5'", "without quotes: cell_size = 5"]),
    ("zero cell size", '[terrain]\npath = "{S}/terrain.tif"\ncell_size = 0\n',
     ["terrain.cell_size must be above 0"]),
    ("negative cell size", '[terrain]\npath = "{S}/terrain.tif"\ncell_size = -4.0\n',
     ["terrain.cell_size must be above 0, got -4"]),
    ("boolean cell size", '[terrain]\npath = "{S}/terrain.tif"\ncell_size = true\n',
     ["must be a number, got the boolean true"]),
    ("misspelt key in a table", '[terrain]\npath = "{S}/terrain.tif"\ncellsize = 5\n',
     ["[terrain] has an unknown key 'cellsize'", "did you mean 'cell_size'?"]),
    ("misspelt section", '[buildngs]\npath = "b.gpkg"\n',
     ["unknown key 'buildngs'", "did you mean 'buildings'?"]),
    ("places as a list", 'places = ["lake"]\n', ["[places] must be a table, got an array"]),
    ("place without y", '[places.lake]\nx = 585000.0\n', ["[places.lake] has no 'y'"]),
    ("place x as text", '[places.lake]\nx = "585000"\ny = 3363000.0\n',
     ["places.lake.x must be a number, got the text '585000'", "x = 585000"]),
    ("place at NaN", 'places.lake = { x = nan, y = 3363000.0 }\n',
     ["places.lake.x must be a finite number"]),
    ("unknown key in a place", 'places.lake = { x = 1.0, y = 2.0, z = 3.0 }\n',
     ["[places.lake] has an unknown key 'z'"]),
    ("terrain as an array of tables", '[[terrain]]\npath = "{S}/terrain.tif"\n',
     ["[terrain] must be a table, got an array"]),
    ("bim as a single table", '[bim]\nbuilding = "B000003"\npath = "x.ifc"\n',
     ["[bim] must be an array of tables", "[[bim]]"]),
    ("bim entry with a typo", '[[bim]]\nbuilding = "B000003"\npaht = "x.ifc"\n',
     ["[bim[0]] has an unknown key 'paht'", "did you mean 'path'?"]),
    ("placement without y", '[[bim]]\nbuilding = "B"\npath = "x.ifc"\nplacement = { x = 1.0 }\n',
     ["[bim[0].placement] has no 'y'"]),
    ("unknown CRS code", 'crs = "EPSG:45470"\n', ["crs 'EPSG:45470' is not a CRS pyproj knows"]),
    ("CRS as a table", '[crs]\ncode = 4547\n', ["crs must be a CRS code"]),
    ("bad stations CRS", '[sensors]\nstations = "s.csv"\nreadings = "r.csv"\n'
     'stations_crs = "EPSG:nope"\n', ["sensors.stations_crs 'EPSG:nope' is not a CRS"]),
    ("unknown time zone", 'timezone = "Mars/Olympus"\n', ["timezone 'Mars/Olympus' is not a time zone"]),
    ("unknown layer format", '[roads]\npath = "r.shp"\nformat = "shp"\n',
     ["roads.format must be one of osm, ogr"]),
    ("name as a number", 'name = 5\n', ["name must be text in quotes, got the number 5"]),
    ("height column that does not exist",
     '[buildings]\npath = "{S}/buildings.gpkg"\nheight = "heigth"\n',
     ["has no column 'heigth'", "did you mean 'height'?"]),
    ("place in longitude/latitude",
     '[terrain]\npath = "{S}/terrain.tif"\n[places.lake]\nx = 114.89\ny = 30.39\n',
     ["place 'lake' (114.89, 30.39) lies", "it looks like longitude/latitude",
      "in the city CRS (EPSG:4547)"]),
]


def _bad(tmp_path, text):
    sample = (Path(__file__).parents[2] / SAMPLE).as_posix()
    body = text.replace("{S}", sample)
    if not body.startswith("crs") and "\ncrs" not in body and not body.startswith("[crs]"):
        body = 'crs = "EPSG:4547"\n' + body
    return _write(tmp_path, body)


@pytest.mark.parametrize("what, text, pieces", BAD_MANIFESTS, ids=[c[0] for c in BAD_MANIFESTS])
def test_malformed_manifest_is_one_data_error_line(tmp_path, what, text, pieces):
    path = _bad(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        with pytest.raises(DataError) as err:
            load_city(path)
    message = str(err.value)
    sample = (Path(__file__).parents[2] / SAMPLE).as_posix()
    assert message.startswith((str(path), sample)), message      # the manifest or its source
    assert "\n" not in message and "Fix:" in message
    for piece in pieces:
        assert piece in message, (piece, message)


@pytest.mark.parametrize("what, text, pieces", BAD_MANIFESTS[::4], ids=[c[0] for c in BAD_MANIFESTS[::4]])
def test_twin_info_on_a_bad_manifest_exits_2_with_one_line(tmp_path, what, text, pieces):
    import subprocess
    import sys
    path = _bad(tmp_path, text)
    out = subprocess.run([sys.executable, "-m", "twin.cli", "info", str(path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and pieces[0] in errors[0], out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize("path", [None, "", "   ", 3])
def test_load_city_without_a_path(path):
    with pytest.raises(DataError, match="no city file given|loaded from a path"):
        load_city(path)


def test_undeclared_nodata_in_the_terrain_is_named_and_filled(sample_city_path, tmp_path):
    from geodata.raster import read_raster
    dem = read_raster(sample_city_path.parent / "terrain.tif")
    dem.data[10:12, 20:23] = -3.4028235e38          # a nodata value the file does not declare
    dem.write(tmp_path / "dem.tif")
    path = _write(tmp_path, f'crs = "EPSG:4547"\n[terrain]\npath = "{(tmp_path / "dem.tif").as_posix()}"\n')
    with pytest.warns(DataWarning, match="6 terrain cells lie outside -1000 to 9000 m"):
        city = load_city(path)
    assert np.isfinite(city.terrain.data).all()
    rim = dem.data[9:13, 19:24]
    hole = city.terrain.data[10:12, 20:23]
    assert rim[np.isfinite(rim) & (rim > -1000)].min() <= hole.min() <= hole.max() <= rim.max()


def test_osm_roads_and_buildings_in_a_manifest(tmp_path):
    pyrosm = pytest.importorskip("pyrosm", reason="pyrosm (test extra) ships test.osm.pbf")
    pbf = pyrosm.get_data("test_pbf")
    path = _write(tmp_path, f'crs = "EPSG:3067"\n[roads]\npath = "{pbf}"\n'
                            f'[buildings]\npath = "{pbf}"\nformat = "osm"\nstorey_height = 3.5\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        city = load_city(path)
    assert len(city.roads) > 300 and city.roads["id"].str.startswith("way/").all()
    assert len(city.buildings) > 2000 and city.buildings.crs.to_epsg() == 3067
    levels = city.buildings["height_source"] == "storeys"
    np.testing.assert_allclose(city.buildings.loc[levels, "height"],
                               city.buildings.loc[levels, "storeys"] * 3.5)
