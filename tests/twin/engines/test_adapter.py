"""The adapter registry: a toy engine registered only here runs on the runner's
clock and replays, with no edit anywhere else."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import twin
from geodata.errors import DataError
from simulations.engine import Engine
from twin.engines import Adapter, Outcome, adapters, register, unregister


class Tracer(Engine):
    """A tracer that ages by one second per second on a 2 x 3 grid; steps of 7 s."""

    def __init__(self, rate: float) -> None:
        self.rate, self._t, self._steps, self.seen = rate, 0.0, 0, []

    @property
    def time_s(self):
        return self._t

    def advance(self, until_s):
        until = self._check_until(until_s)
        while self._t < until:
            self._t = min(self._t + 7.0, until)
            self._steps += 1

    def state(self):
        return xr.Dataset({"age": (("y", "x"), np.full((2, 3), self._t * self.rate))})

    def result(self):
        return xr.Dataset({"steps": ((), self._steps)})

    def balance(self):
        return {"tracer": self._t * self.rate * 6, "error": 0.0}

    def stats(self):
        return {"steps": self._steps}


class TracerAdapter(Adapter):
    name = "tracer"
    order = 50
    tables = ("tracer",)
    title = "Tracer"

    @classmethod
    def parse(cls, raw, ctx):
        t = raw["tracer"]
        ctx.table(t, "tracer")
        ctx.keys(t, {"rate"}, "tracer")
        return {"rate": ctx.number(t, "rate", "tracer", default=1.0, positive=True)}

    def __init__(self, scenario, city):
        super().__init__(scenario, city)
        self._engine = Tracer(self.settings["rate"])
        self.exchanges = []

    @property
    def engine(self):
        return self._engine

    def exchange(self, others):
        self.exchanges.append((self._engine.time_s, sorted(others)))

    def finish(self, frames):
        t = frames["time"].values
        age = frames["age"].max(dim=("y", "x")).values
        kpis = pd.DataFrame({"time_s": t, "tracer_age_s": age})
        old = t[age >= 1800]
        events = pd.DataFrame({"time": [self.scenario.start + pd.Timedelta(seconds=old[0])],
                               "kind": ["tracer_old"], "severity": ["info"], "where": ["grid"],
                               "x": [0.0], "y": [0.0], "message": ["the tracer is 30 min old"]})
        return Outcome(kpis=kpis, events=events)


@pytest.fixture
def tracer():
    register(TracerAdapter)
    yield TracerAdapter
    unregister("tracer")


def scenario_file(tmp_path, city_path, body: str):
    path = tmp_path / "s.toml"
    path.write_text(f'name = "toy"\ncity = "{city_path}"\n'
                    f'start = "2024-07-05T12:00:00+08:00"\nduration = "1h"\n'
                    f'output_every = "10min"\n{body}', encoding="utf-8")
    return path


def test_flood_is_registered_by_module():
    assert "flood" in adapters()


def test_a_toy_engine_runs_on_the_clock_and_replays(tmp_path, sample_city_path, tracer):
    s = twin.load_scenario(scenario_file(tmp_path, sample_city_path, "[tracer]\nrate = 2.0\n"))
    assert list(s.engines) == ["tracer"] and s.tracer["rate"] == 2.0
    run = twin.run_scenario(s, out=tmp_path / "toy.zarr")
    run = twin.open_run(tmp_path / "toy.zarr")
    assert run.engines == ("tracer",) and run.flood is None and run.traffic is None
    np.testing.assert_allclose(run.times_s, np.arange(7) * 600.0)
    np.testing.assert_allclose(run["tracer"]["age"].max(dim=("y", "x")), np.arange(7) * 1200.0)
    np.testing.assert_allclose(run.kpis["tracer_age_s"], np.arange(7) * 1200.0)
    assert run.events["kind"].tolist() == ["tracer_old"]
    assert run.events["engine"].tolist() == ["tracer"]
    assert run.events["time"].iloc[0] == pd.Timestamp("2024-07-05T04:20:00Z")   # 1800 s of age
    prov = run.provenance["engines"]["tracer"]
    assert prov["stats"]["steps"] == int(run["tracer"]["steps"]) > 6
    assert "Engines:   tracer" in run.summary()


def test_exchange_every_adds_clock_stops_but_not_frames(tmp_path, sample_city_path, tracer):
    path = scenario_file(tmp_path, sample_city_path, 'exchange_every = "5min"\n[tracer]\n')
    run = twin.run_scenario(twin.load_scenario(path), out=tmp_path / "toy.zarr")
    assert len(run.times_s) == 7


def test_unknown_engine_table_names_the_known_ones(tmp_path, sample_city_path, tracer):
    path = scenario_file(tmp_path, sample_city_path, "[tracr]\nrate = 1.0\n")
    with pytest.raises(DataError, match=r"did you mean 'tracer'.*engines: flood.*tracer"):
        twin.load_scenario(path)


def test_a_scenario_needs_an_engine(tmp_path, sample_city_path):
    with pytest.raises(DataError, match="names no engine"):
        twin.load_scenario(scenario_file(tmp_path, sample_city_path, ""))


def test_adapter_settings_are_checked(tmp_path, sample_city_path, tracer):
    path = scenario_file(tmp_path, sample_city_path, "[tracer]\nrate = -1\n")
    with pytest.raises(DataError, match="tracer.rate.*positive"):
        twin.load_scenario(path)
