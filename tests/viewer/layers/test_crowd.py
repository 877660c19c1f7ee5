"""The crowd layer on a real egress run of the hand-made venue (tests/twin/engines/crowd):
density classes on the grid and the map, exits and their counts, KPIs, what-ifs."""
from __future__ import annotations

import numpy as np
import pytest

import twin
from scenes.meshes import city_scene
from tests.twin.engines.crowd.conftest import X0, Y0, scenario_text, venue_city
from twin.scenario import parse_scenario
from viewer import palette
from viewer.layers import layer_class
from viewer.layers.crowd import (DENSITY_BREAKS, DENSITY_COLORS, EXIT_COLOR, LIFT_M, CrowdLayer,
                                 crowd_changes)
from viewer.viewmodel import ViewModel

CROWD = ('area = "venue"\nradius_m = 60.0\ncell_size = 1.0\nexits = ["edges"]\n'
         'premovement = 0\nattendance = 2000\n')


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    folder = tmp_path_factory.mktemp("venue")
    city = venue_city(folder)
    s = parse_scenario(scenario_text(folder, CROWD, duration="3min"), source=folder / "s.toml")
    twin.run_scenario(s, out=folder / "egress.zarr", city=city)
    run = twin.open_run(folder / "egress.zarr")
    return ViewModel(city, city_scene(city), run).layers["crowd"]


def test_the_crowd_layer_is_found_by_the_engine_name(crowd):
    assert layer_class("crowd") is CrowdLayer and isinstance(crowd, CrowdLayer)


def test_cells_take_their_density_class_and_exits_their_colour(crowd):
    d = crowd.data["density"].isel(time=0).to_numpy()
    shown, level, rgb = crowd.surface_frame(0)
    exits = crowd.data["exit_cells"].to_numpy() > 0
    assert shown.sum() == ((d > 0) | exits).sum() and (d > 0).sum() > 100
    rgb = rgb.reshape(*d.shape, 3)
    for r, c in np.argwhere((d > 0) & ~exits)[::97]:        # a sample of occupied cells
        k = int(np.searchsorted(DENSITY_BREAKS, d[r, c], side="right"))
        assert rgb[r, c].tolist() == list(DENSITY_COLORS[k])
    assert (rgb[exits] == EXIT_COLOR).all()
    # occupied cells float LIFT_M over the flat ground at 10 m (local heights)
    r, c = np.argwhere((d > 0) & ~exits)[0]
    z = level[r, c] + crowd.model.origin[2]
    assert z == pytest.approx(10.0 + LIFT_M, abs=1e-6)


def test_the_map_image_classes_density_south_up(crowd):
    img, (x, y, w, h), pal = crowd.map_image(0)
    d = crowd.data["density"].isel(time=0).to_numpy()
    assert len(pal) == len(DENSITY_COLORS) + 2 and pal[0].endswith("00")
    assert img.shape == d.shape and (x, y, w, h) == (X0, Y0 - 120, 120.0, 120.0)
    occupied = (img[::-1] >= 1) & (img[::-1] <= len(DENSITY_COLORS))
    exits = crowd.data["exit_cells"].to_numpy() > 0
    np.testing.assert_array_equal(occupied, (d > 0) & ~exits)


def test_kpis_are_the_runs_and_each_exit_has_its_count(crowd):
    run, last = crowd.model.run, crowd.model.n_frames - 1
    values = crowd.kpi_values(last)
    for key in ("people_inside", "people_evacuated", "peak_density_pm2", "area_over_density_m2"):
        assert values[key] == pytest.approx(float(run.kpis[key].iloc[last]))
    exits = {k: v for k, v in values.items() if k.startswith("exited:")}
    assert set(exits) == {f"exited:{e}" for e in crowd.data["exit"].values}
    assert sum(exits.values()) == values["people_evacuated"]     # every person out by one exit
    assert {k.key for k in crowd.kpis} >= set(exits)
    assert values["peak_density_pm2"] == pytest.approx(
        float(crowd.data["density"].isel(time=last).max()), rel=1e-5)


def test_legend_has_units_and_marks_the_alert_density(crowd):
    density = next(lg for lg in crowd.legends("use") if lg.key == "crowd-density")
    labels = [label for label, _ in density.classes]
    assert density.unit == "persons/m²" and all("persons/m²" in lab for lab in labels)
    assert labels[4].startswith("4–6") and "alert" in labels[4] and "alert" not in labels[3]
    assert all(palette.contrast(c) >= 3.0 for c in DENSITY_COLORS + (EXIT_COLOR,))


def test_a_pick_tells_density_and_exit_counts(crowd):
    ys, xs = crowd.data["y"].to_numpy(), crowd.data["x"].to_numpy()
    south = crowd.feature_at(float(xs[60]), float(ys[-1]), 2)
    out = crowd.exit_counts(2)["edge_south"]
    assert "edge south" in south and f"{out:,.0f} people out" in south and out > 0
    assert crowd.feature_at(X0 - 50, Y0, 0) == ""
    assert "2,000 attending" in crowd.building_info(0, 2) and crowd.building_info(1, 2) == ""


def test_whatif_controls_give_valid_scenarios(crowd):
    s = crowd.model.run.scenario
    controls = {c.widget.label: c for c in crowd.whatif_controls(s)}
    assert controls["Close exits"].changes() == {} and controls["Attendance"].changes() == {}
    controls["Close exits"].widget.value = ["edge_south"]
    controls["Attendance"].widget.value = 5000
    changes = {**controls["Close exits"].changes(), **controls["Attendance"].changes()}
    assert changes == {"close_exits": ["edge_south"], "attendance": 5000.0}
    cfg = s.with_changes(**changes).engines["crowd"]
    assert cfg.closed_exits == ("edge_south",) and cfg.attendance == 5000.0
    assert crowd_changes(None, attendance=3) == {} and crowd.whatif_controls(None) == []
