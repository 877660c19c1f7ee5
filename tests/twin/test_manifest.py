"""Loading cities from manifests, CityJSON and saved folders; bad manifests."""
from __future__ import annotations

import warnings

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
