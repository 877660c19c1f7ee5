"""The viewer's view-model: a City, its 3D Scene and a Run, turned into what one
replay frame shows (water mesh, colour arrays, KPIs, clock), without a browser.

The 3D panel, the KPI board and the map ask this object for frame ``i`` and
never touch the run's arrays themselves, so everything the screen shows can be
tested here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyvista as pv

from scenes import style
from viewer import palette
from viewer.water import WaterSurface

__all__ = ["ViewModel", "KPI_FIELDS", "Camera"]

KPI_FIELDS: dict[str, tuple[str, str, str]] = {
    "flooded_area_m2": ("Flooded area", "ha", "{:,.1f}"),
    "max_depth_m": ("Max depth", "m", "{:.2f}"),
    "buildings_flooded": ("Buildings flooded", "", "{:,.0f}"),
    "roads_closed": ("Roads closed", "", "{:,.0f}"),
    "people_affected": ("People affected", "", "{:,.0f}"),
    "rain_mm_h": ("Rain now", "mm/h", "{:.1f}"),
    "sensors_in_alarm": ("Sensors in alarm", "", "{:,.0f}"),
}
"""KPI column of ``run.kpis`` -> (label, unit shown, format). Area is shown in hectares."""

_SHOWN_SCALE = {"flooded_area_m2": 1e-4}


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


class ViewModel:
    """What the screen shows at each replay frame.

    Parameters
    ----------
    city : twin.City
    scene : scenes.meshes.Scene
        The city's meshes around ``scene.origin``; buildings carry cell data
        ``building_index``, roads ``road_index``, sensors ``sensor_index``.
    run : twin.Run or None
        The replay; without one the view shows the dry city and no KPIs.

    Examples
    --------
    >>> vm = ViewModel(city, city_scene(city), twin.open_run("runs/demo.zarr"))  # doctest: +SKIP
    >>> vm.water(10).n_cells, vm.kpis(10)["max_depth_m"]                          # doctest: +SKIP
    """

    def __init__(self, city, scene, run=None) -> None:
        self.city = city
        self.scene = scene
        self.run = run
        self.origin = np.asarray(scene.origin, dtype=np.float64)
        self._surface = self._water_surface() if run is not None else None
        thresholds = getattr(getattr(run, "scenario", None), "impacts", None)
        self.road_closed_depth = float(getattr(thresholds, "road_closed_depth_m", 0.3))
        self.building_flooded_depth = float(getattr(thresholds, "building_flooded_depth_m", 0.15))

    # -- time ------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        """Number of replay frames (1 without a run)."""
        return 1 if self.run is None else int(self.run.flood.sizes["time"])

    @property
    def times(self) -> pd.DatetimeIndex:
        """Frame times, UTC-aware; empty without a run."""
        if self.run is None:
            return pd.DatetimeIndex([], tz="UTC")
        return pd.DatetimeIndex(self.run.times).tz_convert("UTC")

    def clock(self, i: int) -> str:
        """Local date and time of frame ``i`` in the city's time zone, e.g.
        ``"2024-07-05 14:30 CST"``."""
        if self.run is None:
            return "no run loaded"
        t = self.times[self._frame(i)].tz_convert(self.city.timezone)
        return t.strftime("%Y-%m-%d %H:%M:%S %Z")

    def frame_at(self, time) -> int:
        """The last frame at or before ``time`` (clamped to the run)."""
        t = pd.Timestamp(time)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return int(np.clip(self.times.searchsorted(t, side="right") - 1, 0, self.n_frames - 1))

    def _frame(self, i: int) -> int:
        if not 0 <= int(i) < self.n_frames:
            raise IndexError(f"frame {i} is outside the run's 0..{self.n_frames - 1}")
        return int(i)

    # -- meshes and colours ------------------------------------------------
    def _water_surface(self) -> WaterSurface:
        flood = self.run.flood
        x = flood["x"].to_numpy()
        y = flood["y"].to_numpy()
        if "elevation" in flood:
            ground = flood["elevation"].to_numpy()
        else:
            xx, yy = np.meshgrid(x, y)
            ground = self.city.terrain.sample(xx.ravel(), yy.ravel()).reshape(xx.shape)
        peak = flood["max_depth"] if "max_depth" in flood else flood["depth"].max("time")
        ever = WaterSurface(ground, x, y, tuple(self.origin)).wet(peak.to_numpy())
        return WaterSurface(ground, x, y, tuple(self.origin), cells=np.flatnonzero(ever))

    def depth(self, i: int) -> np.ndarray:
        """Water depth grid (m) of frame ``i``."""
        return self.run.flood["depth"].isel(time=self._frame(i)).to_numpy()

    def water(self, i: int) -> pv.PolyData:
        """Flood water surface of frame ``i`` (local coordinates, cell data ``depth``,
        ``rgb``); empty without a run or when dry."""
        if self.run is None:
            return pv.PolyData()
        mesh = self._surface.frame(self.depth(i))
        if mesh.n_cells:
            mesh.cell_data["rgb"] = palette.ramp(mesh.cell_data["depth"], palette.DEPTH_STOPS)
        return mesh

    @property
    def surface(self) -> WaterSurface | None:
        """The run's flood grid (None without a run)."""
        return self._surface

    def water_levels(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Wet cells and corner levels of frame ``i`` (see
        :meth:`viewer.water.WaterSurface.levels`) and the depth colour of every flood
        cell, uint8 ``(rows * cols, 3)`` row-major."""
        d = np.nan_to_num(self.depth(i))
        wet, level = self._surface.levels(d)
        return wet, level, palette.ramp(d.ravel(), palette.DEPTH_STOPS)

    def building_depth(self, i: int) -> np.ndarray:
        """Water depth (m) at each building (row of ``city.buildings``) at frame ``i``."""
        if self.run is None:
            return np.zeros(len(self.city.buildings))
        return np.nan_to_num(self.run.building_depth.isel(time=self._frame(i)).to_numpy())

    def road_depth(self, i: int) -> np.ndarray:
        """Water depth (m) on each road (row of ``city.roads``) at frame ``i``."""
        if self.run is None:
            return np.zeros(len(self.city.roads))
        return np.nan_to_num(self.run.road_depth.isel(time=self._frame(i)).to_numpy())

    def roads_closed(self, i: int) -> np.ndarray:
        """Boolean per road: impassable at frame ``i``."""
        return self.road_depth(i) >= self.road_closed_depth

    def building_colors(self, i: int, mode: str = "use", *,
                        highlight: int | None = None) -> np.ndarray:
        """RGB per building row: by ``"use"``, ``"height"`` or flood ``"impact"``.

        Parameters
        ----------
        i : int
            Frame (used by ``"impact"``).
        mode : {"use", "height", "impact"}
        highlight : int, optional
            Row of a building to paint in :data:`viewer.palette.HIGHLIGHT`.

        Returns
        -------
        numpy.ndarray
            uint8 ``(n_buildings, 3)``.
        """
        b = self.city.buildings
        if mode == "use":
            rgb = style.colors_for(b["use"] if "use" in b else [None] * len(b),
                                   style.BUILDING_USE_COLORS)
        elif mode == "height":
            rgb = palette.ramp(b["height"].to_numpy(float), palette.HEIGHT_STOPS)
        elif mode == "impact":
            rgb = palette.ramp(self.building_depth(i), palette.IMPACT_STOPS)
        else:
            raise ValueError(f"unknown building colour mode {mode!r}; use 'use', 'height' "
                             f"or 'impact'")
        if highlight is not None:
            rgb = rgb.copy()
            rgb[int(highlight)] = palette.HIGHLIGHT
        return rgb

    def road_colors(self, i: int) -> np.ndarray:
        """RGB per road row: class colour when open, red when impassable."""
        r = self.city.roads
        rgb = style.colors_for(r["class"] if "class" in r else [None] * len(r),
                               style.ROAD_CLASS_COLORS).copy()
        rgb[self.roads_closed(i)] = palette.ROAD_CLOSED
        return rgb

    def sensor_status(self, i: int) -> pd.Series:
        """Status (``ok``, ``warning``, ``alarm``, ``no data``) per station id at frame ``i``."""
        sensors = self.city.sensors
        if sensors is None or len(sensors.stations) == 0:
            return pd.Series([], dtype=str)
        if self.run is None:
            return pd.Series("no data", index=sensors.stations["id"].to_numpy())
        status = sensors.status(self.times[self._frame(i)])
        if isinstance(status, pd.DataFrame):
            status = status.set_index("id")["status"] if "id" in status else status["status"]
        return status.reindex(sensors.stations["id"].to_numpy()).fillna("no data").astype(str)

    def sensor_colors(self, i: int) -> np.ndarray:
        """RGB per station row by its status at frame ``i``."""
        return style.colors_for(self.sensor_status(i).to_numpy(), {
            **palette.SENSOR_STATUS_COLORS, "other": palette.SENSOR_STATUS_COLORS["no data"]})

    def cell_colors(self, block: str, per_feature: np.ndarray) -> np.ndarray:
        """Spread per-feature colours onto the cells of a scene block through its
        ``<feature>_index`` cell data."""
        mesh = self.scene.blocks[block]
        key = {"buildings": "building_index", "roads": "road_index",
               "sensors": "sensor_index"}[block]
        return np.ascontiguousarray(per_feature[np.asarray(mesh.cell_data[key], dtype=np.int64)])

    # -- numbers ---------------------------------------------------------
    def kpis(self, i: int) -> dict[str, float]:
        """KPI values of frame ``i`` in the units of :data:`KPI_FIELDS` (area in ha);
        empty without a run."""
        if self.run is None:
            return {}
        row = self.run.kpis.iloc[self._frame(i)]
        return {k: float(row[k]) * _SHOWN_SCALE.get(k, 1.0) for k in KPI_FIELDS if k in row}

    def kpi_difference(self, other: "ViewModel", i: int) -> dict[str, float]:
        """``other``'s KPIs minus this one's at the same elapsed frame (clamped)."""
        mine = self.kpis(i)
        theirs = other.kpis(min(i, other.n_frames - 1))
        return {k: theirs[k] - mine[k] for k in mine if k in theirs}

    def events(self) -> pd.DataFrame:
        """The run's events with a local-time column ``local``; empty without a run."""
        cols = ["local", "kind", "severity", "where", "message", "x", "y"]
        if self.run is None or self.run.events is None or len(self.run.events) == 0:
            return pd.DataFrame(columns=cols)
        ev = self.run.events.copy()
        t = pd.DatetimeIndex(pd.to_datetime(ev["time"], utc=True))
        ev["local"] = t.tz_convert(self.city.timezone).strftime("%m-%d %H:%M")
        for c in cols:
            if c not in ev:
                ev[c] = np.nan if c in ("x", "y") else ""
        return ev.reset_index(drop=True)

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

    def _ground_at(self, x: float, y: float) -> float:
        if self.city.terrain is None:
            return float(self.origin[2])
        z = float(self.city.terrain.sample(np.array([x]), np.array([y]))[0])
        return z if np.isfinite(z) else float(self.origin[2])
