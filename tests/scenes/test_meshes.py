"""Meshes checked against closed-form geometry: prism volumes, ribbon areas,
plane elevations, triangle counts of a grid with a hole, water quantiles."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import trimesh

from geodata.errors import DataError, DataWarning
from scenes import style
from scenes.meshes import (Scene, bim_mesh, buildings_mesh, city_scene, roads_mesh, scene_bounds,
                           scene_origin, sensors_mesh, terrain_mesh, water_mesh)

X0, Y0 = 585000.0, 3363000.0


def _plane(x_world):
    return 20 + 0.01 * (np.asarray(x_world) - X0)


def _part(mesh, name, i):
    cells = np.flatnonzero(mesh.cell_data[name] == i)
    sub = mesh.extract_cells(cells).extract_surface(algorithm="dataset_surface")
    return trimesh.Trimesh(np.asarray(sub.points, float), sub.regular_faces, process=True)


# -- buildings ----------------------------------------------------------------
def test_building_prisms_are_closed_with_volume_area_times_height(buildings):
    origin = (X0 + 150, Y0 + 110, 20.0)
    mesh = buildings_mesh(buildings, origin)
    # courtyard 30x30 minus 10x10; the vee is 30x30 minus a 30 x 20 notch triangle;
    # the pair is 10x10 + 10x20
    expected = {0: (900 - 100) * 30.0, 1: (900 - 300) * 15.0, 2: (100 + 200) * 6.0}
    for i, volume in expected.items():
        prism = _part(mesh, "building_index", i)
        assert prism.is_watertight and prism.is_winding_consistent
        assert prism.volume == pytest.approx(volume, rel=1e-6)  # positive: normals point out


def test_building_heights_and_attributes(buildings):
    origin = (X0, Y0, 0.0)
    mesh = buildings_mesh(buildings, origin)
    z = np.asarray(mesh.points)[:, 2]
    for i, (base, height) in enumerate(zip(buildings["base"], buildings["height"])):
        ids = np.unique(mesh.regular_faces[mesh.cell_data["building_index"] == i])
        assert z[ids].min() == pytest.approx(base)
        assert z[ids].max() == pytest.approx(base + height)
    office = mesh.cell_data["building_index"] == 0
    assert (mesh.cell_data["rgb"][office] == style.BUILDING_USE_COLORS["office"]).all()
    assert (mesh.cell_data["use_code"][office] == list(style.BUILDING_USE_COLORS).index("office")).all()
    roof = mesh.cell_data["surface"] == 2
    assert z[mesh.regular_faces[roof]].min() >= 22.0 + 6.0 - 1e-4   # roofs are on top


def test_buildings_bad_heights_raise_naming_ids(buildings):
    bad = buildings.copy()
    bad.loc[1, "height"] = -3.0
    with pytest.raises(DataError, match="vee"):
        buildings_mesh(bad, (X0, Y0, 0))
    with pytest.raises(DataError, match="height"):
        buildings_mesh(buildings.drop(columns="height"), (X0, Y0, 0))
    nan_base = buildings.copy()
    nan_base.loc[0, "base"] = np.nan
    with pytest.raises(DataError, match="court"):
        buildings_mesh(nan_base, (X0, Y0, 0))


def test_buildings_invalid_and_empty_geometries_warn(buildings):
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    extra = gpd.GeoDataFrame({"id": ["bow", "none"], "height": [5.0, 5.0], "base": [0.0, 0.0],
                              "use": ["x", "y"]}, geometry=[bowtie, shapely.Polygon()])
    both = gpd.GeoDataFrame(np.concatenate([buildings.to_numpy(), extra.to_numpy()]),
                            columns=buildings.columns, geometry="geometry")
    both[["height", "base"]] = both[["height", "base"]].astype(float)
    with pytest.warns(DataWarning) as caught:
        mesh = buildings_mesh(both, (X0, Y0, 0))
    text = " ".join(str(w.message) for w in caught)
    assert "bow" in text and "none" in text
    bow = _part(mesh, "building_index", 3)
    assert bow.volume == pytest.approx(50.0 * 5.0)   # two 25 m2 triangles
    assert 4 not in mesh.cell_data["building_index"]


# -- terrain ------------------------------------------------------------------
def test_terrain_grid_with_hole(terrain):
    origin = (X0 + 200, Y0 + 150, 20.0)
    mesh = terrain_mesh(terrain, origin)
    rows, cols = terrain.shape
    # a 3 x 4 block of NaN vertices removes 2 (h+1)(w+1) - 2 triangles with this diagonal
    assert mesh.n_cells == 2 * (rows - 1) * (cols - 1) - (2 * 4 * 5 - 2)
    assert mesh.n_points == rows * cols - 12
    world = np.asarray(mesh.points, float) + origin
    assert np.allclose(world[:, 2], _plane(world[:, 0]), atol=1e-4)
    assert np.allclose(mesh.point_data["elevation"], _plane(world[:, 0]), atol=1e-4)
    normals = mesh.compute_normals(cell_normals=True, point_normals=False)["Normals"]
    assert (normals[:, 2] > 0.99).all()                      # facing up


def test_terrain_step_and_area(terrain):
    terrain.data[:] = np.nan_to_num(terrain.data, nan=20.0)
    terrain.data[:] = _plane(terrain.x)[None, :]
    mesh = terrain_mesh(terrain, (X0, Y0, 0), step=2)
    r, c = terrain.data[::2, ::2].shape
    span_x, span_y = (c - 1) * 10.0, (r - 1) * 10.0
    assert mesh.area == pytest.approx(span_x * span_y * np.sqrt(1 + 0.01 ** 2), rel=1e-6)
    with pytest.raises(DataError):
        terrain_mesh(terrain, (X0, Y0, 0), step=0)


# -- roads, water, sensors, BIM ------------------------------------------------------
def test_road_ribbons_are_draped_and_sized(city):
    mesh = roads_mesh(city.roads, city.terrain, (X0, Y0, 0))
    slope = np.sqrt(1 + 0.01 ** 2)
    line = _part(mesh, "road_index", 0)
    assert line.area == pytest.approx(380 * 4 * 3.5 * slope, rel=1e-6)
    poly = _part(mesh, "road_index", 1)
    assert poly.area == pytest.approx(10 * 140 * slope, rel=1e-6)
    world = np.asarray(mesh.points, float) + (X0, Y0, 0)
    assert np.allclose(world[:, 2], _plane(world[:, 0]) + 0.2, atol=1e-4)
    wide = roads_mesh(city.roads.iloc[:1], None, (X0, Y0, 0), width=10.0)
    assert wide.area == pytest.approx(3800.0)
    assert np.allclose(wide.points[:, 2], 0.2)
    grey = style.ROAD_CLASS_COLORS["primary"]
    assert (mesh.cell_data["rgb"][mesh.cell_data["road_index"] == 0] == grey).all()


def test_water_level_is_lower_quantile_of_terrain(city):
    mesh = water_mesh(city.water, city.terrain, (X0, Y0, 0))
    xx, yy = np.meshgrid(city.terrain.x, city.terrain.y)
    inside = np.hypot(xx - (X0 + 300), yy - (Y0 + 220)) < 40
    expected = np.quantile(city.terrain.data[inside], 0.1, method="lower")
    assert np.allclose(mesh.points[:, 2], expected, atol=1e-4)
    assert mesh.area == pytest.approx(city.water.geometry.area.iloc[0], rel=1e-6)
    assert np.allclose(water_mesh(city.water, None, (X0, Y0, 0), level=3.5).points[:, 2], 3.5)
    with_column = city.water.assign(level=[7.25])
    assert np.allclose(water_mesh(with_column, city.terrain, (X0, Y0, 0)).points[:, 2], 7.25)


def test_sensor_pins_stand_on_the_ground(city):
    stations = city.sensors.stations
    mesh = sensors_mesh(stations, city.terrain, (X0, Y0, 0))
    for i, point in enumerate(stations.geometry):
        pin = np.unique(mesh.regular_faces[mesh.cell_data["sensor_index"] == i])
        z = mesh.points[pin, 2]
        assert z.min() == pytest.approx(_plane(point.x), abs=1e-3)
        assert z.max() > z.min() + 12
    camera = mesh.cell_data["sensor_index"] == 0
    assert (mesh.cell_data["rgb"][camera] == style.SENSOR_KIND_COLORS["camera"]).all()


def test_bim_mesh_keeps_the_model(city):
    origin = (X0, Y0, 0.0)
    mesh = bim_mesh(city.bim, origin)
    box = city.bim["court"]
    assert mesh.n_cells == len(box.faces)
    assert np.allclose(np.asarray(mesh.points, float) + origin, box.vertices, atol=1e-3)
    assert (mesh.cell_data["element_index"] == -1).all()
    assert list(mesh.field_data["building_id"]) == ["court"]


# -- scene --------------------------------------------------------------------
def test_city_scene_origin_layers_and_world_coordinates(city):
    scene = city_scene(city)
    assert scene.origin == (X0 + 200.0, Y0 + 150.0, 20.0)   # terrain centre, floor of min ground
    assert scene.origin == scene_origin(city)
    assert set(scene.blocks) == {"terrain", "buildings", "roads", "water", "sensors", "bim"}
    b = scene.blocks["buildings"]
    assert b.points.dtype == np.float32
    world = scene.to_world(b.points)
    court = city.buildings.geometry.iloc[0]
    assert world[:, 0].min() == pytest.approx(court.bounds[0], abs=1e-3)
    assert np.allclose(scene.to_local(world), b.points, atol=1e-9)
    local, wb = scene_bounds(scene), scene_bounds(scene, world=True)
    assert wb[0] == pytest.approx(local[0] + X0 + 200) and wb[4] == pytest.approx(local[4] + 20)
    only = city_scene(city, layers=("buildings",))
    assert list(only.blocks) == ["buildings"]
    with pytest.raises(DataError, match="unknown"):
        city_scene(city, layers=("buildings", "trees"))


def test_scene_without_terrain_uses_building_centre(city):
    city.terrain = None
    scene = city_scene(city, layers=("buildings", "roads"))
    xmin, ymin, xmax, ymax = city.buildings.total_bounds
    assert scene.origin[:2] == (round((xmin + xmax) / 2), round((ymin + ymax) / 2))
    lowest = min(city.buildings["base"].min(), city.bim["court"].bounds[0, 2])  # BIM included
    assert scene.origin[2] == np.floor(lowest)
    assert np.allclose(scene.blocks["roads"].points[:, 2], 0.2 - scene.origin[2])


def test_scene_origin_is_float():
    assert isinstance(Scene((0, 0, 0), 4547).origin[0], float)
