"""Buildings of the district: lattice footprints per zone and the named landmarks."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.synthetic.frame import Frame, scale_of
from geodata.synthetic.parameters import THETA_DEG

__all__ = ["make_buildings"]

# zone: lattice spacing (u, v) in m, setback from the block edge, footprint kinds
_ZONES = {
    "residential_high": ((39.0, 44.0), 5.0, {"tower_sq": 0.4, "tower_round": 0.2,
                                            "tower_plus": 0.2, "point_slab": 0.2}),
    "residential_mid": ((58.0, 29.5), 5.0, {"slab": 0.55, "l_block": 0.25, "u_block": 0.2}),
    "residential_low": ((23.5, 17.5), 3.0, {"row": 0.5, "villa": 0.3, "l_small": 0.2}),
    "commercial": ((58.0, 44.0), 5.0, {"courtyard": 0.35, "podium": 0.25, "l_big": 0.2,
                                       "office_tower": 0.2}),
    "industrial": ((118.0, 44.0), 5.0, {"shed": 0.7, "shed_l": 0.15, "office_small": 0.15}),
}
# kind: use, height range (m), storey height (m)
_KINDS = {
    "tower_sq": ("residential", (60, 150), 3.0), "tower_round": ("residential", (60, 130), 3.0),
    "tower_plus": ("residential", (60, 120), 3.0), "point_slab": ("residential", (45, 90), 3.0),
    "slab": ("residential", (18, 30), 3.0), "l_block": ("residential", (18, 30), 3.0),
    "u_block": ("residential", (18, 27), 3.0), "row": ("residential", (6, 12), 3.0),
    "villa": ("residential", (6, 10), 3.0), "l_small": ("residential", (6, 12), 3.0),
    "courtyard": ("commercial", (12, 24), 4.0), "podium": ("commercial", (9, 20), 4.5),
    "l_big": ("office", (15, 30), 3.8), "office_tower": ("office", (60, 150), 3.8),
    "shed": ("industrial", (8, 15), 6.0), "shed_l": ("industrial", (8, 14), 6.0),
    "office_small": ("office", (12, 20), 3.6),
}
_PEOPLE_PER_M2 = {"residential": 0.9 / 38.0, "commercial": 1 / 2000.0, "office": 1 / 3000.0,
                  "industrial": 1 / 1500.0}


def _rect(w, d):
    """Rectangles centred on the origin: (n, 4, 2) corner arrays."""
    w, d = np.asarray(w)[:, None] / 2, np.asarray(d)[:, None] / 2
    return np.stack([np.hstack([-w, w, w, -w]), np.hstack([-d, -d, d, d])], -1)


def _ell(w, d, a, b):
    """L shapes (w x d with arms a wide along u and b deep along v), centred."""
    z = np.zeros_like(w)
    x = np.stack([z, w, w, a, a, z], 1) - w[:, None] / 2
    y = np.stack([z, z, b, b, d, d], 1) - d[:, None] / 2
    return np.stack([x, y], -1)


def _u_shape(w, d, arm, base):
    z = np.zeros_like(w)
    x = np.stack([z, w, w, w - arm, w - arm, arm, arm, z], 1) - w[:, None] / 2
    y = np.stack([z, z, d, d, base, base, d, d], 1) - d[:, None] / 2
    return np.stack([x, y], -1)


def _ellipse(a, b, k=16):
    t = np.linspace(0, 2 * np.pi, k, endpoint=False)
    return np.stack([np.asarray(a)[:, None] * np.cos(t), np.asarray(b)[:, None] * np.sin(t)],
                    -1)


def _plus(arm, thick):
    a, t = np.asarray(arm)[:, None] / 2, np.asarray(thick)[:, None] / 2
    x = np.hstack([-t, t, t, a, a, t, t, -t, -t, -a, -a, -t])
    y = np.hstack([-a, -a, -t, -t, t, t, a, a, t, t, -t, -t])
    return np.stack([x, y], -1)


def _flip(coords: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror shapes at random so that L and U shapes face every way."""
    sign = rng.choice([-1.0, 1.0], size=(len(coords), 1, 2))
    return coords * sign


