"""Steering the demand by the traffic counters.

- :func:`match_counters` ties each counter (``kind == "traffic_counter"``) to
  the nearest road within ``max_m``; a counter stands at a junction, so ties
  go to the higher road class (arterial, collector, local), then the road
  that goes on at its far end (more roads meet there: a through road, not a
  stub), then the road whose midpoint is nearest. **A reading is taken as the two-way flow of
  that road** (veh/h, both directions summed): the counts (up to ~3,500 veh/h)
  exceed what one direction of a local or collector road carries.
- :func:`path_incidence`: which counters each origin-destination pair passes on
  its free-flow shortest path.
- :func:`fit_od` scales the prior OD matrix to the counts: one global factor,
  then regularised non-negative least squares per OD pair (scipy
  ``lsq_linear``) in GEH-like units, ``min sum_k (m_k - c_k)^2 / c_k +
  strength * sum_p x_p (s_p - 1)^2``.
- :class:`Calibrator` nudges, during a run, the OD pairs crossing a counter
  by the clipped ratio of reading to model (an integral controller with gain).
- :func:`reading_shape`: the counters' time shape over the period (each
  counter's reading per interval over its period mean, averaged over the
  counters), so that the demand rises and falls within the period as the
  counts do (an hourly profile cannot place a peak at 08:00 and its fall by
  09:00).
- :func:`geh` is the GEH statistic.

Examples
--------
>>> round(float(geh(1100.0, 1000.0)), 2)
3.09
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import shapely
from scipy.optimize import lsq_linear
from scipy.sparse import coo_matrix, csr_matrix, diags, identity, vstack
from scipy.sparse.csgraph import dijkstra

from geodata.errors import DataWarning, describe_ids

__all__ = ["geh", "match_counters", "counter_readings", "reading_shape", "path_incidence",
           "fit_od", "Calibrator"]

_CLASS_RANK = {"motorway": 0, "trunk": 1, "primary": 2, "arterial": 2, "secondary": 3,
               "collector": 3, "tertiary": 4, "local": 5}


def geh(model, count):
    """GEH statistic ``sqrt(2 (m - c)^2 / (m + c))`` of hourly flows (0 where both are 0)."""
    m, c = np.asarray(model, float), np.asarray(count, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m + c > 0, np.sqrt(2.0 * (m - c) ** 2 / (m + c)), 0.0)


def match_counters(stations, roads, net, *, max_m: float = 60.0) -> pd.DataFrame:
    """The road (and its engine links) each traffic counter counts.

    Parameters
    ----------
    stations : geopandas.GeoDataFrame
        Sensor stations (``id, kind, geometry``); only ``traffic_counter`` are used.
    roads : geopandas.GeoDataFrame
        The city's roads (``id, class`` optional, ``geometry``).
    net : CityNetwork
    max_m : float
        Largest distance from a counter to its road (m).

    Returns
    -------
    pandas.DataFrame
        ``counter, road, name, x, y, distance_m, links`` (a tuple of link indices).

    Warns
    -----
    DataWarning
        Naming the counters farther than ``max_m`` from every road (left out).
    """
    cols = ["counter", "road", "name", "x", "y", "distance_m", "links"]
    tc = stations[stations["kind"] == "traffic_counter"] if len(stations) else stations
    if len(tc) == 0:
        return pd.DataFrame(columns=cols)
    pts = np.asarray(tc.geometry.values, dtype=object)
    geoms = np.asarray(roads.geometry.values, dtype=object)
    dist = shapely.distance(pts[:, None], geoms[None, :])
    mid = shapely.distance(pts[:, None], shapely.line_interpolate_point(
        geoms, 0.5, normalized=True)[None, :])
    rank = (roads["class"].map(_CLASS_RANK).fillna(9).to_numpy(float) if "class" in roads
            else np.zeros(len(roads)))
    far_deg = _far_degree(net, roads, pts)
    near = dist <= dist.min(axis=1, keepdims=True) + 1.0
    score = np.where(near, rank[None, :] * 1e6 - far_deg * 1e3 + mid, np.inf)
    best = np.argmin(score, axis=1)
    d = dist[np.arange(len(tc)), best]
    far = d > max_m
    if far.any():
        warnings.warn(DataWarning(
            f"sensors: traffic counter(s) {describe_ids(tc['id'][far])} lie more than "
            f"{max_m:g} m from every road and are left out of the calibration. Fix: move "
            f"them onto their road"), stacklevel=2)
    rows = []
    xy = shapely.get_coordinates(pts)
    for k in np.flatnonzero(~far):
        road = str(roads["id"].iloc[best[k]])
        links = tuple(int(i) for i in net.road_links([road]))
        if not links:
            continue
        name = str(roads["name"].iloc[best[k]]) if "name" in roads else ""
        rows.append((str(tc["id"].iloc[k]), road, name, xy[k, 0], xy[k, 1], float(d[k]),
                     links))
    return pd.DataFrame(rows, columns=cols)


def _far_degree(net, roads, pts) -> np.ndarray:
    """``(counters, roads)``: roads meeting at each road's end farther from the counter."""
    up, dn = net.links["upstream"].to_numpy(), net.links["downstream"].to_numpy()
    pairs = np.unique(np.sort(np.column_stack([up, dn]), axis=1), axis=0)
    degree = np.bincount(pairs.ravel(), minlength=len(net.nodes))
    first = net.links.drop_duplicates("road").set_index("road")
    rid = roads["id"].astype(str)
    a = first["upstream"].reindex(rid).fillna(-1).to_numpy(np.int64)
    b = first["downstream"].reindex(rid).fillna(-1).to_numpy(np.int64)
    fwd = (first["direction"].reindex(rid) == "forward").to_numpy()
    a, b = np.where(fwd, a, b), np.where(fwd, b, a)
    xy = shapely.get_coordinates(pts)
    da = np.hypot(*(net.nodes[a][None, :, :] - xy[:, None, :]).transpose(2, 0, 1))
    db = np.hypot(*(net.nodes[b][None, :, :] - xy[:, None, :]).transpose(2, 0, 1))
    far = np.where(da > db, a[None, :], b[None, :])
    return np.where(far >= 0, degree[far], 0)


