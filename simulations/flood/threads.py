"""How many threads a flood run uses, and how idle threads wait.

Two things keep a loaded machine from costing more than one thread does:

- OpenMP threads that wait between the parallel loops of a step sleep
  instead of spinning (``OMP_WAIT_POLICY=PASSIVE``, set by :mod:`simulations`
  before numba starts its thread pool): with a spinning team, 2 threads on a
  machine whose other core is busy ran the engine five times slower than 1
  thread did.
- :func:`threads_for` falls back to 1 thread when the load average shows no
  free core for a second one (the engine's own threads of its last call are
  not counted).

Examples
--------
>>> from simulations.flood.threads import threads_for
>>> threads_for(1)
1
"""
from __future__ import annotations

import os

__all__ = ["threads_for"]

_last = {"threads": 0}


def threads_for(available: int) -> int:
    """Threads for the next :meth:`~simulations.flood.FloodModel.advance` out of ``available``.

    ``available`` when a core is free for each, else 1.

    Examples
    --------
    >>> threads_for(2) in (1, 2)
    True
    """
    n = max(int(available), 1)
    if n > 1:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
        cores = os.cpu_count() or n
        if load - _last["threads"] > cores - 0.5:
            n = 1
    _last["threads"] = n
    return n