def _footprints(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` footprints of one kind, centred on the origin of the grid frame."""
    U = lambda lo, hi: rng.uniform(lo, hi, n)  # noqa: E731
    if kind in ("tower_sq", "office_tower"):
        side = U(20, 28)
        return shapely.polygons(_rect(side, np.minimum(side * U(0.85, 1.15), 29.0)))
    if kind == "tower_round":
        r = U(11, 14)
        return shapely.polygons(_ellipse(r, r * U(0.85, 1.0)))
    if kind == "tower_plus":
        return shapely.polygons(_plus(U(26, 31), U(12, 15)))
    if kind == "point_slab":
        return shapely.polygons(_rect(U(28, 34), U(14, 18)))
    if kind == "slab":
        return shapely.polygons(_rect(U(40, 52), U(12, 16)))
    if kind == "l_block":
        w, d = U(34, 52), U(20, 24)
        return shapely.polygons(_flip(_ell(w, d, U(11, 13), U(10, 12)), rng))
    if kind == "u_block":
        w, d = U(42, 52), U(20, 24)
        return shapely.polygons(_flip(_u_shape(w, d, U(11, 13), U(10, 12)), rng))
    if kind == "row":
        return shapely.polygons(_rect(U(16, 21), U(8, 10)))
    if kind == "villa":
        return shapely.polygons(_rect(U(10, 14), U(9, 13)))
    if kind == "l_small":
        return shapely.polygons(_flip(_ell(U(14, 18), U(12, 15), U(7, 8), U(7, 8)), rng))
    if kind == "courtyard":
        w, d = U(44, 52), U(34, 40)
        inset = U(10, 12)
        outer = shapely.polygons(_rect(w, d))
        return shapely.difference(outer, shapely.polygons(_rect(w - 2 * inset, d - 2 * inset)))
    if kind == "podium":
        return shapely.polygons(_rect(U(38, 52), U(26, 40)))
    if kind == "l_big":
        return shapely.polygons(_flip(_ell(U(40, 52), U(32, 40), U(14, 17), U(14, 17)), rng))
    if kind == "shed":
        return shapely.polygons(_rect(U(60, 112), U(26, 38)))
    if kind == "shed_l":
        return shapely.polygons(_flip(_ell(U(70, 112), U(32, 38), U(30, 40), U(16, 20)), rng))
    if kind == "office_small":
        return shapely.polygons(_rect(U(25, 35), U(14, 18)))
    raise KeyError(kind)


def _place(f: Frame, shapes: np.ndarray, centres_uv: np.ndarray) -> np.ndarray:
    """Move grid-frame shapes to their centres and into district coordinates."""
    coords, index = shapely.get_coordinates(shapes, return_index=True)
    world = f.from_grid(coords + centres_uv[index])
    return shapely.set_coordinates(shapes.copy(), world)


def _heights(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    _, (lo, hi), storey = _KINDS[kind]
    if kind in ("shed", "shed_l"):
        storeys = rng.integers(1, 3, n)
        height = np.round(rng.uniform(lo, hi, n), 1)
    else:
        storeys = np.round(rng.uniform(lo, hi, n) / storey).astype(int).clip(min=1)
        height = np.round(storeys * storey + rng.uniform(0.3, 1.5, n), 1)
    return height, storeys


def _lots(f: Frame, blocks: gpd.GeoDataFrame, spacing: tuple[float, float],
          setback: float) -> tuple[np.ndarray, np.ndarray]:
    """Lot centres (grid frame) filling each block's grid-aligned bounding box, centred."""
    coords, index = shapely.get_coordinates(blocks.geometry.values, return_index=True)
    uv = f.to_grid(coords)
    starts = np.searchsorted(index, np.arange(len(blocks)))
    lo = np.stack([np.minimum.reduceat(uv[:, k], starts) for k in (0, 1)], -1) + setback
    hi = np.stack([np.maximum.reduceat(uv[:, k], starts) for k in (0, 1)], -1) - setback
    span = np.maximum(hi - lo, 0.0)
    n = np.floor(span / spacing).astype(int)
    total = n[:, 0] * n[:, 1]
    block = np.repeat(np.arange(len(blocks)), total)
    k = np.arange(total.sum()) - np.repeat(np.cumsum(total) - total, total)
    iu, iv = k % np.maximum(n[block, 0], 1), k // np.maximum(n[block, 0], 1)
    margin = (span - n * spacing) / 2
    centre = lo[block] + margin[block] + (np.column_stack([iu, iv]) + 0.5) * spacing
    return centre, block


def _lattice_buildings(f: Frame, blocks: gpd.GeoDataFrame,
                       rng: np.random.Generator) -> gpd.GeoDataFrame:
    frames = []
    for zone, (spacing, setback, mix) in _ZONES.items():
        uv, j = _lots(f, blocks, spacing, setback)
        keep = blocks["zone"].values[j] == zone
        uv, j = uv[keep] + rng.uniform(-1.0, 1.0, (keep.sum(), 2)), j[keep]
        kinds = rng.choice(list(mix), size=len(j), p=list(mix.values()))
        for kind in mix:
            sel = kinds == kind
            if not sel.any():
                continue
            shapes = _place(f, _footprints(kind, int(sel.sum()), rng), uv[sel])
            inner = shapely.buffer(blocks.geometry.values[j[sel]], -setback, quad_segs=2)
            ok = shapely.within(shapes, inner)
            height, storeys = _heights(kind, int(ok.sum()), rng)
            frames.append(pd.DataFrame({"name": "", "use": _KINDS[kind][0], "height": height,
                                        "storeys": storeys, "block": j[sel][ok],
                                        "geometry": shapes[ok]}))
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry")


def _landmark(f: Frame, centre_uv, coords_uv: np.ndarray, hole_uv=None):
    shell = shapely.Polygon(f.from_grid(coords_uv + centre_uv))
    if hole_uv is None:
        return shell
    return shapely.difference(shell, shapely.Polygon(f.from_grid(hole_uv + centre_uv)))


def _landmarks(f: Frame, sites: dict, w: dict) -> tuple[list[dict], dict]:
    """Named buildings on their sites; returns them and the BIM school's footprint."""
    k = min(1.0, scale_of(f) / 0.5)
    one = np.ones(1)

    def at(site, du=0.0, dv=0.0):
        return sites[site]["centre_uv"] + np.array([du, dv]) * k

    school = dict(width=64.0, depth=18.0, storeys=3, storey_height=3.6, roof=0.3)
    school_centre = at("school", 0.0, 25.0)
    out = [
        dict(name="Fenghuang Sports Centre Stadium", use="stadium", height=32.0, storeys=3,
             geometry=_landmark(f, at("stadium"), _ellipse(115 * k * one, 92 * k * one, 48)[0],
                                _ellipse(72 * k * one, 50 * k * one, 48)[0])),
        dict(name="Lakeside People's Hospital", use="hospital", height=42.6, storeys=11,
             geometry=_landmark(f, at("hospital"),
                                _ell(110 * k * one, 75 * k * one, 22 * k * one,
                                     22 * k * one)[0])),
        dict(name="Xishan Road Primary School", use="school",
             height=school["storeys"] * school["storey_height"] + school["roof"],
             storeys=school["storeys"],
             geometry=_landmark(f, school_centre, _rect([school["width"]],
                                                        [school["depth"]])[0])),
        dict(name="Xishan Road Primary School Gymnasium", use="school", height=9.5, storeys=1,
             geometry=_landmark(f, at("school", -60.0, -40.0), _rect([36 * k], [22 * k])[0])),
        dict(name="Yanglan Middle School", use="school", height=16.4, storeys=4,
             geometry=_landmark(f, at("middle_school"), _rect([72 * k], [52 * k])[0],
                                _rect([44 * k], [26 * k])[0])),
        dict(name="Echeng Intercity Station", use="station", height=20.5, storeys=2,
             geometry=_landmark(f, at("station", 0.0, -20.0), _rect([160 * k], [42 * k])[0])),
        dict(name="Echeng Bus Terminal", use="station", height=8.0, storeys=1,
             geometry=_landmark(f, at("station", 95.0, 45.0), _rect([60 * k], [30 * k])[0])),
        dict(name="Echeng Civic Culture Centre", use="public", height=24.8, storeys=5,
             geometry=_landmark(f, at("civic"), _u_shape(90 * k * one, 60 * k * one,
                                                         20 * k * one, 20 * k * one)[0])),
        dict(name="Lakeview Plaza Mall", use="commercial", height=28.0, storeys=5,
             geometry=_landmark(f, at("mall"), _rect([150 * k], [95 * k])[0])),
    ]
    pump_uv = f.to_grid(w["pump"] + [25.0, -5.0])
    out.append(dict(name="Yanglan Drainage Pumping Station", use="utility", height=9.0,
                    storeys=2, geometry=_landmark(f, pump_uv, _rect([24.0], [14.0])[0])))
    school.update(centre=f.from_grid(school_centre), rotation_deg=THETA_DEG)
    return out, school


def make_buildings(f: Frame, blocks: gpd.GeoDataFrame, sites: dict, w: dict,
               rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, dict]:
    """Landmarks on their sites plus lattice buildings; returns them and the BIM school."""
    marks, school = _landmarks(f, sites, w)
    marks = gpd.GeoDataFrame(pd.DataFrame(marks), geometry="geometry")
    marks["block"] = -1
    rest = _lattice_buildings(f, blocks, rng)
    clear = shapely.union_all(shapely.buffer(marks.geometry.values, 8.0))
    rest = rest[~shapely.intersects(rest.geometry.values, clear)]
    c = shapely.get_coordinates(shapely.centroid(rest.geometry.values))
    rest = rest.iloc[np.lexsort((c[:, 0].round(1), -c[:, 1].round(1)))]
    b = pd.concat([marks, rest], ignore_index=True)
    b["geometry"] = shapely.orient_polygons(b.geometry.values)
    area = shapely.area(b.geometry.values) * b["storeys"].values
    rate = b["use"].map(_PEOPLE_PER_M2).fillna(0.0).values
    people = np.round(area * rate).astype(int)
    people[b["use"].values == "hospital"] = 700
    people[b["use"].values == "utility"] = 3
    b["population"] = people
    b["low_block"] = blocks["low"].values[b["block"].values.clip(min=0)] & (b["block"] >= 0)
    res = np.flatnonzero((b["use"] == "residential").values)
    missing = rng.choice(res, size=min(12, len(res)), replace=False)
    b.loc[missing, "height"] = np.nan
    b.insert(0, "id", [f"B{k + 1:06d}" for k in range(len(b))])
    school["id"] = b["id"].iloc[2]
    return b, school
