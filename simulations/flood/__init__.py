"""Flood engine: a numba 2-D local-inertial shallow-water solver on raster grids.

:class:`FloodModel` takes plain arrays (no City needed) and follows the engine
contract of :mod:`simulations.engine`; :mod:`.faces` and :mod:`.kernels` hold
the numba kernels, :mod:`.forcing` the checked forcing series, :func:`hazard`
the hazard rating shared with the twin and :class:`FloodStallError` the error
of a run that cannot go on.

Examples
--------
>>> import numpy as np
>>> from simulations.flood import FloodModel
>>> m = FloodModel(np.zeros((10, 10)), 1.0, dtype="float64")
>>> m.set_rainfall([0], [36.0])
>>> float(m.run(100, 100).depth.mean().round(6))      # 36 mm/h for 100 s = 1 mm
0.001
"""
from .hazard import SPEED_DEPTH, hazard
from .model import EDGES, FloodModel
from .stall import FloodStallError

__all__ = ["FloodModel", "EDGES", "FloodStallError", "SPEED_DEPTH", "hazard"]
