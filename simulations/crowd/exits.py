"""Exits: the named target areas of a crowd, as one integer label grid.

An exit is given as a boolean mask (each 8-connected patch becomes one exit,
named ``0, 1, ...`` from north-west to south-east), an integer label grid
(0 = no exit, each other label its own exit, named by the label) or a dict
``name -> mask``. :func:`exit_labels` turns any of these into labels ``1..K``
and the list of ``K`` names.

Examples
--------
>>> import numpy as np
>>> m = np.zeros((3, 6), bool); m[0, 0] = m[2, 5] = True
>>> labels, names = exit_labels(m, (3, 6))
>>> names, int(labels[0, 0]), int(labels[2, 5])
([0, 1], 1, 2)
>>> exit_labels({"north": m}, (3, 6))[1]
['north']
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import ndimage

__all__ = ["exit_labels"]


def _mask(value, shape, what: str) -> np.ndarray:
    a = np.asarray(value)
    if a.shape != tuple(shape):
        raise ValueError(f"CrowdModel: {what} has shape {a.shape}, the walkable grid is "
                         f"{tuple(shape)}; give one value per cell")
    if a.dtype != bool:
        raise ValueError(f"CrowdModel: {what} must be a boolean mask (got dtype {a.dtype})")
    return a


def exit_labels(exits, shape: tuple[int, int]) -> tuple[np.ndarray, list]:
    """Integer labels (0 = none, k = ``names[k - 1]``) and the exit names.

    Parameters
    ----------
    exits : ndarray of bool or int, or dict of name -> bool ndarray
        See the module docstring.
    shape : (int, int)
        The grid's shape.

    Raises
    ------
    ValueError
        Naming ``exits`` when the shape or type is wrong, masks overlap or no
        exit cell is given.
    """
    labels = np.zeros(shape, np.int32)
    if isinstance(exits, Mapping):
        names = list(exits)
        for k, name in enumerate(names, start=1):
            m = _mask(exits[name], shape, f"exits[{name!r}]")
            if not m.any():
                raise ValueError(f"CrowdModel: exits[{name!r}] has no cell; mark the cells "
                                 f"of that exit or leave it out")
            if (labels[m] > 0).any():
                raise ValueError(f"CrowdModel: exits[{name!r}] overlaps an earlier exit; "
                                 f"give each cell to one exit")
            labels[m] = k
    else:
        a = np.asarray(exits)
        if a.shape != tuple(shape):
            raise ValueError(f"CrowdModel: exits has shape {a.shape}, the walkable grid is "
                             f"{tuple(shape)}; give one value per cell")
        if a.dtype == bool:
            labels, k = ndimage.label(a, structure=np.ones((3, 3), int))
            labels = labels.astype(np.int32)
            names = list(range(k))
        elif np.issubdtype(a.dtype, np.integer):
            if (a < 0).any():
                raise ValueError("CrowdModel: exits labels must be >= 0 (0 = no exit)")
            uniq = np.unique(a[a > 0])
            names = [int(u) for u in uniq]
            labels = np.searchsorted(uniq, a).astype(np.int32) + 1
            labels[a == 0] = 0
        else:
            raise ValueError(f"CrowdModel: exits must be a bool mask, an int label grid or a "
                             f"dict of name -> mask (got dtype {a.dtype})")
    if not names or not (labels > 0).any():
        raise ValueError("CrowdModel: exits has no exit cell; mark at least one cell where "
                         "people leave")
    return labels, names
