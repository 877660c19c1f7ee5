"""The road network: directed links between integer nodes, each with a triangular diagram.

:class:`RoadNetwork` checks the link arrays, derives each link's fundamental
diagram (free speed ``u``, backward wave speed ``w``, jam density ``kj`` per
lane and capacity ``q``) and builds the node adjacency (incoming and outgoing
links in CSR form) the kernels walk.

Examples
--------
>>> from simulations.traffic import RoadNetwork
>>> net = RoadNetwork([0, 1], [1, 2], [500.0, 500.0], [13.89, 13.89], [1, 2])
>>> net.n_links, net.n_nodes
(2, 3)
>>> [round(q * 3600) for q in net.capacity_vps]      # u*w*kj/(u+w) per lane
[2647, 5294]
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["RoadNetwork"]


def _link_array(values, n: int | None, name: str, positive: bool = True) -> np.ndarray:
    """A float64 array of one value per link (a scalar is broadcast), checked finite (> 0)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0 and n is not None:
        a = np.full(n, float(a))
    if a.ndim != 1 or (n is not None and a.size != n):
        raise ValueError(f"RoadNetwork: {name} must hold one value per link ({n}), "
                         f"got shape {a.shape}")
    bad = ~np.isfinite(a) | ((a <= 0) if positive else (a < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"RoadNetwork: {name}[{i}]={a[i]} must be a finite number "
                         f"{'> 0' if positive else '>= 0'} (link {i}; {int(bad.sum())} bad)")
    return a


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, idx): the links grouped by ``keys`` (a node per link), in link order."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, order


