"""What water, closures and incidents do to the links: speed and capacity factors.

The speed on a flooded road follows the depth-disruption curve of Pregnolato
et al. (2017, Transportation Research Part D 55, 67-81)::

    v(w) = 0.0009 w^2 - 0.5529 w + 86.9448   (km/h, w = depth in mm)

taken as a ratio to ``v(0)``; the curve's minimum is near 300 mm (about
2 km/h), where vehicles no longer pass, so the factor is held at that minimum
beyond it and the road closes (capacity factor 0) from the closure depth on.
A closed road reopens as soon as the water falls below the closure depth.

Examples
--------
>>> [round(float(f), 3) for f in pregnolato_factor([0.0, 0.1, 0.2])]
[1.0, 0.468, 0.142]
"""
from __future__ import annotations

import numpy as np

__all__ = ["pregnolato_factor", "link_factors"]

_A, _B, _C = 0.0009, -0.5529, 86.9448
_W_MIN = -_B / (2 * _A)          # mm: the curve's minimum (~307 mm)


def pregnolato_factor(depth_m) -> np.ndarray:
    """Speed on a road under ``depth_m`` of water as a share of the dry speed (0..1)."""
    w = np.clip(np.asarray(depth_m, float) * 1000.0, 0.0, _W_MIN)
    return np.clip((_A * w ** 2 + _B * w + _C) / _C, 0.0, 1.0)


def link_factors(link_roads: np.ndarray, depth_by_road, closed_depth_m: float,
                 fixed_closed: np.ndarray, incidents, time_s: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Speed and capacity factors of every link at ``time_s``.

    Parameters
    ----------
    link_roads : numpy.ndarray
        Road id of each link.
    depth_by_road : pandas.Series or None
        Current water depth (m) by road id (flood), None without flood.
    closed_depth_m : float
        Depth from which a road is closed.
    fixed_closed : numpy.ndarray
        Bool per link: closed by the scenario for the whole run.
    incidents : sequence of Incident
    time_s : float

    Returns
    -------
    (speed, capacity) : numpy.ndarray
        Factors per link; a capacity factor of 0 closes the link.
    """
    n = link_roads.size
    speed, cap = np.ones(n), np.ones(n)
    if depth_by_road is not None and len(depth_by_road):
        depth = depth_by_road.reindex(link_roads).fillna(0.0).to_numpy(float)
        speed = pregnolato_factor(depth)
        cap[depth >= closed_depth_m] = 0.0
    for inc in incidents:
        if inc.start_s <= time_s < inc.end_s:
            on = link_roads == inc.road
            cap[on] = np.minimum(cap[on], inc.capacity)
    cap[fixed_closed] = 0.0
    return speed, cap
