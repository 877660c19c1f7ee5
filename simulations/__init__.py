"""The numerical engines (flood, traffic, crowd) on plain arrays, and their contract.

Importing the package asks OpenMP threads that wait between the parallel loops
of a step to sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``, unless the
environment says otherwise), before numba starts its thread pool: with a
spinning team, two threads on a machine whose other core was busy ran the flood
and crowd engines several times slower than one thread did.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
