"""Travel demand from the city itself: zones, trip ends, a gravity model and a daily profile.

- **Zones**: the buildings are grouped on a square grid (``zone_size_m``,
  500 m by default); each zone with residents or jobs is one zone, tied to
  the network node of the largest strongly connected part nearest to its
  activity-weighted centre (its *connector*, where its trips end). Zones
  sharing a connector merge. Trips start from the ``origins_per_zone``
  core nodes nearest to the centre, so that one junction does not have to
  carry a whole zone's departures.
- **Gateways** (external zones ``X01``...): where an arterial leaves the
  network (:meth:`CityNetwork.gateways`); each produces and attracts an equal
  part of :data:`EXTERNAL_SHARE` of all trip ends (traffic from, to and
  through the district); the counters then scale them.
- **Productions** are residents (``population`` of residential buildings)
  times :data:`TRIPS_PER_RESIDENT` car trips per day.
- **Attractions** are job weights: floor area (footprint x storeys) times a
  weight per use (:data:`ATTRACTION_WEIGHTS`), scaled to the productions.
- **Gravity** (production constrained): ``T_ij = P_i A_j f_ij / sum_j A_j f_ij``
  with ``f_ij = exp(-beta t_ij)``, ``t_ij`` the free-flow time (min) between
  connectors; no trips within a zone.
- **Profile**: the share of the daily trips in each local hour
  (:data:`PROFILES`: ``weekday`` with a morning peak at 07-09 and an evening
  peak at 17-19, ``weekend``, or 24 shares of one's own).

Examples
--------
>>> od = gravity([100.0, 50.0], [1.0, 1.0], np.array([[0.0, 5.0], [5.0, 0.0]]), beta=0.1)
>>> od.sum(axis=1).tolist()                   # production constrained
[100.0, 50.0]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["TRIPS_PER_RESIDENT", "EXTERNAL_SHARE", "ATTRACTION_WEIGHTS", "PROFILES", "Zones", "city_zones",
           "free_flow_times", "gravity", "profile_rate"]

TRIPS_PER_RESIDENT = 0.6
"""Car trips per resident per day (about 2.3 person trips a day, a quarter of them by car;
the counters steer the total)."""

EXTERNAL_SHARE = 0.25
"""Share of all trip ends at the gateways (before calibration)."""

ATTRACTION_WEIGHTS = {"office": 1.0, "commercial": 0.8, "industrial": 0.4, "school": 0.6,
                      "hospital": 1.0, "station": 1.5, "stadium": 0.2, "public": 0.5,
                      "residential": 0.05}
"""Trip attraction per m2 of floor area, relative to offices (residential: visits)."""

_WEEKDAY = [0.4, 0.25, 0.2, 0.2, 0.4, 1.2, 4.0, 8.5, 8.8, 5.5, 4.8, 5.0,
            5.2, 5.0, 5.0, 5.4, 6.5, 8.5, 8.0, 5.0, 3.8, 3.0, 2.0, 1.1]
_WEEKEND = [0.8, 0.5, 0.3, 0.3, 0.4, 0.8, 1.8, 3.2, 4.8, 6.2, 7.2, 7.6,
            7.2, 6.8, 6.6, 6.6, 6.8, 6.6, 5.6, 4.4, 3.4, 2.6, 1.9, 1.2]
PROFILES = {"weekday": np.array(_WEEKDAY) / sum(_WEEKDAY),
            "weekend": np.array(_WEEKEND) / sum(_WEEKEND)}
"""Share of the daily trips departing in each local hour 0..23."""


@dataclass
class Zones:
    """Traffic zones of a city.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per zone: ``zone`` (``"Z01"``..., gateways ``"X01"``...),
        ``kind`` (``"internal"`` or ``"external"``), ``node`` (connector),
        ``x``, ``y`` (activity centre), ``residents``, ``productions``,
        ``attractions`` (trips per day).
    """

    table: pd.DataFrame
    origins: np.ndarray | None = None

    @property
    def origin_nodes(self) -> np.ndarray:
        """``(n_zones, k)`` nodes the zone's trips start from (its connector first);
        a zone's productions are shared equally between them."""
        if self.origins is None:
            return self.nodes[:, None]
        return self.origins

    @property
    def nodes(self) -> np.ndarray:
        """Connector node of each zone."""
        return self.table["node"].to_numpy(np.int64)

    def __len__(self) -> int:
        return len(self.table)


