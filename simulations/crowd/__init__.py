"""Crowd engine: people walking to exits, collision-free speed model on a grid.

:class:`CrowdModel` takes plain arrays (a walkable grid, exits, positions in
metres); :mod:`.kernels` holds the numba step, :mod:`.floorfield` the
fast-marching navigation field, :mod:`.exits` the exit labelling and
:mod:`.population` the desired-speed distributions and :mod:`.wading` the
slower walking in standing water.

Examples
--------
>>> import numpy as np
>>> from simulations.crowd import CrowdModel
>>> walk = np.ones((20, 20), bool); doors = np.zeros((20, 20), bool); doors[0, 8:12] = True
>>> m = CrowdModel(walk, 0.5, doors, seed=1)
>>> ids = m.add_agents([2.0, 8.0], [1.0, 3.0])
>>> m.advance(30.0); m.balance()["exited"]
2
"""
from .model import CrowdModel
from .population import SPEED_GROUPS, desired_speeds
from .wading import wading_speed_factor

__all__ = ["CrowdModel", "desired_speeds", "SPEED_GROUPS", "wading_speed_factor"]