class RoadNetwork:
    """Directed road links between nodes ``0..n-1`` with a triangular fundamental diagram.

    Parameters
    ----------
    upstream, downstream : array_like of int
        Start and end node of each directed link (a two-way road is two links).
    length_m : array_like of float
        Link length (m), > 0.
    free_speed_ms : array_like of float
        Free-flow speed ``u`` (m/s), > 0.
    lanes : array_like of float
        Number of lanes (> 0; fractional values are allowed).
    capacity_vps : array_like of float, optional
        Link capacity ``q`` (veh/s, all lanes). Default: the triangular diagram's
        ``u*w*kj/(u+w)`` per lane. A smaller capacity gives a trapezoidal diagram.
    jam_density_vpm : float or array_like
        Jam density per lane ``kj`` (veh/m), default 0.2 (5 m per vehicle).
    backward_wave_ms : float or array_like
        Congestion wave speed ``w`` (m/s), default 5.
    n_nodes : int, optional
        Number of nodes (default: one more than the largest node index).

    Examples
    --------
    >>> net = RoadNetwork([0, 1], [1, 0], 100.0, 10.0, 1)
    >>> net.free_time_s.tolist()
    [10.0, 10.0]
    """

    def __init__(self, upstream, downstream, length_m, free_speed_ms, lanes,
                 capacity_vps=None, jam_density_vpm=0.2, backward_wave_ms=5.0,
                 n_nodes: int | None = None):
        up = np.asarray(upstream)
        dn = np.asarray(downstream)
        if up.ndim != 1 or dn.shape != up.shape or up.size == 0:
            raise ValueError(f"RoadNetwork: upstream and downstream must be equal 1-D arrays "
                             f"with at least one link (got shapes {up.shape}, {dn.shape})")
        n = up.size
        for name, a in (("upstream", up), ("downstream", dn)):
            if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)) \
                    or np.any(a != np.round(a)) or np.any(a < 0):
                i = int(np.flatnonzero(~(np.isfinite(a) & (a == np.round(a)) & (a >= 0)))[0]) \
                    if np.issubdtype(a.dtype, np.number) else 0
                raise ValueError(f"RoadNetwork: {name}[{i}]={a[i]} is not a node index "
                                 f"(whole numbers >= 0)")
        self.upstream = up.astype(np.int64)
        self.downstream = dn.astype(np.int64)
        top = int(max(self.upstream.max(), self.downstream.max())) + 1
        self.n_nodes = top if n_nodes is None else int(n_nodes)
        if self.n_nodes < top:
            bad = int(np.flatnonzero((self.upstream >= self.n_nodes)
                                     | (self.downstream >= self.n_nodes))[0])
            raise ValueError(f"RoadNetwork: link {bad} uses node "
                             f"{max(self.upstream[bad], self.downstream[bad])}, out of range "
                             f"for n_nodes={self.n_nodes}")
        loops = np.flatnonzero(self.upstream == self.downstream)
        if loops.size:
            raise ValueError(f"RoadNetwork: link {int(loops[0])} starts and ends at node "
                             f"{int(self.upstream[loops[0]])}; a link must join two nodes")
        self.length_m = _link_array(length_m, n, "length_m")
        self.free_speed_ms = _link_array(free_speed_ms, n, "free_speed_ms")
        self.lanes = _link_array(lanes, n, "lanes")
        self.jam_density_vpm = _link_array(jam_density_vpm, n, "jam_density_vpm")
        self.backward_wave_ms = _link_array(backward_wave_ms, n, "backward_wave_ms")
        u, w, kj = self.free_speed_ms, self.backward_wave_ms, self.jam_density_vpm
        triangle = u * w * kj / (u + w) * self.lanes
        if capacity_vps is None:
            self.capacity_vps = triangle
        else:
            self.capacity_vps = np.minimum(_link_array(capacity_vps, n, "capacity_vps"),
                                           triangle)
        self.in_ptr, self.in_links = _csr(self.downstream, self.n_nodes)
        self.out_ptr, self.out_links = _csr(self.upstream, self.n_nodes)
        self._warn_components()

    @property
    def n_links(self) -> int:
        """Number of directed links."""
        return int(self.length_m.size)

    @property
    def free_time_s(self) -> np.ndarray:
        """Free-flow travel time of each link (s)."""
        return self.length_m / self.free_speed_ms

    @property
    def jam_vpm(self) -> np.ndarray:
        """Jam density of each link, all lanes (veh/m)."""
        return self.jam_density_vpm * self.lanes

    def components(self) -> np.ndarray:
        """Connected component label of each node (links taken both ways).

        Examples
        --------
        >>> RoadNetwork([0, 2], [1, 3], 10.0, 10.0, 1).components().tolist()
        [0, 0, 1, 1]
        """
        g = coo_matrix((np.ones(self.n_links), (self.upstream, self.downstream)),
                       shape=(self.n_nodes, self.n_nodes)).tocsr()
        return connected_components(g, directed=True, connection="weak")[1]

    def can_reach(self, origins, destinations) -> np.ndarray:
        """Whether each destination can be reached from its origin over the links.

        Examples
        --------
        >>> RoadNetwork([0], [1], 10.0, 10.0, 1).can_reach([0, 1], [1, 0]).tolist()
        [True, False]
        """
        from scipy.sparse.csgraph import breadth_first_order
        o = np.asarray(origins, np.int64)
        d = np.asarray(destinations, np.int64)
        g = coo_matrix((np.ones(self.n_links), (self.upstream, self.downstream)),
                       shape=(self.n_nodes, self.n_nodes)).tocsr()
        strong = connected_components(g, directed=True, connection="strong")[1]
        out = strong[o] == strong[d]            # one strongly connected part: reachable
        for src in np.unique(o[~out]):          # the rest by a search from each origin
            seen = np.zeros(self.n_nodes, bool)
            seen[breadth_first_order(g, int(src), directed=True,
                                     return_predecessors=False)] = True
            sel = (o == src) & ~out
            out[sel] = seen[d[sel]]
        return out

    def _warn_components(self) -> None:
        """Warn (listing the components) when the network falls apart in pieces."""
        used = np.zeros(self.n_nodes, bool)
        used[self.upstream] = used[self.downstream] = True
        labels = self.components()
        comps = np.unique(labels[used])
        if comps.size > 1:
            groups = [np.flatnonzero(used & (labels == c)) for c in comps]
            groups.sort(key=len, reverse=True)
            shown = "; ".join(f"{len(g)} nodes {g[:5].tolist()}{'...' if len(g) > 5 else ''}"
                              for g in groups[:5])
            warnings.warn(f"RoadNetwork: the network is disconnected, {comps.size} separate "
                          f"components: {shown}"
                          f"{' ...' if len(groups) > 5 else ''}", stacklevel=3)