def _job_weight(buildings) -> np.ndarray:
    use = buildings["use"].fillna("").astype(str) if "use" in buildings else \
        pd.Series("", index=buildings.index)
    storeys = (pd.to_numeric(buildings["storeys"], errors="coerce").fillna(1.0).clip(lower=1)
               if "storeys" in buildings else 1.0)
    area = shapely.area(buildings.geometry.values) * np.asarray(storeys, float)
    return area * use.map(ATTRACTION_WEIGHTS).fillna(0.0).to_numpy(float)


def _residents(buildings) -> np.ndarray:
    if "population" not in buildings:
        return np.zeros(len(buildings))
    pop = pd.to_numeric(buildings["population"], errors="coerce").fillna(0.0).to_numpy(float)
    if "use" in buildings:
        pop = np.where(buildings["use"].astype(str) == "residential", pop, 0.0)
    return np.clip(pop, 0.0, None)


def city_zones(buildings, nodes: np.ndarray, core: np.ndarray, *, zone_size_m: float = 500.0,
               trips_per_resident: float = TRIPS_PER_RESIDENT, gateways=(),
               external_share: float = EXTERNAL_SHARE, origins_per_zone: int = 4) -> Zones:
    """Zones from the buildings on a ``zone_size_m`` grid, tied to the ``core`` nodes,
    plus one external zone per gateway node.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        ``use``, ``population``, ``storeys`` (optional), footprint ``geometry``.
    nodes : numpy.ndarray
        ``(n_nodes, 2)`` node coordinates.
    core : numpy.ndarray
        Bool per node: nodes that may be connectors.
    zone_size_m : float
        Side of the grid squares (m).
    trips_per_resident : float
        Car trips per resident per day.
    gateways : sequence of int
        Gateway nodes (external zones).
    external_share : float
        Share of all trip ends at the gateways.
    origins_per_zone : int
        Core nodes an internal zone's trips start from (gateways: one).

    Returns
    -------
    Zones
        Attractions are scaled so that their total equals the productions.
    """
    xy = shapely.get_coordinates(shapely.centroid(buildings.geometry.values))
    res, jobs = _residents(buildings), _job_weight(buildings)
    keep = (res > 0) | (jobs > 0)
    xy, res, jobs = xy[keep], res[keep], jobs[keep]
    if not keep.any() or res.sum() <= 0:
        return Zones(pd.DataFrame(columns=["zone", "kind", "node", "x", "y", "residents",
                                           "productions", "attractions"]))
    cell = np.floor((xy - xy.min(axis=0)) / zone_size_m).astype(np.int64)
    key = cell[:, 0] * 100000 + cell[:, 1]
    _, zone = np.unique(key, return_inverse=True)
    weight = res / res.sum() + jobs / max(jobs.sum(), 1e-12)
    w = np.bincount(zone, weight)
    cx = np.bincount(zone, weight * xy[:, 0]) / w
    cy = np.bincount(zone, weight * xy[:, 1]) / w
    core_idx = np.flatnonzero(core)
    near = core_idx[np.argmin(np.hypot(nodes[core_idx, 0][None] - cx[:, None],
                                       nodes[core_idx, 1][None] - cy[:, None]), axis=1)]
    table = pd.DataFrame({"node": near, "x": cx * w, "y": cy * w, "w": w,
                          "residents": np.bincount(zone, res),
                          "jobs": np.bincount(zone, jobs)}).groupby("node", sort=True).sum()
    table["x"] /= table["w"]
    table["y"] /= table["w"]
    prod = table["residents"].to_numpy() * trips_per_resident
    attr = table["jobs"].to_numpy()
    attr = attr / attr.sum() * prod.sum() if attr.sum() > 0 else prod.copy()
    out = pd.DataFrame({"zone": [f"Z{i + 1:02d}" for i in range(len(table))],
                        "kind": "internal", "node": table.index.to_numpy(np.int64),
                        "x": table["x"].to_numpy(), "y": table["y"].to_numpy(),
                        "residents": table["residents"].to_numpy(),
                        "productions": prod, "attractions": attr})
    gw = np.setdiff1d(np.asarray(gateways, np.int64), out["node"].to_numpy())
    if gw.size and 0 < external_share < 1:
        each = prod.sum() * external_share / (1 - external_share) / gw.size
        ext = pd.DataFrame({"zone": [f"X{i + 1:02d}" for i in range(gw.size)],
                            "kind": "external", "node": gw, "x": nodes[gw, 0],
                            "y": nodes[gw, 1], "residents": 0.0, "productions": each,
                            "attractions": each})
        out = pd.concat([out, ext], ignore_index=True)
    return Zones(out, _origins(out, nodes, core_idx, origins_per_zone))


