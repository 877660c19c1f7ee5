"""How many threads a flood run uses.

Examples
--------
>>> from simulations.flood.threads import threads_for
>>> threads_for(1)
1
"""
from __future__ import annotations

__all__ = ["threads_for"]


def threads_for(available: int) -> int:
    """Threads for the next :meth:`~simulations.flood.FloodModel.advance` out of ``available``."""
    return max(int(available), 1)
