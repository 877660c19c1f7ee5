"""The layers of a run drawn over the city: flood depth, crowd density and
traffic speed at one frame, each with its legend.

A :class:`RunLayer` is one mesh in the scene's local coordinates whose point
scalar ``klass`` is the class coordinate of the value (``i + fraction``
inside class ``i``, so a lookup table of the legend's colours over
``0..n`` colours it with sharp class boundaries) and a :class:`Legend`: its
title, units, class breaks and colours. The ramps are sequential (or, for
speed, diverging) ColorBrewer-style ramps that stay distinct for the common
colour-vision deficiencies and stay readable on a dark background.

Frames are chosen with :func:`frame_index`: a frame number ``0..n-1``,
``"last"``, or ``"max"`` for the run's maxima (flood ``max_depth``, crowd
``peak_density``, traffic the lowest speed of each link).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv
import shapely
from scipy.ndimage import uniform_filter

from geodata.errors import DataError
from scenes.water import draped_surface, grid_transform, sample_grid, water_surface

__all__ = ["Legend", "RunLayer", "DEPTH", "DENSITY", "SPEED", "frame_index", "frame_label",
           "run_layers", "class_coordinate"]

ROAD_LIFT = 1.5
"""Height (m) of traffic lines above the ground (above road surfaces)."""
SMOOTH_M = 4.0
"""Crowd density is drawn as the mean over a square window this wide (m)."""
LANE_OFFSET = 2.5
"""Each direction of a two-way road is drawn this far (m) to its right."""


@dataclass(frozen=True)
class Legend:
    """Classes of a layer: ``breaks[i] <= value < breaks[i + 1]`` is class ``i``.

    Examples
    --------
    >>> DEPTH.labels[0], DEPTH.labels[-1]
    ('0.05 – 0.15', '≥ 2')
    """

    title: str
    units: str
    breaks: tuple[float, ...]
    colors: tuple[str, ...]

    @property
    def labels(self) -> list[str]:
        """One text per class (``"a – b"``, the last ``"≥ a"`` when open)."""
        b = self.breaks
        out = [f"{_num(b[i])} – {_num(b[i + 1])}" for i in range(len(b) - 1)]
        if not np.isfinite(b[-1]):
            out[-1] = f"≥ {_num(b[-2])}"
        return out

    @property
    def rgb(self) -> np.ndarray:
        """``(n, 3)`` uint8 class colours."""
        return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in self.colors],
                        np.uint8)

    def lookup_table(self) -> pv.LookupTable:
        """A lookup table of the class colours over the class coordinate ``0..n``."""
        lut = pv.LookupTable()
        lut.values = np.column_stack([self.rgb, np.full(len(self.colors), 255)]).astype(np.uint8)
        lut.scalar_range = (0.0, float(len(self.colors)))
        return lut


def _num(v: float) -> str:
    return f"{v:g}"


DEPTH = Legend("Water depth", "m", (0.05, 0.15, 0.3, 0.5, 1.0, 2.0, np.inf),
               ("#d4eefa", "#9fd3f0", "#63b1e3", "#3588cf", "#2b62b4", "#3b3f9c"))
"""Flood depth: pale to deep blue (single hue, safe for colour-vision deficiencies)."""
DENSITY = Legend("Crowd density", "persons/m²", (0.1, 0.5, 1.0, 2.0, 3.0, 4.0, np.inf),
                 ("#fff2ae", "#fed16c", "#fd9b43", "#f2562a", "#cb1a3c", "#a4127f"))
"""Crowd density: yellow to red to magenta (YlOrRd-like; 4 persons/m² is crowd-safety critical)."""
SPEED = Legend("Traffic speed", "km/h", (0.0, 5.0, 15.0, 25.0, 35.0, 50.0, np.inf),
               ("#d73027", "#fc8d59", "#fee090", "#e0f3f8", "#91bfdb", "#4575b4"))
"""Traffic speed: red (stopped) to blue (free) (RdYlBu, colour-blind safe)."""


@dataclass
class RunLayer:
    """One drawn layer of a run.

    Attributes
    ----------
    name : str
        ``"flood"``, ``"crowd"`` or ``"traffic"``.
    mesh : pyvista.PolyData
        Local coordinates; point data ``klass`` (class coordinate) and
        ``value`` (the value in the legend's units).
    legend : Legend
    lines : bool
        True when the mesh is lines (drawn with a width).
    """

    name: str
    mesh: pv.PolyData
    legend: Legend
    lines: bool = False


def class_coordinate(values, breaks) -> np.ndarray:
    """Class index plus the position inside the class (``0..n``); NaN stays NaN.

    Examples
    --------
    >>> class_coordinate([0.1, 0.3, 3.0], DEPTH.breaks).round(2).tolist()
    [0.5, 2.0, 5.5]
    """
    v = np.asarray(values, float)
    b = np.asarray(breaks, float)
    top = b[-2] * 2 if not np.isfinite(b[-1]) else b[-1]     # open class: half of it to 2x
    edges = np.concatenate([b[:-1], [top]])
    out = np.interp(v, edges, np.arange(len(edges), dtype=float))
    out = np.clip(out, 0.0, len(edges) - 1 - 1e-6)
    return np.where(np.isfinite(v), out, np.nan)


def frame_index(run, frame) -> int | None:
    """The frame number for ``frame`` (``0..n-1``, ``"last"``), None for ``"max"``.

    Raises
    ------
    DataError
        Text that is no frame, or a number outside the run.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> run = SimpleNamespace(times=[0, 1, 2], path="r.zarr")
    >>> frame_index(run, "2"), frame_index(run, "max"), frame_index(run, "last")
    (2, None, 2)
    """
    n = len(run.times)
    text = str(frame).strip().lower()
    if text == "max":
        return None
    if text == "last":
        return n - 1
    try:
        i = int(text)
    except ValueError:
        raise DataError(f"--frame {frame!r} is not a frame", file=run.path,
                        fix=f"give a frame number 0..{n - 1}, 'last' or 'max'") from None
    if not 0 <= i < n:
        raise DataError(f"--frame {i} is outside the run, which has {n} frames (0..{n - 1})",
                        file=run.path, fix=f"give a frame number 0..{n - 1}, 'last' or 'max'")
    return i


def frame_label(run, index: int | None) -> str:
    """The clock text of a frame: local time and time since the start, or the
    period of the maxima.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> t = pd.date_range("2024-07-05T13:40+08:00", periods=7, freq="10min")
    >>> frame_label(SimpleNamespace(times=t, start=t[0]), 2)
    '14:00 on 5 Jul 2024 (UTC+08:00) · start + 0:20 · frame 2 of 0–6'
    >>> frame_label(SimpleNamespace(times=t, start=t[0]), None)
    'Maxima from 13:40 to 14:40 on 5 Jul 2024 (UTC+08:00) · 7 frames'
    """
    t = run.times
    if index is None:
        return (f"Maxima from {t[0]:%H:%M} to {t[-1]:%H:%M} on {_day(t[0])} ({_zone(t[0])}) · "
                f"{len(t)} frames")
    minutes = int(round((t[index] - run.start).total_seconds() / 60))
    return (f"{t[index]:%H:%M} on {_day(t[index])} ({_zone(t[index])}) · start + "
            f"{minutes // 60}:{minutes % 60:02d} · frame {index} of 0–{len(t) - 1}")


def _day(ts) -> str:
    return f"{ts.day} {ts:%b %Y}"


def _zone(ts) -> str:
    off = ts.utcoffset()
    if off is None:
        return "UTC"
    m = int(off.total_seconds() // 60)
    return f"UTC{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"


def run_layers(run, city, origin, index: int | None, *, terrain_step: int = 1) -> list[RunLayer]:
    """The run's layers at frame ``index`` (None: the maxima), for a scene around ``origin``.

    Layers the run lacks, or that are empty at this frame (no water deeper
    than the first class, no crowd), are left out.

    Parameters
    ----------
    run : twin.Run
    city : twin.City
        Its terrain carries the layers.
    origin : tuple of float
        The scene's local origin (``Scene.origin``).
    index : int or None
    terrain_step : int
        Use every n-th terrain cell (as the city scene does).

    Returns
    -------
    list of RunLayer
        In drawing order: flood, crowd, traffic.

    Examples
    --------
    >>> layers = run_layers(open_run("runs/demo.zarr"), city, scene.origin, None)  # doctest: +SKIP
    """
    out = []
    engines = set(run.engines)
    if "flood" in engines and city.terrain is not None:
        out.append(_flood(run["flood"], city, origin, index, terrain_step))
    if "crowd" in engines and city.terrain is not None:
        out.append(_crowd(run["crowd"], city, origin, index, terrain_step))
    if "traffic" in engines:
        out.append(_traffic(run["traffic"], city, origin, index))
    return [layer for layer in out if layer is not None and layer.mesh.n_points]


def _pick(ds, name: str, peak: str, index: int | None, reduce="max") -> np.ndarray | None:
    if index is None and peak in ds:
        return np.asarray(ds[peak].values, float)
    if name not in ds:
        return None
    if index is None:
        da = ds[name]
        return np.asarray((da.max("time") if reduce == "max" else da.min("time")).values, float)
    return np.asarray(ds[name].isel(time=index).values, float)


def _with_classes(mesh: pv.PolyData, values: np.ndarray, legend: Legend) -> pv.PolyData:
    mesh.point_data["value"] = values.astype(np.float32)
    mesh.point_data["klass"] = class_coordinate(values, legend.breaks).astype(np.float32)
    return mesh


def _flood(ds, city, origin, index, step) -> RunLayer | None:
    depth = _pick(ds, "depth", "max_depth", index)
    if depth is None or not {"x", "y"} <= set(ds.coords):
        return None
    t = grid_transform(ds["x"].values, ds["y"].values)
    depth = _outside_water(depth, ds["x"].values, ds["y"].values, getattr(city, "water", None))
    ground = ds["elevation"].values if "elevation" in ds else None
    mesh = water_surface(city.terrain.data, depth, city.terrain.transform, depth_transform=t,
                         depth_elevation=ground, origin=origin, min_depth=DEPTH.breaks[0],
                         step=step, lift=0.05)
    if not mesh.n_points:
        return None
    d = np.asarray(mesh.point_data["depth"], float)
    # the shoreline's depth is 0: colour it as the first class, not below it
    return RunLayer("flood", _with_classes(mesh, np.maximum(d, DEPTH.breaks[0]), DEPTH), DEPTH)


def _outside_water(depth: np.ndarray, x, y, water) -> np.ndarray:
    """Depth with the permanent rivers and lakes left out (the city scene draws them)."""
    if water is None or not len(water):
        return depth
    xx, yy = np.meshgrid(np.asarray(x, float), np.asarray(y, float))
    inside = shapely.contains_xy(shapely.union_all(water.geometry.values), xx, yy)
    return np.where(inside, 0.0, depth)


def _crowd(ds, city, origin, index, step) -> RunLayer | None:
    density = _pick(ds, "density", "peak_density", index)
    if density is None or not {"x", "y"} <= set(ds.coords) or not np.nanmax(density, initial=0) > 0:
        return None
    x, y = ds["x"].values.astype(float), ds["y"].values.astype(float)
    # density over a window of SMOOTH_M (as crowd densities are measured: people in an
    # area), then block means of about half a terrain cell: a picture shows metres, not cells
    cell = abs(float(x[1] - x[0])) if x.size > 1 else 1.0
    window = max(1, int(round(SMOOTH_M / cell)))
    density = uniform_filter(np.nan_to_num(density), size=window, mode="constant")
    k = max(1, int(round(abs(city.terrain.transform.a) * step / 2 / cell)))
    density, x, y = _block_mean(density, k), _block_centres(x, k), _block_centres(y, k)
    t = grid_transform(x, y)
    xx, yy = np.meshgrid(x, y)
    ground = sample_grid(np.asarray(city.terrain.data, float), city.terrain.transform,
                         xx.ravel(), yy.ravel()).reshape(density.shape)
    density = np.where(np.isfinite(ground), density, np.nan)
    mesh = draped_surface(ground, density, t, origin=origin, threshold=DENSITY.breaks[0],
                          lift=0.6)
    if not mesh.n_points:
        return None
    v = np.asarray(mesh.point_data["value"], float)
    return RunLayer("crowd", _with_classes(mesh, v, DENSITY), DENSITY)


def _block_mean(a: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return a
    rows, cols = (a.shape[0] // k) * k, (a.shape[1] // k) * k
    b = np.nan_to_num(a[:rows, :cols]).reshape(rows // k, k, cols // k, k)
    return b.mean(axis=(1, 3))


def _block_centres(c: np.ndarray, k: int) -> np.ndarray:
    n = (len(c) // k) * k
    return c[:n].reshape(-1, k).mean(axis=1)


def _traffic(ds, city, origin, index) -> RunLayer | None:
    need = {"speed", "line_x", "line_y"}
    if not need <= set(ds.variables):
        return None
    speed = _pick(ds, "speed", "", index, reduce="min")
    lx, ly = ds["line_x"].values.astype(float), ds["line_y"].values.astype(float)
    two_way = _two_way(ds)
    ax, ay, bx, by, link = _segments(lx, ly)
    dx, dy = bx - ax, by - ay
    norm = np.hypot(dx, dy)
    ok = norm > 0
    ax, ay, bx, by, link, dx, dy, norm = (v[ok] for v in (ax, ay, bx, by, link, dx, dy, norm))
    shift = np.where(two_way[link], LANE_OFFSET, 0.0)            # to the right of travel
    ox, oy = dy / norm * shift, -dx / norm * shift
    x = np.column_stack([ax + ox, bx + ox]).ravel()
    y = np.column_stack([ay + oy, by + oy]).ravel()
    if city.terrain is not None:
        z = sample_grid(np.asarray(city.terrain.data, float), city.terrain.transform, x, y)
        z = np.where(np.isfinite(z), z, np.nanmedian(city.terrain.data))
    else:
        z = np.zeros_like(x)
    pts = (np.column_stack([x, y, z + ROAD_LIFT]) - np.asarray(origin, float)).astype(np.float32)
    n = len(link)
    if n == 0:
        return None
    cells = np.column_stack([np.full(n, 2), 2 * np.arange(n), 2 * np.arange(n) + 1]).ravel()
    mesh = pv.PolyData(pts, lines=cells)
    kmh = np.repeat(speed[link] * 3.6, 2)
    return RunLayer("traffic", _with_classes(mesh, kmh, SPEED), SPEED, lines=True)


def _two_way(ds) -> np.ndarray:
    """True for links that share their road with a link of the other direction."""
    n = ds.sizes["link"]
    if "road" not in ds or "direction" not in ds:
        return np.zeros(n, bool)
    road = np.array([str(v) for v in ds["road"].values], dtype=object)
    _, inverse, counts = np.unique(road, return_inverse=True, return_counts=True)
    return counts[inverse] > 1


def _segments(lx: np.ndarray, ly: np.ndarray):
    """Consecutive finite vertices of each link's line as segments (and their link)."""
    a = np.isfinite(lx[:, :-1]) & np.isfinite(lx[:, 1:]) & np.isfinite(ly[:, :-1]) \
        & np.isfinite(ly[:, 1:])
    link, k = np.nonzero(a)
    return lx[link, k], ly[link, k], lx[link, k + 1], ly[link, k + 1], link