def _origins(table: pd.DataFrame, nodes: np.ndarray, core_idx: np.ndarray, k: int
             ) -> np.ndarray:
    """The ``k`` core nodes nearest to each internal zone's centre (connector first);
    gateways start only from their own node."""
    k = max(1, min(int(k), core_idx.size))
    out = np.repeat(table["node"].to_numpy(np.int64)[:, None], k, axis=1)
    inner = np.flatnonzero((table["kind"] == "internal").to_numpy())
    if inner.size and k > 1:
        d = np.hypot(nodes[core_idx, 0][None] - table["x"].to_numpy()[inner, None],
                     nodes[core_idx, 1][None] - table["y"].to_numpy()[inner, None])
        own = table["node"].to_numpy(np.int64)[inner]
        d[core_idx[None, :] == own[:, None]] = np.inf          # the connector comes first
        out[inner, 1:] = core_idx[np.argsort(d, axis=1)[:, :k - 1]]
    return out


def free_flow_times(net, nodes: np.ndarray) -> np.ndarray:
    """Free-flow travel time (s) between the given nodes, ``(n, n)`` (inf if no path).

    Parallel links between one pair of nodes count by their fastest.
    """
    t = net.free_time_s
    g = coo_matrix((t, (net.upstream, net.downstream)), shape=(net.n_nodes, net.n_nodes))
    g = _min_duplicates(g)
    return dijkstra(g, directed=True, indices=np.asarray(nodes))[:, np.asarray(nodes)]


def _min_duplicates(g: coo_matrix):
    """CSR graph keeping the smallest weight of duplicate edges (coo sums them)."""
    df = pd.DataFrame({"r": g.row, "c": g.col, "w": g.data}).groupby(["r", "c"]).w.min()
    r, c = (df.index.get_level_values(k).to_numpy() for k in (0, 1))
    return coo_matrix((df.to_numpy(), (r, c)), shape=g.shape).tocsr()


def gravity(productions, attractions, times_min: np.ndarray, *, beta: float = 0.1
            ) -> np.ndarray:
    """Production-constrained gravity model: trips ``(origin, destination)``.

    Parameters
    ----------
    productions, attractions : array_like
        Trip ends per zone.
    times_min : numpy.ndarray
        ``(n, n)`` free-flow times (min); ``inf`` where there is no path.
    beta : float
        Deterrence ``exp(-beta t)`` per minute.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` trips, zero on the diagonal; each row sums to its production
        (zero where a zone reaches no other zone).
    """
    p = np.asarray(productions, float)
    a = np.asarray(attractions, float)
    f = np.exp(-beta * np.asarray(times_min, float)) * a[None, :]
    np.fill_diagonal(f, 0.0)
    f[~np.isfinite(times_min)] = 0.0
    s = f.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, p[:, None] * f / s, 0.0)


def profile_rate(profile: np.ndarray, start: pd.Timestamp, t0_s: float, t1_s: float
                 ) -> list[tuple[float, float, float]]:
    """Pieces of ``[t0_s, t1_s)`` within one local hour and the share per second in each.

    Returns
    -------
    list of (start_s, end_s, share_per_s)
        ``share_per_s`` is the hour's share of the daily trips divided by 3600.

    Examples
    --------
    >>> p = PROFILES["weekday"]
    >>> [round(a) for a, b, r in profile_rate(p, pd.Timestamp("2024-07-05T07:30+08:00"), 0, 3600)]
    [0, 1800]
    """
    out = []
    t = t0_s
    offset = (start - start.normalize()).total_seconds()
    while t < t1_s - 1e-9:
        local = offset + t
        hour = int(local // 3600) % 24
        nxt = min(t1_s, t + 3600.0 - local % 3600.0)
        out.append((t, nxt, float(profile[hour]) / 3600.0))
        t = nxt
    return out
