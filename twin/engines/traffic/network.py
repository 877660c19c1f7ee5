"""The city's roads as a routable network of directed links.

:func:`city_network` turns ``city.roads`` into a :class:`CityNetwork`: nodes
where line ends meet (ends within ``snap_m`` are one node), one directed link
per road and direction (a one-way road is one link in its digitised
direction), and the :class:`simulations.traffic.RoadNetwork` built on them.

How the road attributes are read:

- ``length_m``: the length of the line (m);
- ``free_speed_ms``: ``speed_kmh / 3.6``;
- ``lanes``: a road's ``lanes`` counts all its lanes; a two-way road gives
  each direction half of them (at least 0.5), a one-way road all of them;
- ``capacity_vps``: ``capacity_vph`` is the road's total capacity over all
  its lanes, shared between the directions in the same way as the lanes
  (``/ 3600`` to veh/s); a missing value leaves the engine's triangular
  diagram capacity.

Examples
--------
>>> net = city_network(city.roads)                    # doctest: +SKIP
>>> net.links[["road", "direction", "upstream", "downstream"]].head(2)   # doctest: +SKIP
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geodata.errors import DataError, DataWarning, describe_ids
from simulations.traffic import RoadNetwork

__all__ = ["CityNetwork", "city_network"]


@dataclass
class CityNetwork:
    """Directed links of the city's roads and the engine network built on them.

    Attributes
    ----------
    links : pandas.DataFrame
        One row per directed link (index = engine link index): ``road`` (road
        id), ``name``, ``class``, ``direction`` (``"forward"`` along the digitised line,
        ``"backward"`` against it), ``upstream``, ``downstream`` (nodes),
        ``length_m``, ``free_speed_ms``, ``lanes``, ``capacity_vps``, ``x``,
        ``y`` (midpoint of the line).
    lines : list of numpy.ndarray
        Each link's line coordinates ``(n, 2)`` in driving order.
    nodes : numpy.ndarray
        ``(n_nodes, 2)`` node coordinates.
    road : RoadNetwork
        The engine network.
    core : numpy.ndarray
        Bool per node: in the largest strongly connected part (demand lives there).
    """

    links: pd.DataFrame
    lines: list
    nodes: np.ndarray
    road: RoadNetwork
    core: np.ndarray

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return len(self.links)

    def road_links(self, road_ids) -> np.ndarray:
        """Engine link indices of the given road ids (both directions)."""
        return np.flatnonzero(self.links["road"].isin(list(road_ids)).to_numpy())

    def gateways(self, margin_m: float = 30.0, classes=("arterial",)) -> np.ndarray:
        """Nodes where a road of ``classes`` leaves the network (external traffic enters
        there): nodes of the core within ``margin_m`` of the network's bounding box where
        exactly one road of ``classes`` ends. Lesser roads may meet there too (a lane
        along the district's edge does not stop an avenue from going on beyond it)."""
        up, dn = self.links["upstream"].to_numpy(), self.links["downstream"].to_numpy()
        sel = self.links["class"].isin(list(classes)).to_numpy()
        pairs = np.unique(np.sort(np.column_stack([up[sel], dn[sel]]), axis=1), axis=0)
        degree = np.bincount(pairs.ravel(), minlength=len(self.nodes))
        lo, hi = self.nodes.min(axis=0), self.nodes.max(axis=0)
        edge = np.minimum(self.nodes - lo, hi - self.nodes).min(axis=1) <= margin_m
        return np.flatnonzero((degree == 1) & edge & self.core)

    def padded_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Line coordinates as ``(link, vertex)`` arrays of x and y, NaN-padded."""
        n = max((len(c) for c in self.lines), default=0)
        x = np.full((len(self.lines), n), np.nan)
        y = np.full((len(self.lines), n), np.nan)
        for i, c in enumerate(self.lines):
            x[i, :len(c)], y[i, :len(c)] = c[:, 0], c[:, 1]
        return x, y


def _snap(ends: np.ndarray, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Node label of each end point (ends closer than ``snap_m`` share one) and node xy."""
    pairs = cKDTree(ends).query_pairs(snap_m, output_type="ndarray")
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])) if len(pairs) else
                   (np.zeros(0), (np.zeros(0, int), np.zeros(0, int))),
                   shape=(len(ends), len(ends)))
    _, label = connected_components(g, directed=False)
    xy = np.column_stack([np.bincount(label, ends[:, k]) / np.bincount(label)
                          for k in range(2)])
    return label, xy


def _check_roads(roads) -> None:
    need = {"id", "speed_kmh", "lanes", "oneway", "geometry"}
    missing = sorted(need - set(roads.columns))
    if missing:
        raise DataError(f"roads lack the column(s) {', '.join(missing)}", layer="roads",
                        fix="give every road an id, lanes, speed_kmh and oneway")
    if len(roads) == 0:
        raise DataError("the city has no roads", layer="roads",
                        fix="add a roads layer to the city manifest")
    kinds = shapely.get_type_id(roads.geometry.values)
    bad = roads["id"][kinds != 1]
    if len(bad):
        raise DataError(f"roads {describe_ids(bad)} are not single LineStrings", layer="roads",
                        fix="split multi-part roads into single lines")
    for col in ("speed_kmh", "lanes"):
        v = pd.to_numeric(roads[col], errors="coerce").to_numpy(float)
        bad = roads["id"][~(np.isfinite(v) & (v > 0))]
        if len(bad):
            raise DataError(f"roads {describe_ids(bad)} have no positive {col}", layer="roads",
                            fix=f"give every road a {col} above zero")


