"""Run layers: class coordinates against the breaks, frame choice and its
errors, and the flood, crowd and traffic meshes placed where the data are."""
from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from affine import Affine

from geodata.errors import DataError
from geodata.raster import Raster
from scenes.runlayers import (DENSITY, DEPTH, LANE_OFFSET, ROAD_LIFT, SPEED, class_coordinate,
                              frame_index, frame_label, run_layers)

X0, Y0, CELL, N = 500000.0, 3360000.0, 5.0, 20
ORIGIN = (X0, Y0 - N * CELL, 0.0)


class Store:
    """The part of :class:`twin.Run` the layers read: engines, groups, clock."""

    def __init__(self, groups: dict, times: pd.DatetimeIndex):
        self.groups, self.times, self.start = groups, times, times[0]
        self.engines, self.path = tuple(groups), "r.zarr"

    def __getitem__(self, name):
        return self.groups[name]


def _city(water=None):
    z = np.full((N, N), 10.0, "float32")                   # flat ground at 10 m
    terrain = Raster(z, Affine(CELL, 0, X0, 0, -CELL, Y0), 4547)
    empty = gpd.GeoDataFrame(geometry=[], crs=4547)
    return SimpleNamespace(terrain=terrain, water=empty if water is None else water)


def _centres():
    return X0 + CELL * (np.arange(N) + 0.5), Y0 - CELL * (np.arange(N) + 0.5)


def _times(n):
    return pd.date_range("2024-07-05T13:40+08:00", periods=n, freq="10min")


def _flood(depth_last):
    x, y = _centres()
    depth = np.stack([np.zeros((N, N)), depth_last])
    return xr.Dataset({"depth": (("time", "y", "x"), depth),
                       "max_depth": (("y", "x"), depth.max(axis=0)),
                       "elevation": (("y", "x"), np.full((N, N), 10.0))},
                      coords={"time": [0.0, 600.0], "x": x, "y": y})


def test_class_coordinate_follows_the_breaks():
    c = class_coordinate([0.05, 0.1, 0.15, 0.75, 1.0, 3.0, 50.0, np.nan], DEPTH.breaks)
    np.testing.assert_allclose(c[:7], [0.0, 0.5, 1.0, 3.5, 4.0, 5.5, 6.0 - 1e-6])
    assert np.isnan(c[7])
    assert class_coordinate([-1.0], DENSITY.breaks)[0] == 0.0


def test_legends_have_one_colour_per_class_and_readable_labels():
    for legend in (DEPTH, DENSITY, SPEED):
        assert len(legend.colors) == len(legend.breaks) - 1 == len(legend.labels)
        assert legend.rgb.shape == (len(legend.colors), 3)
        assert legend.lookup_table().n_values == len(legend.colors)
    assert SPEED.labels == ["0 – 5", "5 – 15", "15 – 25", "25 – 35", "35 – 50", "≥ 50"]
    # a sequential ramp: lightness falls monotonically with depth and density
    for legend in (DEPTH, DENSITY):
        lightness = legend.rgb.astype(float) @ [0.299, 0.587, 0.114]
        assert (np.diff(lightness) < 0).all()


def test_frame_index_and_its_errors():
    run = Store({}, _times(7))
    assert frame_index(run, 0) == 0 and frame_index(run, "6") == 6
    assert frame_index(run, "last") == 6 and frame_index(run, "MAX") is None
    for bad in ("7", "-1", "abc", "2.5", ""):
        with pytest.raises(DataError) as err:
            frame_index(run, bad)
        assert "r.zarr" in str(err.value) and "0..6" in str(err.value)
        assert "\n" not in str(err.value)


def test_frame_label_gives_local_time_and_elapsed_time():
    run = Store({}, _times(7))
    assert frame_label(run, 3).startswith("14:10 on 5 Jul 2024 (UTC+08:00) · start + 0:30")
    assert frame_label(run, None) == ("Maxima from 13:40 to 14:40 on 5 Jul 2024 (UTC+08:00) "
                                      "· 7 frames")


def test_flood_layer_covers_the_wet_square_only():
    depth = np.zeros((N, N))
    depth[5:10, 5:10] = 0.75                               # 25 m x 25 m of 0.75 m water
    run = Store({"flood": _flood(depth)}, _times(2))
    assert run_layers(run, _city(), ORIGIN, 0) == []       # dry first frame: no layer
    (layer,) = run_layers(run, _city(), ORIGIN, 1)
    assert layer.name == "flood" and layer.legend is DEPTH and not layer.lines
    world = np.asarray(layer.mesh.points, float) + ORIGIN
    x, y = _centres()
    # on flat ground the level reaches into the next cell, and the shoreline is cut before
    # the one after (scenes.water): within two cells of the wet cells' centres, centred on them
    assert world[:, 0].min() >= x[3] - 1e-6 and world[:, 0].max() <= x[11] + 1e-6
    assert world[:, 1].max() <= y[3] + 1e-6 and world[:, 1].min() >= y[11] - 1e-6
    np.testing.assert_allclose(world[:, :2].mean(axis=0), [x[7], y[7]], atol=0.5)
    inner = np.asarray(layer.mesh.point_data["value"]) > 0.7
    np.testing.assert_allclose(world[inner, 2], 10.75 + 0.05, atol=1e-3)   # level, lifted
    np.testing.assert_allclose(layer.mesh.point_data["klass"][inner], 3.5, atol=1e-3)
    (peak,) = run_layers(run, _city(), ORIGIN, None)      # maxima: the same water
    assert peak.mesh.n_points == layer.mesh.n_points


