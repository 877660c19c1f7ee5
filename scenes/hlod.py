"""Buildings at two levels of detail for hierarchical tiles (HLOD).

* **detail**: the LoD1 prism of each footprint part (walls and roof, holes
  and concave outlines kept; no floor, which is never seen from above);
* **box**: one roof-and-walls box per building over the minimum rotated
  rectangle of its footprint (10 triangles), for the coarse parent tiles.

Both are :class:`Surfaces`: flat-shaded triangles grouped by building, so
that the triangles of any set of buildings are gathered without a loop
over buildings (:meth:`Surfaces.select`). :func:`box_error` is the
Hausdorff distance between the outlines of a footprint and its box, the
geometric error of showing the box instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from scenes.geometry import (building_heights, feature_ids, match_vertices, polygon_parts,
                             ring_vertices, triangulate)

__all__ = ["Surfaces", "prism_surfaces", "detail_surfaces", "box_surfaces", "box_error",
           "envelopes"]


@dataclass
class Surfaces:
    """Triangles of many buildings, grouped by building.

    ``positions`` (world, float64), ``normals``, and ``vertex_start[b]:vertex_start[b + 1]``
    the vertices of building ``b``; ``triangles`` (global vertex indices) with
    ``triangle_start`` likewise.
    """

    positions: np.ndarray
    normals: np.ndarray
    vertex_start: np.ndarray
    triangles: np.ndarray
    triangle_start: np.ndarray

    @property
    def n_buildings(self) -> int:
        """Number of buildings (rows), with or without triangles."""
        return len(self.vertex_start) - 1

    def select(self, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Vertices and triangles of the buildings ``rows``, re-indexed.

        Returns
        -------
        vertex : numpy.ndarray
            Global index of each selected vertex (index ``positions``, ``normals``).
        feature : numpy.ndarray
            Position in ``rows`` of the building of each selected vertex.
        triangles : numpy.ndarray
            ``(m, 3)`` indices into the selected vertices.
        triangle_row : numpy.ndarray
            Position in ``rows`` of each triangle.
        """
        rows = np.asarray(rows, np.int64)
        vertex, feature, local_start = _ranges(self.vertex_start, rows)
        tri, tri_row, _ = _ranges(self.triangle_start, rows)
        shift = local_start[tri_row] - self.vertex_start[rows[tri_row]]
        return vertex, feature, self.triangles[tri] + shift[:, None], tri_row


def _ranges(start: np.ndarray, rows: np.ndarray):
    """Concatenated ``start[r]:start[r + 1]`` for ``r`` in rows, the position of
    each entry's row in ``rows``, and where each row begins in the result."""
    counts = start[rows + 1] - start[rows]
    local = np.concatenate([[0], np.cumsum(counts)])
    owner = np.repeat(np.arange(len(rows)), counts)
    index = np.arange(local[-1]) - local[owner] + start[rows][owner]
    return index, owner, local[:-1]