def _directed(roads, node_a, node_b) -> pd.DataFrame:
    """One row per road and direction (one-ways only forward)."""
    n = len(roads)
    oneway = roads["oneway"].fillna(False).astype(bool).to_numpy()
    lanes = roads["lanes"].to_numpy(float)
    cap = (pd.to_numeric(roads["capacity_vph"], errors="coerce").to_numpy(float)
           if "capacity_vph" in roads else np.full(n, np.nan))
    share = np.where(oneway, 1.0, 0.5)
    base = pd.DataFrame({
        "road": roads["id"].astype(str).to_numpy(),
        "name": (roads["name"].fillna("").astype(str).to_numpy() if "name" in roads
                 else np.full(n, "")),
        "class": (roads["class"].fillna("").astype(str).to_numpy() if "class" in roads
                  else np.full(n, "")),
        "length_m": shapely.length(roads.geometry.values),
        "free_speed_ms": roads["speed_kmh"].to_numpy(float) / 3.6,
        "lanes": np.maximum(lanes * share, 0.5),
        "capacity_vps": cap * share / 3600.0,
        "_row": np.arange(n)})
    fwd = base.assign(direction="forward", upstream=node_a, downstream=node_b)
    bwd = base[~oneway].assign(direction="backward", upstream=node_b[~oneway],
                               downstream=node_a[~oneway])
    links = pd.concat([fwd, bwd], ignore_index=True)
    loops = links["upstream"] == links["downstream"]
    return links[~loops.to_numpy()].reset_index(drop=True)


def _components(links: pd.DataFrame, n_nodes: int) -> np.ndarray:
    """Strong component label per node."""
    g = coo_matrix((np.ones(len(links)), (links["upstream"], links["downstream"])),
                   shape=(n_nodes, n_nodes))
    return connected_components(g, directed=True, connection="strong")[1]


def _warn_parts(links: pd.DataFrame, label: np.ndarray, core_label: int) -> None:
    """DataWarning listing the roads off the largest strongly connected part."""
    off = links[(label[links["upstream"]] != core_label)
                | (label[links["downstream"]] != core_label)]
    if off.empty:
        return
    parts = off.groupby(label[off["upstream"].to_numpy()])["road"].apply(
        lambda r: sorted(set(r)))
    shown = "; ".join(f"[{describe_ids(r, 6)}]" for r in list(parts)[:8])
    warnings.warn(DataWarning(
        f"layer 'roads': the road network falls apart: {len(parts)} part(s) off the largest "
        f"strongly connected part ({off['road'].nunique()} roads): {shown}"
        f"{' ...' if len(parts) > 8 else ''}; trips start and end only on the largest "
        f"part. Fix: join the roads' end points (or check one-way directions)"), stacklevel=3)


def city_network(roads, *, snap_m: float = 1.0) -> CityNetwork:
    """Build the directed link network of ``roads`` (a GeoDataFrame like ``city.roads``).

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        ``id, lanes, speed_kmh, capacity_vph (optional), oneway, name (optional),
        geometry (LineString)`` in a projected CRS (m).
    snap_m : float
        Line ends closer than this are one node (m).

    Raises
    ------
    DataError
        A missing column, a road that is not one LineString, or no positive
        speed or lanes, naming the roads.

    Warns
    -----
    DataWarning
        When the network falls apart in parts (naming the roads off the largest
        strongly connected part).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> roads = gpd.GeoDataFrame({"id": ["a", "b"], "lanes": [2, 1], "speed_kmh": [36.0, 36.0],
    ...     "oneway": [False, True], "geometry": [shapely.LineString([(0, 0), (100, 0)]),
    ...     shapely.LineString([(100, 0), (0, 0)])]})
    >>> net = city_network(roads)
    >>> net.links[["road", "direction", "upstream", "downstream"]].values.tolist()
    [['a', 'forward', 0, 1], ['b', 'forward', 1, 0], ['a', 'backward', 1, 0]]
    """
    _check_roads(roads)
    geoms = roads.geometry.values
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(geoms, 0)),
                      shapely.get_coordinates(shapely.get_point(geoms, -1))])
    label, nodes = _snap(ends, snap_m)
    # renumber nodes by first appearance so that numbering follows the road order
    _, first = np.unique(label, return_index=True)
    order = np.argsort(np.argsort(first))
    label = order[label]
    nodes = nodes[np.argsort(order)]
    n = len(roads)
    links = _directed(roads, label[:n], label[n:])
    if links.empty:
        raise DataError("every road starts and ends at the same node", layer="roads",
                        fix="give the roads distinct end points")
    coords = [shapely.get_coordinates(g) for g in geoms]
    lines = [coords[r][::-1] if d == "backward" else coords[r]
             for r, d in zip(links["_row"], links["direction"])]
    mid = shapely.get_coordinates(shapely.line_interpolate_point(
        geoms[links["_row"].to_numpy()], 0.5, normalized=True))
    links = links.assign(x=mid[:, 0], y=mid[:, 1]).drop(columns="_row")
    strong = _components(links, len(nodes))
    used = np.zeros(len(nodes), bool)
    used[links["upstream"]] = used[links["downstream"]] = True
    core_label = np.bincount(strong[used]).argmax()
    _warn_parts(links, strong, core_label)
    cap = links["capacity_vps"].to_numpy(float)
    free = links["free_speed_ms"].to_numpy(float)
    tri = free * 5.0 * 0.2 / (free + 5.0) * links["lanes"].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # the parts were reported above, with road ids
        road = RoadNetwork(links["upstream"], links["downstream"], links["length_m"], free,
                           links["lanes"], capacity_vps=np.where(np.isfinite(cap) & (cap > 0),
                                                                 cap, tri),
                           n_nodes=len(nodes))
    return CityNetwork(links=links, lines=lines, nodes=nodes, road=road,
                       core=strong == core_label)
