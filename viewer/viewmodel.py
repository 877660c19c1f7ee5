"""The viewer's view-model: a City, its 3D Scene and a Run, turned into what one
replay frame shows (colours, KPIs, clock, names), without a browser.

What an engine adds (water, traffic states, crowd density) comes from its
layer (:mod:`viewer.layers`); this object merges the layers of the run's
engines with the city's own colours. The 3D panel, the KPI board and the map
ask it for frame ``i`` and never touch the run's arrays themselves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import shapely

from scenes import style
from viewer import palette
from viewer.layers import Kpi, Layer, Legend, build_layers

__all__ = ["ViewModel", "Camera", "Target", "RunView", "EVENT_KINDS", "feature_names"]

EVENT_KINDS: dict[str, str] = {
    "building_flooded": "Building flooded",
    "buildings_flooded": "Buildings flooded (area)",
    "road_closed": "Road closed",
    "road_reopened": "Road reopened",
    "sensor": "Sensor threshold",
}
"""Event ``kind`` -> readable label (others: the kind with spaces)."""


@runtime_checkable
class RunView(Protocol):
    """What the viewer reads of a run: :class:`twin.replay.Run` has all of it, and
    so must any stand-in (the tests' hand-made run)."""

    engines: tuple
    times: pd.DatetimeIndex
    kpis: pd.DataFrame
    events: pd.DataFrame
    impacts: object
    scenario: object
    name: str
    path: object

    def __getitem__(self, engine: str): ...


@dataclass(frozen=True)
class Camera:
    """A camera in the scene's local coordinates (the dict the VTK pane takes)."""

    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    view_up: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def as_vtk(self) -> dict:
        """The ``camera`` dict of :class:`panel.pane.VTK`."""
        return {"position": list(self.position), "focalPoint": list(self.focal_point),
                "viewUp": list(self.view_up), "viewAngle": 30.0}


@dataclass(frozen=True)
class Target:
    """A feature of the city: ``kind`` (``buildings``, ``roads``, ``sensors``), its row
    in that table, its id and the name people know it by."""

    kind: str
    row: int
    id: str
    name: str

    @property
    def label(self) -> str:
        """``"Name (id)"``, or the id when the feature has no name."""
        return f"{self.name} ({self.id})" if self.name and self.name != self.id else self.id


class ViewModel:
    """What the screen shows at each replay frame.

    Parameters
    ----------
    city : twin.City
    scene : scenes.meshes.Scene
        The city's meshes around ``scene.origin``; buildings carry cell data
        ``building_index``, roads ``road_index``, sensors ``sensor_index``.
    run : RunView or None
        The replay; without one the view shows the dry city and no KPIs.

    Examples
    --------
    >>> vm = ViewModel(city, city_scene(city), twin.open_run("runs/demo.zarr"))  # doctest: +SKIP
    >>> vm.kpis(10)["max_depth_m"], vm.layers["flood"].water(10).n_cells          # doctest: +SKIP
    """

    def __init__(self, city, scene, run=None) -> None:
        self.city = city
        self.scene = scene
        self.run = run
        self.origin = np.asarray(scene.origin, dtype=np.float64)
        self.layers: dict[str, Layer] = build_layers(self)
        self._ids = _id_index(city)
        self._static: dict[str, np.ndarray] = {}
        self._status: dict[int, pd.Series] = {}

    # -- time ------------------------------------------------------------
    @property
    def times(self) -> pd.DatetimeIndex:
        """Frame times, UTC-aware; empty without a run."""
        if "times" not in self.__dict__.setdefault("_cache", {}):
            if self.run is None:
                t = pd.DatetimeIndex([], tz="UTC")
            else:
                t = pd.DatetimeIndex(self.run.times)
                t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
            self._cache["times"] = t
        return self._cache["times"]

    @property
    def n_frames(self) -> int:
        """Number of replay frames (1 without a run)."""
        return max(1, len(self.times))

    def clock(self, i: int) -> str:
        """Local date and time of frame ``i`` in the city's time zone, e.g.
        ``"2024-07-05 14:30:00 CST"``."""
        if self.run is None:
            return "no run loaded"
        t = self.times[self._frame(i)].tz_convert(self.city.timezone)
        return t.strftime("%Y-%m-%d %H:%M:%S %Z")

    def frame_at(self, time) -> int:
        """The first frame at or after ``time`` (clamped to the run): an event at
        14:05 shows on the 14:10 frame, the first one that has it."""
        if self.run is None:
            return 0
        t = pd.Timestamp(time)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return int(np.clip(self.times.searchsorted(t, side="left"), 0, self.n_frames - 1))

    def _frame(self, i: int) -> int:
        if not 0 <= int(i) < self.n_frames:
            raise IndexError(f"frame {i} is outside the run's 0..{self.n_frames - 1}")
        return int(i)

    # -- colours -----------------------------------------------------------
    @property
    def building_modes(self) -> dict[str, str]:
        """Button label -> building colour mode: the city's, then the layers'."""
        out = {"Use": "use", "Height": "height"}
        for layer in self.layers.values():
            out.update(layer.building_modes)
        return out

    def building_colors(self, i: int, mode: str = "use", *,
                        highlight: int | None = None) -> np.ndarray:
        """RGB per building row, uint8 ``(n_buildings, 3)``, by ``mode`` (see
        :attr:`building_modes`), the building ``highlight`` in the highlight colour."""
        b = self.city.buildings
        if mode == "use":
            rgb = self._once("use", lambda: style.colors_for(
                b["use"] if "use" in b else [None] * len(b), style.BUILDING_USE_COLORS))
        elif mode == "height":
            rgb = self._once("height", lambda: palette.ramp(b["height"].to_numpy(float),
                                                            palette.HEIGHT_STOPS))
        else:
            rgb = next((c for layer in self.layers.values()
                        if (c := layer.building_colors(mode, self._frame(i))) is not None), None)
            if rgb is None:
                raise ValueError(f"unknown building colour mode {mode!r}; use one of "
                                 f"{sorted(self.building_modes.values())}")
        return _highlighted(rgb, highlight)

    def road_colors(self, i: int, *, highlight: int | None = None) -> np.ndarray:
        """RGB per road row: class colour, recoloured by the layers (closed roads)."""
        r = self.city.roads
        rgb = self._once("road class", lambda: style.colors_for(
            r["class"] if "class" in r else [None] * len(r), style.ROAD_CLASS_COLORS)).copy()
        if self.run is not None:
            for layer in self.layers.values():
                rgb = layer.road_colors(self._frame(i), rgb)
        return _highlighted(rgb, highlight)

    def roads_closed(self, i: int) -> np.ndarray:
        """Boolean per road: impassable at frame ``i`` by any layer."""
        closed = np.zeros(len(self.city.roads), bool)
        if self.run is not None:
            for layer in self.layers.values():
                c = layer.road_closed(self._frame(i))
                if c is not None:
                    closed |= np.asarray(c, bool)
        return closed

    def sensor_status(self, i: int) -> pd.Series:
        """Status (``ok``, ``warning``, ``alarm``, ``no data``) per station id at frame ``i``."""
        sensors = self.city.sensors
        if sensors is None or len(sensors.stations) == 0:
            return pd.Series([], dtype=str)
        if self.run is None:
            return pd.Series("no data", index=sensors.stations["id"].to_numpy())
        i = self._frame(i)
        if i not in self._status:      # asked by the map and the 3D view for each frame
            status = sensors.status(self.times[i])
            if isinstance(status, pd.DataFrame):
                status = status.set_index("id")["status"] if "id" in status else status["status"]
            if len(self._status) > 256:
                self._status.clear()
            self._status[i] = status.reindex(sensors.stations["id"].to_numpy()).fillna(
                "no data").astype(str)
        return self._status[i]

    def sensor_colors(self, i: int, *, highlight: int | None = None) -> np.ndarray:
        """RGB per station row by its status at frame ``i``."""
        rgb = style.colors_for(self.sensor_status(i).to_numpy(), {
            **palette.SENSOR_STATUS_COLORS, "other": palette.SENSOR_STATUS_COLORS["no data"]})
        return _highlighted(rgb, highlight)

    def _once(self, key: str, make) -> np.ndarray:
        """A colouring that does not change with the frame, computed once."""
        if key not in self._static:
            self._static[key] = make()
        return self._static[key]

    def cell_colors(self, block: str, per_feature: np.ndarray) -> np.ndarray:
        """Spread per-feature colours onto the cells of a scene block through its
        ``<feature>_index`` cell data."""
        mesh = self.scene.blocks[block]
        key = {"buildings": "building_index", "roads": "road_index",
               "sensors": "sensor_index"}[block]
        return np.ascontiguousarray(per_feature[np.asarray(mesh.cell_data[key], dtype=np.int64)])

    def legends(self, building_mode: str) -> list[Legend]:
        """The keys of every colouring on screen with buildings in ``building_mode``."""
        out = []
        if building_mode == "use":
            b = self.city.buildings
            uses = sorted(set(b["use"].astype(str))) if "use" in b else []
            out.append(Legend("Buildings by use", key="use", classes=tuple(
                (u, tuple(style.colors_for([u], style.BUILDING_USE_COLORS)[0])) for u in uses)))
        elif building_mode == "height":
            out.append(Legend("Building height", "m", key="height", stops=palette.HEIGHT_STOPS))
        for layer in self.layers.values():
            out += layer.legends(building_mode)
        if self.city.sensors is not None and len(self.city.sensors.stations):
            out.append(Legend("Sensors", key="sensors",
                              classes=tuple(palette.SENSOR_STATUS_COLORS.items())))
        out.append(Legend("Picked", key="picked", classes=(("picked feature",
                                                            palette.HIGHLIGHT),)))
        return out

    # -- numbers ---------------------------------------------------------
    @property
    def kpi_specs(self) -> list[Kpi]:
        """The KPI cards of every layer, in layer order."""
        return [k for layer in self.layers.values() for k in layer.kpis]

    def kpis(self, i: int) -> dict[str, float]:
        """KPI values of frame ``i`` in their shown units; empty without a run."""
        if self.run is None:
            return {}
        out: dict[str, float] = {}
        for layer in self.layers.values():
            out.update(layer.kpi_values(self._frame(i)))
        return out

    def kpi_difference(self, other: "ViewModel", i: int) -> dict[str, float]:
        """``other``'s KPIs minus this one's at the same elapsed frame (clamped)."""
        mine = self.kpis(i)
        theirs = other.kpis(min(i, other.n_frames - 1))
        return {k: theirs[k] - mine[k] for k in mine if k in theirs}

    # -- names -------------------------------------------------------------
    def target(self, feature_id) -> Target | None:
        """The building, road or sensor with id ``feature_id`` (None: not a feature)."""
        hit = self._ids.get(str(feature_id))
        if hit is None:
            return None
        kind, row = hit
        return Target(kind, row, str(feature_id), feature_names(self.city)[kind][row])

    def named(self, text: str) -> str:
        """``text`` with every feature id in it shown as ``Name (id)`` (ids already in
        parentheses after a name are left alone)."""
        def swap(m: re.Match) -> str:
            t = self.target(m.group(0))
            return t.label if t is not None else m.group(0)
        return re.sub(r"(?<!\()\b[A-Za-z]+\d+\b", swap, str(text))

    def events(self) -> pd.DataFrame:
        """The run's events for people: local time ``local`` (``HH:MM``, with the date
        when the events span days), ``engine``, readable
        ``kind``, ``place`` (the feature's name), ``message`` with names, and the
        target's ``target_kind``/``target_row``; empty without a run."""
        cols = ["local", "engine", "kind", "severity", "place", "message", "x", "y", "time",
                "target_kind", "target_row"]
        if self.run is None or self.run.events is None or len(self.run.events) == 0:
            return pd.DataFrame(columns=cols)
        ev = self.run.events.copy().reset_index(drop=True)
        t = pd.DatetimeIndex(pd.to_datetime(ev["time"], utc=True)).tz_convert(self.city.timezone)
        one_day = len(set(t.date)) <= 1
        ev["local"] = t.strftime("%H:%M" if one_day else "%m-%d %H:%M")
        if "engine" not in ev:
            ev["engine"] = next(iter(self.layers), "")
        targets = [self.target(w) for w in ev.get("where", pd.Series([""] * len(ev)))]
        ev["place"] = [t.label if t else self.named(w) for t, w in
                       zip(targets, ev.get("where", [""] * len(ev)))]
        ev["target_kind"] = [t.kind if t else "" for t in targets]
        ev["target_row"] = [t.row if t else -1 for t in targets]
        ev["kind"] = [EVENT_KINDS.get(k, str(k).replace("_", " ").capitalize())
                      for k in ev["kind"]]
        ev["message"] = [self.named(m) for m in ev.get("message", [""] * len(ev))]
        for c in cols:
            if c not in ev:
                ev[c] = np.nan if c in ("x", "y") else ""
        return ev[cols]

    # -- cameras -----------------------------------------------------------
    def camera_on(self, x: float, y: float, *, distance: float = 600.0) -> Camera:
        """A camera looking down at 45 degrees from the south onto world point ``(x, y)``."""
        fx, fy = x - self.origin[0], y - self.origin[1]
        fz = self._ground_at(x, y) - self.origin[2]
        d = distance / np.sqrt(2.0)
        return Camera((fx, fy - d, fz + d), (fx, fy, fz))

    def camera_presets(self) -> dict[str, Camera]:
        """``"district"`` (the whole city) and one camera per named place."""
        xmin, ymin, xmax, ymax = self.city.bounds
        span = max(xmax - xmin, ymax - ymin)
        out = {"district": self.camera_on((xmin + xmax) / 2, (ymin + ymax) / 2,
                                          distance=1.3 * span)}
        for name, (x, y) in sorted(self.city.places.items()):
            out[name] = self.camera_on(x, y)
        return out

    def place_label(self, key: str) -> str:
        """A place's name for people: ``"Whole district"``, or the place key in words
        with the name of the named building at (or nearest within 150 m of) it."""
        if key == "district":
            return "Whole district"
        words = key.replace("_", " ").capitalize()
        if key not in self.city.places or "name" not in self.city.buildings:
            return words
        b = self.city.buildings
        d = shapely.distance(b.geometry.values, shapely.Point(*self.city.places[key]))
        named = b["name"].notna().to_numpy() & (b["name"].astype(str) != "").to_numpy()
        d = np.where(named, d, np.inf)
        k = int(np.argmin(d)) if d.size else -1
        return f"{words} – {b['name'].iloc[k]}" if k >= 0 and d[k] <= 150.0 else words

    def _ground_at(self, x: float, y: float) -> float:
        if self.city.terrain is None:
            return float(self.origin[2])
        z = float(self.city.terrain.sample(np.array([x]), np.array([y]))[0])
        return z if np.isfinite(z) else float(self.origin[2])


def _highlighted(rgb: np.ndarray, row: int | None) -> np.ndarray:
    if row is None or not 0 <= int(row) < len(rgb):
        return rgb
    rgb = rgb.copy()
    rgb[int(row)] = palette.HIGHLIGHT
    return rgb


_NAMES: dict[int, tuple[object, dict]] = {}


def feature_names(city) -> dict[str, list[str]]:
    """The name people know each building, road and sensor by (per table, by row): its
    ``name``, or for an unnamed building its use and the nearest road's name
    ("Residential building on Heping Lane"), for an unnamed road its class.

    Examples
    --------
    >>> feature_names(city)["buildings"][0]   # doctest: +SKIP
    'Fenghuang Sports Centre Stadium'
    """
    cached = _NAMES.get(id(city))
    if cached is not None and cached[0] is city:
        return cached[1]
    b, r = city.buildings, city.roads
    road_names = _own_names(r)
    roads = [n or f"{str(c).capitalize()} road" for n, c in zip(
        road_names, r["class"] if "class" in r else ["unnamed"] * len(r))]
    buildings = _own_names(b)
    unnamed = [k for k, n in enumerate(buildings) if not n]
    if unnamed:
        uses = b["use"].astype(str).to_numpy() if "use" in b else np.full(len(b), "")
        near = _nearest_roads(b.geometry.values[unnamed], r)
        for k, j in zip(unnamed, near):
            what = f"{uses[k].capitalize()} building" if uses[k] else "Building"
            buildings[k] = f"{what} on {roads[j]}" if j >= 0 else what
    sensors = _own_names(city.sensors.stations) if city.sensors is not None else []
    names = {"buildings": buildings, "roads": roads,
             "sensors": [n or "Sensor" for n in sensors]}
    _NAMES[id(city)] = (city, names)
    return names


def _own_names(table) -> list[str]:
    if table is None or "name" not in table:
        return [""] * (0 if table is None else len(table))
    return ["" if pd.isna(n) else str(n) for n in table["name"]]


def _nearest_roads(geoms, roads) -> np.ndarray:
    if roads is None or not len(roads):
        return np.full(len(geoms), -1)
    tree = shapely.STRtree(roads.geometry.values)
    return np.asarray(tree.nearest(shapely.centroid(geoms)), dtype=np.int64)


def _id_index(city) -> dict[str, tuple[str, int]]:
    """Feature id -> (table, row) over buildings, roads and sensors."""
    out: dict[str, tuple[str, int]] = {}
    tables = [("buildings", city.buildings), ("roads", city.roads)]
    if city.sensors is not None:
        tables.append(("sensors", city.sensors.stations))
    for kind, table in tables:
        if table is not None and "id" in table:
            out.update({str(v): (kind, k) for k, v in enumerate(table["id"].to_numpy())})
    return out