def prism_surfaces(parts, row, bottom, top, n_rows: int) -> Surfaces:
    """Walls and roofs of prisms over polygons, flat-shaded, grouped by ``row``.

    Parameters
    ----------
    parts : array of Polygon
        Counter-clockwise exteriors, clockwise holes (``shapely.orient_polygons``).
    row : array of int
        Building of each part, non-decreasing.
    bottom, top : array of float
        Base and roof height (m) of each part.
    n_rows : int
        Number of buildings.

    Examples
    --------
    >>> s = prism_surfaces(np.array([shapely.box(0, 0, 2, 1)]), np.array([0]),
    ...                    np.array([0.0]), np.array([3.0]), 1)
    >>> len(s.positions), len(s.triangles)
    (20, 10)
    """
    xy, nxt, point_part = ring_vertices(parts)
    m = len(xy)
    a, b = xy, xy[nxt]
    zb, zt = bottom[point_part], top[point_part]
    wall = np.stack([np.column_stack([a, zb]), np.column_stack([b, zb]),
                     np.column_stack([b, zt]), np.column_stack([a, zt])], axis=1).reshape(-1, 3)
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    out = np.column_stack([d[:, 1], -d[:, 0], np.zeros(m)])
    out /= np.where(length > 0, length, 1)[:, None]
    k = 4 * np.arange(m)[:, None]
    wall_tris = np.concatenate([k + [0, 1, 2], k + [0, 2, 3]])
    wall_part = np.concatenate([point_part, point_part])
    tri_xy, tri_part = triangulate(parts)
    roof_tris = match_vertices(xy, point_part, tri_xy, tri_part) + 4 * m
    positions = np.concatenate([wall, np.column_stack([xy, zt])])
    normals = np.concatenate([np.repeat(out, 4, axis=0), np.tile([0.0, 0.0, 1.0], (m, 1))])
    vertex_row = np.concatenate([np.repeat(row[point_part], 4), row[point_part]])
    triangles = np.concatenate([wall_tris, roof_tris])
    tri_row = row[np.concatenate([wall_part, tri_part])]
    order = np.argsort(vertex_row, kind="stable")
    new_index = np.empty(len(order), np.int64)
    new_index[order] = np.arange(len(order))
    t_order = np.argsort(tri_row, kind="stable")
    bounds = np.arange(n_rows + 1)
    return Surfaces(positions[order], normals[order],
                    np.searchsorted(vertex_row[order], bounds),
                    new_index[triangles[t_order]],
                    np.searchsorted(tri_row[t_order], bounds))


def detail_surfaces(buildings) -> Surfaces:
    """Full-detail LoD1 prisms (walls and roofs) of all buildings.

    Examples
    --------
    >>> import geopandas as gpd
    >>> b = gpd.GeoDataFrame({"height": [3.0], "base": [1.0]}, geometry=[shapely.box(0, 0, 2, 1)])
    >>> float(detail_surfaces(b).positions[:, 2].max())
    4.0
    """
    height, base = building_heights(buildings)
    parts, row = polygon_parts(buildings.geometry.values, feature_ids(buildings),
                               layer="buildings")
    parts = shapely.orient_polygons(shapely.remove_repeated_points(parts), exterior_cw=False)
    return prism_surfaces(parts, row, base[row], base[row] + height[row], len(buildings))


def box_surfaces(buildings, boxes=None) -> Surfaces:
    """One box per building over the minimum rotated rectangle of its footprint
    (``boxes``, from :func:`envelopes` when not given).

    Examples
    --------
    >>> import geopandas as gpd
    >>> b = gpd.GeoDataFrame({"height": [3.0], "base": [0.0]},
    ...                      geometry=[shapely.Polygon([(0, 0), (4, 0), (4, 1), (1, 1), (1, 3), (0, 3)])])
    >>> len(box_surfaces(b).triangles)
    10
    """
    height, base = building_heights(buildings)
    boxes = envelopes(buildings) if boxes is None else boxes
    ok = shapely.get_type_id(boxes) == 3
    rows = np.flatnonzero(ok)
    parts = shapely.orient_polygons(boxes[ok], exterior_cw=False)
    return prism_surfaces(parts, rows, base[rows], base[rows] + height[rows], len(buildings))


def box_error(buildings, boxes=None) -> np.ndarray:
    """Hausdorff distance (m) between the outline of each footprint (holes
    included) and the outline of its box: how far the box's walls stray.

    Examples
    --------
    >>> import geopandas as gpd
    >>> b = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 2, 1),
    ...                                shapely.Polygon([(0, 0), (4, 0), (4, 1), (1, 1), (1, 4), (0, 4)])])
    >>> box_error(b).round(3).tolist()
    [0.0, 3.0]
    """
    geoms = shapely.boundary(shapely.make_valid(np.asarray(buildings.geometry.values, object)))
    boxes = envelopes(buildings) if boxes is None else boxes
    return np.nan_to_num(shapely.hausdorff_distance(geoms, shapely.boundary(boxes), densify=0.25),
                         nan=0.0)


def envelopes(buildings) -> np.ndarray:
    """The minimum rotated rectangle of each (repaired) footprint.

    Examples
    --------
    >>> import geopandas as gpd
    >>> float(envelopes(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 2, 1)]))[0].area)
    2.0
    """
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    return shapely.oriented_envelope(shapely.make_valid(geoms))