def test_flood_layer_leaves_out_permanent_water():
    depth = np.zeros((N, N))
    depth[5:10, 5:15] = 3.0
    x, y = _centres()
    lake = gpd.GeoDataFrame(geometry=[shapely.box(x[4], y[11], x[9] + 2.0, y[3])], crs=4547)
    (layer,) = run_layers(Store({"flood": _flood(depth)}, _times(2)), _city(lake), ORIGIN, 1)
    world = np.asarray(layer.mesh.points, float) + ORIGIN
    assert world[:, 0].min() >= x[8] - 1e-6                # the cells east of the lake (+ shore)
    (unmasked,) = run_layers(Store({"flood": _flood(depth)}, _times(2)), _city(), ORIGIN, 1)
    assert unmasked.mesh.points[:, 0].min() + ORIGIN[0] < x[5]


def test_crowd_layer_lies_on_the_ground_where_people_are():
    x = X0 + 10.0 + np.arange(40) + 0.5                     # a 40 m x 40 m area of 1 m cells
    y = Y0 - 10.0 - np.arange(40) - 0.5
    density = np.zeros((2, 40, 40))
    density[1, 10:30, 10:30] = 3.0                         # a 20 m square of 3 persons/m2
    ds = xr.Dataset({"density": (("time", "y", "x"), density),
                     "peak_density": (("y", "x"), density.max(axis=0))},
                    coords={"time": [0.0, 60.0], "x": x, "y": y})
    run = Store({"crowd": ds}, _times(2))
    assert run_layers(run, _city(), ORIGIN, 0) == []
    (layer,) = run_layers(run, _city(), ORIGIN, 1)
    assert layer.name == "crowd" and layer.legend is DENSITY
    world = np.asarray(layer.mesh.points, float) + ORIGIN
    assert world[:, 0].min() > X0 + 10.0 + 10 - CELL and world[:, 0].max() < X0 + 10 + 30 + CELL
    assert world[:, 1].max() < Y0 - 20 + CELL and world[:, 1].min() > Y0 - 40 - CELL
    assert np.all(world[:, 2] > 10.0) and np.all(world[:, 2] < 11.0)    # draped, lifted
    assert np.asarray(layer.mesh.point_data["value"]).max() == pytest.approx(3.0, abs=0.01)


def _traffic(speed_ms, with_lines=True):
    x, y = _centres()
    line = np.array([[x[2], x[17], np.nan], [x[17], x[2], np.nan]])   # one road, both ways
    ly = np.full((2, 3), y[10])
    ly[:, 2] = np.nan
    ds = xr.Dataset({"speed": (("time", "link"), np.asarray(speed_ms, float)),
                     "road": ("link", np.array(["R1", "R1"], object)),
                     "direction": ("link", np.array(["forward", "backward"], object))},
                    coords={"time": [0.0, 600.0], "link": [0, 1]})
    if with_lines:
        ds["line_x"] = (("link", "vertex"), line)
        ds["line_y"] = (("link", "vertex"), ly)
    return ds


def test_traffic_lines_each_direction_on_its_right_coloured_by_speed():
    speed = [[15.0, 2.0], [10.0, 1.0]]                   # m/s: 54 and 7.2 km/h, then 36, 3.6
    run = Store({"traffic": _traffic(speed)}, _times(2))
    (layer,) = run_layers(run, _city(), ORIGIN, 0)
    assert layer.lines and layer.legend is SPEED
    world = np.asarray(layer.mesh.points, float) + ORIGIN
    kmh = np.asarray(layer.mesh.point_data["value"])
    y_road = _centres()[1][10]
    east, west = world[kmh > 50], world[kmh < 10]          # eastbound fast, westbound slow
    np.testing.assert_allclose(east[:, 1], y_road - LANE_OFFSET)   # right of eastward = south
    np.testing.assert_allclose(west[:, 1], y_road + LANE_OFFSET)
    np.testing.assert_allclose(world[:, 2], 10.0 + ROAD_LIFT)
    (worst,) = run_layers(run, _city(), ORIGIN, None)      # maxima: the lowest speeds
    np.testing.assert_allclose(sorted(set(np.round(worst.mesh.point_data["value"], 3))),
                               [3.6, 36.0])


def test_traffic_without_line_geometry_is_left_out():
    run = Store({"traffic": _traffic([[1.0, 1.0], [1.0, 1.0]], with_lines=False)}, _times(2))
    assert run_layers(run, _city(), ORIGIN, 0) == []