def counter_readings(readings: pd.DataFrame, counters, t0: pd.Timestamp, t1: pd.Timestamp
                     ) -> pd.Series:
    """Mean reading (veh/h) of each counter over ``[t0, t1)`` (NaN without readings)."""
    r = readings[readings["sensor_id"].isin(list(counters))]
    r = r[(r["time"] >= t0) & (r["time"] < t1)]
    return r.groupby("sensor_id")["value"].mean().reindex(list(counters))


def reading_shape(readings: pd.DataFrame, counters, start: pd.Timestamp, t0_s: float,
                  t1_s: float, period_s: float, bin_s: float = 900.0) -> list:
    """The counters' time shape: ``(a, b, factor)`` per ``bin_s`` interval of ``[t0_s, t1_s)``.

    Times are seconds from ``start``; intervals are aligned on ``start``. A
    counter's factor in an interval is its mean reading there over its mean
    reading in ``[0, period_s)``; ``factor`` is the mean over the counters with
    readings in both (NaN where none has: the caller falls back to its profile).

    Examples
    --------
    >>> t = pd.Timestamp("2024-07-05T07:00+08:00")
    >>> r = pd.DataFrame({"sensor_id": "C1", "time": t + pd.to_timedelta([0, 900, 1800, 2700],
    ...                   unit="s"), "value": [100.0, 300.0, 300.0, 100.0]})
    >>> [round(f, 2) for a, b, f in reading_shape(r, ["C1"], t, 0.0, 3600.0, 3600.0)]
    [0.5, 1.5, 1.5, 0.5]
    """
    r = readings[readings["sensor_id"].isin(list(counters))]
    rel = (r["time"] - start).dt.total_seconds().to_numpy()
    value = r["value"].to_numpy(float)
    ok = np.isfinite(value)
    rel, value, ids = rel[ok], value[ok], r["sensor_id"].to_numpy()[ok]
    base = pd.Series(value[(rel >= 0) & (rel < period_s)]).groupby(
        ids[(rel >= 0) & (rel < period_s)]).mean()
    base = base[base > 0]
    out = []
    k = np.floor(t0_s / bin_s)
    while k * bin_s < t1_s - 1e-9:
        a, b = k * bin_s, (k + 1) * bin_s
        sel = (rel >= a) & (rel < b) & np.isin(ids, base.index)
        f = float("nan")
        if sel.any():
            mean = pd.Series(value[sel]).groupby(ids[sel]).mean()
            f = float((mean / base.reindex(mean.index)).mean())
        out.append((max(a, t0_s), min(b, t1_s), f))
        k += 1
    return out


def _fastest_link(net) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """Graph of the fastest link times between node pairs, and the pair keys
    (``u * n_nodes + v``, sorted) with their link index."""
    df = pd.DataFrame({"u": net.upstream, "v": net.downstream, "t": net.free_time_s,
                       "l": np.arange(net.n_links)}).sort_values("t").drop_duplicates(["u", "v"])
    times = coo_matrix((df["t"], (df["u"], df["v"])), shape=(net.n_nodes, net.n_nodes)).tocsr()
    key = df["u"].to_numpy(np.int64) * net.n_nodes + df["v"].to_numpy(np.int64)
    order = np.argsort(key)
    return times, key[order], df["l"].to_numpy(np.int64)[order]


