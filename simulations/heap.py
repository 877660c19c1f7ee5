"""A binary min-heap on two preallocated arrays, for numba kernels (Dijkstra, fast marching).

``keys`` (priorities) and ``vals`` (payloads) hold ``size`` entries; :func:`push`
and :func:`pop` return the new size. Stale entries are the caller's to skip.

Examples
--------
>>> import numpy as np
>>> k, v = np.zeros(4), np.zeros(4, np.int64)
>>> n = push(k, v, 0, 3.0, 30); n = push(k, v, n, 1.0, 10); n = push(k, v, n, 2.0, 20)
>>> pop(k, v, n)[:2]
(1.0, 10)
"""
from __future__ import annotations

from numba import njit

__all__ = ["push", "pop"]


@njit(cache=True, inline="always")
def push(keys, vals, size, key, val):
    """Add ``(key, val)``; returns the new size."""
    i = size
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return size + 1


@njit(cache=True, inline="always")
def pop(keys, vals, size):
    """Remove the smallest key; returns ``(key, val, new size)``."""
    key, val = keys[0], vals[0]
    size -= 1
    keys[0] = keys[size]
    vals[0] = vals[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        vals[child], vals[i] = vals[i], vals[child]
        i = child
    return key, val, size
