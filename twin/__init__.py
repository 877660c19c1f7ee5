"""The city twin: the city model, scenarios, runs and their replay.

Examples
--------
>>> import twin
>>> city = twin.load_city("data_samples/ezhou/city.toml")          # doctest: +SKIP
>>> scenario = twin.load_scenario("data_samples/ezhou/scenarios/demo.toml")  # doctest: +SKIP
>>> run = twin.run_scenario(scenario, out="runs/demo.zarr")        # doctest: +SKIP
>>> run = twin.open_run("runs/demo.zarr")                          # doctest: +SKIP
"""
from __future__ import annotations

import importlib

__all__ = ["City", "load_city", "save_city", "Scenario", "load_scenario", "run_scenario",
           "Run", "open_run", "run_ensemble", "open_ensemble", "open_store"]

# Public names are imported on first use so that `import twin` stays light.
_WHERE = {"City": "twin.city", "load_city": "twin.manifest", "save_city": "twin.manifest",
          "Scenario": "twin.scenario", "load_scenario": "twin.scenario",
          "run_scenario": "twin.runner", "Run": "twin.replay", "open_run": "twin.replay",
          "run_ensemble": "twin.ensemble", "open_ensemble": "twin.ensemble",
          "open_store": "twin.sensors"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
