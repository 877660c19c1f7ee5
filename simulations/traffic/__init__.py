"""Traffic engine: a link transmission model with a first-order node model and routing.

:class:`RoadNetwork` holds the directed links and their triangular diagrams,
:class:`TrafficModel` the state and the run (engine contract);
:mod:`.kernels` holds the numba link and node kernels, :mod:`.routing` the
shortest-time and turn-share kernels, :mod:`.demand` the trips.

Examples
--------
>>> from simulations.traffic import RoadNetwork, TrafficModel
>>> m = TrafficModel(RoadNetwork([0, 1], [1, 2], 250.0, 12.5, 1), dt_s=1.0)
>>> m.add_demand(0, 2, 0.0, 100.0, 0.1)
>>> _ = m.run(200.0, 100.0)
>>> round(m.balance()["arrived"], 9)
10.0
"""
from .model import TrafficModel
from .network import RoadNetwork

__all__ = ["RoadNetwork", "TrafficModel"]
