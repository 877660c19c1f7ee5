"""The traffic adapter end to end on the sample district: a short calibrated run through
twin.run_scenario and open_run, closures, and the flood exchange from hand-made depths."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import twin
from geodata.errors import DataError
from twin.engines.traffic import TrafficAdapter
from twin.engines.traffic.disruption import pregnolato_factor

CLOSED = "R00661"        # Wuchang-side arterial piece counted by TC01


def scenario_file(tmp_path, city, body, duration="10min"):
    path = tmp_path / "rh.toml"
    path.write_text(f'name = "short rush"\ncity = "{city}"\n'
                    f'start = "2024-07-05T08:00:00+08:00"\nduration = "{duration}"\n'
                    f'output_every = "5min"\n[traffic]\n{body}', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def city(sample_city_path):
    return twin.load_city(sample_city_path)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_short_rush_hour_runs_and_replays(tmp_path, sample_city_path, city):
    body = f'warmup = "5min"\nclosures = ["{CLOSED}"]\n'
    s = twin.load_scenario(scenario_file(tmp_path, sample_city_path, body))
    run = twin.run_scenario(s, out=tmp_path / "rh.zarr", city=city)
    run = twin.open_run(tmp_path / "rh.zarr")
    assert run.engines == ("traffic",) and run.status == "complete"
    tr = run.traffic
    n = tr.sizes["link"]
    assert tr["flow"].shape == (3, n) and tr["line_x"].shape[0] == n
    roads = tr["road"].values.astype(object).astype(str)
    assert set(roads) == set(city.roads["id"])              # every road has its links
    closed = roads == CLOSED
    assert closed.sum() == 2
    np.testing.assert_array_equal(tr["capacity_factor"].values[:, closed], 0.0)
    np.testing.assert_array_equal(tr["entered"].values[closed], 0.0)   # nobody drove on it
    k = run.kpis
    assert {"vehicles_on_network", "mean_speed_kmh", "total_delay_veh_h", "links_congested",
            "links_closed", "trips_arrived"} <= set(k)
    assert (k["links_closed"] == 2).all()
    assert k["vehicles_on_network"].iloc[0] > 100              # loaded by the warm-up
    assert np.all(np.diff(k["trips_arrived"]) > 0)
    assert 5 < k["mean_speed_kmh"].iloc[-1] < 60
    bal = run.provenance["engines"]["traffic"]["balance"]
    assert abs(bal["error"]) < 1e-6 * bal["demanded"]
    fit = xr.open_zarr(run.path, group="traffic_fit", consolidated=False)
    assert fit.sizes["counter"] == 16
    # the fit brings the counters closer to their readings than the gravity prior
    assert np.nanmedian(fit["geh_fit"]) < np.nanmedian(fit["geh_prior"])
    trips = xr.open_zarr(run.path, group="traffic_trips", consolidated=False)
    assert trips["count"].sum() > 0 and all(str(z)[0] in "ZX" for z in trips["origin"].values[:50])
    assert "Traffic:" in run.summary() and "Counters:" in run.summary()
    assert list(run.events.columns)[:3] == ["time", "kind", "severity"]


class HandMadeFlood:
    """Water depth along roads as the flood adapter offers it (``road_depth_m``)."""

    def __init__(self, depth: dict):
        self.depth = pd.Series(depth, name="depth_m")

    def road_depth_m(self) -> pd.Series:
        return self.depth


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_flood_depth_slows_closes_and_reopens_roads(tmp_path, sample_city_path, city):
    s = twin.load_scenario(scenario_file(tmp_path, sample_city_path,
                                         'warmup = "0s"\nclosed_depth_m = 0.25\n'))
    a = TrafficAdapter(s, city)
    roads = a.net.links["road"].to_numpy(str)
    a.exchange({"flood": HandMadeFlood({"R00661": 0.4})})
    m = a.engine
    np.testing.assert_array_equal(m.capacity_factor[roads == "R00661"], 0.0)
    assert np.all(m.capacity_factor[roads != "R00661"] == 1.0)
    a.advance(300.0)
    entered = m.result()["entered"].values
    assert entered[roads == "R00661"].sum() == 0 and entered.sum() > 0
    a.exchange({"flood": HandMadeFlood({"R00661": 0.2})})       # below 0.25 m: open, slow
    assert np.all(m.capacity_factor == 1.0)
    np.testing.assert_allclose(m.speed_factor[roads == "R00661"], pregnolato_factor(0.2))
    a.exchange({"flood": HandMadeFlood({})})                     # drained
    assert np.all(m.speed_factor == 1.0)
    a.advance(900.0)                       # routes follow speeds at the next re-routing (600 s)
    assert m.result()["entered"].values[roads == "R00661"].sum() > 0
    a.exchange({"flood": HandMadeFlood({"R00111": 0.1})})
    np.testing.assert_allclose(m.speed_factor[roads == "R00111"], pregnolato_factor(0.1))
    assert np.all(m.speed_factor[roads != "R00111"] == 1.0)


def test_an_unknown_closure_road_is_a_data_error(tmp_path, sample_city_path, city):
    s = twin.load_scenario(scenario_file(tmp_path, sample_city_path,
                                         'closures = ["R0661"]\n'))
    with pytest.raises(DataError, match=r"traffic.closures.*'R0661'.*did you mean"):
        TrafficAdapter(s, city)