def path_incidence(net, zone_nodes: np.ndarray, link_sets: list) -> np.ndarray:
    """Which link sets each OD pair's free-flow shortest path crosses.

    Parameters
    ----------
    net : RoadNetwork
    zone_nodes : numpy.ndarray
        Connector node of each zone.
    link_sets : list of sequence of int
        The links of each counter.

    Returns
    -------
    numpy.ndarray
        Bool ``(n_zones, n_zones, n_sets)``.

    Examples
    --------
    >>> from simulations.traffic import RoadNetwork
    >>> net = RoadNetwork([0, 1, 1, 2], [1, 2, 0, 1], 100.0, 10.0, 1)
    >>> path_incidence(net, np.array([0, 2]), [[1]])[:, :, 0].tolist()
    [[False, True], [False, False]]
    """
    nodes = np.asarray(zone_nodes, np.int64)
    n = nodes.size
    out = np.zeros((n, n, len(link_sets)), bool)
    if n == 0 or not link_sets:
        return out
    times, keys, link_of = _fastest_link(net)
    which = np.zeros((net.n_links, len(link_sets)), bool)
    for k, ls in enumerate(link_sets):
        which[list(ls), k] = True
    _, pred = dijkstra(times, directed=True, indices=nodes, return_predecessors=True)
    for i in range(n):
        v = nodes.copy()
        live = (pred[i, v] >= 0) & (v != nodes[i])
        while live.any():
            u = pred[i, v[live]]
            lnk = link_of[np.searchsorted(keys, u * net.n_nodes + v[live])]
            out[i, live] |= which[lnk]
            v[live] = u
            live = (pred[i, v] >= 0) & (v != nodes[i])
    return out


def fit_od(prior: np.ndarray, incidence: np.ndarray, counts: np.ndarray, *,
           strength: float = 0.05, max_factor: float = 10.0) -> tuple[np.ndarray, float]:
    """Scale the prior OD flows so the counters' model flows match their counts.

    Parameters
    ----------
    prior : numpy.ndarray
        ``(n, n)`` OD flows (veh/h) over the fitted period.
    incidence : numpy.ndarray
        ``(n, n, k)`` from :func:`path_incidence`.
    counts : numpy.ndarray
        ``(k,)`` counts (veh/h); NaN counters are ignored.
    strength : float
        Weight of staying near the (globally scaled) prior.
    max_factor : float
        Largest factor on one OD pair relative to the globally scaled prior.

    Returns
    -------
    (factors, global_factor)
        ``factors`` ``(n, n)`` multiply the prior (the global factor included).
    """
    n = prior.shape[0]
    ok = np.isfinite(counts) & (counts > 0)
    x0 = prior.ravel()
    a = incidence.reshape(n * n, -1)[:, ok].T.astype(float)       # (k, pairs)
    c = counts[ok]
    if c.size == 0 or x0.sum() <= 0:
        return np.ones_like(prior), 1.0
    m = a @ x0
    w = 1.0 / np.sqrt(c)
    g = float((m * c * w ** 2).sum() / max((m * m * w ** 2).sum(), 1e-12)) if m.any() else 1.0
    g = g if g > 0 else 1.0
    x = g * x0
    live = np.flatnonzero(x > 0)
    ax = csr_matrix(a[:, live] * x[live][None, :] * w[:, None])
    reg = np.sqrt(strength * x[live])
    lhs = vstack([ax, diags(reg) @ identity(live.size, format="csr")]).tocsr()
    rhs = np.concatenate([c * w, reg])
    sol = lsq_linear(lhs, rhs, bounds=(0.0, max_factor), lsmr_tol="auto", max_iter=500)
    s = np.ones(n * n)
    s[live] = sol.x
    return (g * s).reshape(n, n), g


class Calibrator:
    """Nudges OD demand toward the counter readings during a run.

    Each call of :meth:`update` compares each counter's reading with the model
    flow on its links over the interval just simulated and multiplies the
    factor of every OD pair crossing it by ``clip(reading / model, 1/clip,
    clip) ** gain`` (the mean over the counters it crosses, in logs); factors
    stay within ``[1/bound, bound]``.

    Parameters
    ----------
    incidence : numpy.ndarray
        ``(n, n, k)`` bool.
    gain, clip, bound : float
    """

    def __init__(self, incidence: np.ndarray, *, gain: float = 0.5, clip: float = 1.5,
                 bound: float = 2.0) -> None:
        self.incidence = incidence.astype(float)
        self.crossed = self.incidence.sum(axis=2)
        self.factor = np.ones(incidence.shape[:2])
        self.gain, self.clip, self.bound = gain, clip, bound
        self.history: list[tuple[float, np.ndarray]] = []

    def update(self, time_s: float, reading: np.ndarray, model: np.ndarray,
               hold_up: np.ndarray | None = None) -> None:
        """Apply one nudge from counter readings and model flows (veh/h; NaN: no reading).

        ``hold_up`` (bool per counter) marks counters whose road is congested: their
        model flow is held by the queue, not by the demand, so they only nudge down.
        """
        ok = np.isfinite(reading) & np.isfinite(model) & (model > 0) & (reading > 0)
        ratio = np.ones(reading.size)
        ratio[ok] = np.clip(reading[ok] / model[ok], 1.0 / self.clip, self.clip)
        if hold_up is not None:
            ratio = np.where(hold_up, np.minimum(ratio, 1.0), ratio)
        self.history.append((time_s, ratio))
        logr = np.where(ok, np.log(ratio), 0.0)
        used = self.incidence[:, :, ok].sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(used > 0, (self.incidence @ logr) / np.maximum(used, 1), 0.0)
        self.factor = np.clip(self.factor * np.exp(self.gain * mean), 1.0 / self.bound,
                              self.bound)
