"""The flood engine's adapter: City + ``[flood]``, ``[forcing]``, ``[impacts]`` ->
:class:`simulations.flood.FloodModel`, and flood frames -> impacts, KPIs, events.

The modules of this package: :mod:`.settings` (the scenario tables),
:mod:`.grid` (the city on the flood grid), :mod:`.forcing` (rain, river,
initial levels), :mod:`.impacts` (buildings, roads, key figures).

Examples
--------
>>> from twin.engines import adapter
>>> adapter("flood").tables
('flood', 'forcing', 'impacts')
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from geodata.errors import DataError, DataWarning
from twin import alerts
from twin.engines import Adapter, Outcome, register
from twin.engines.flood import forcing as _forcing
from twin.engines.flood.grid import FloodGrid, flood_grid, locate, lower_ground
from twin.engines.flood.impacts import Impacts, impacts
from twin.engines.flood.settings import FloodSettings, apply_change, parse_flood

__all__ = ["FloodAdapter", "Forcing", "build_forcing", "build_model", "FloodGrid", "Impacts"]

_TIME_VARS = ("depth", "speed", "hazard")


@dataclass
class Forcing:
    """Engine inputs derived from a scenario and its city.

    Attributes
    ----------
    rain : tuple or None
        ``(times_s, intensity_mm_h)``; intensity a series or ``(time, rows, cols)``.
    losses_mm_h : numpy.ndarray or None
        Drainage loss rate per cell.
    river : tuple or None
        ``(mask, times_s, level_m)`` for a level boundary.
    pumps : list of tuple
        ``(row, col, capacity_m3s, start_level_m)``.
    breach : numpy.ndarray or None
        The ground with the levee breach cut in.
    depth : numpy.ndarray
        Initial water depth (water bodies filled to their initial levels).
    breach_time_s : float
        When the breach opens (s since the start).
    """

    rain: tuple | None
    losses_mm_h: np.ndarray | None
    river: tuple | None
    pumps: list
    breach: np.ndarray | None
    depth: np.ndarray
    breach_time_s: float = 0.0

    def rain_at(self, times_s: np.ndarray) -> np.ndarray:
        """Mean rain intensity (mm/h) over the grid at ``times_s`` (0 without rain);
        the series is piecewise constant, as the engine reads it."""
        if self.rain is None:
            return np.zeros(len(times_s))
        t, i = self.rain
        mean = i.reshape(len(t), -1).mean(axis=1) if np.ndim(i) == 3 else np.asarray(i, float)
        k = np.searchsorted(t, times_s, side="right") - 1
        return np.where(k >= 0, mean[np.clip(k, 0, None)], 0.0)


def build_forcing(scenario, city, grid: FloodGrid) -> Forcing:
    """Turn the scenario's flood forcing into engine inputs, checking every
    reference (gauges, places, water kinds) against the city.

    Raises
    ------
    DataError
        Unknown gauge, wrong kind of gauge, unknown place, location off the
        grid, no water of the river's kind; naming the scenario file and key.
    """
    src, f = scenario.source, scenario.flood
    rain = None
    if f.rain is not None and f.rain.source == "gauges":
        recorded = f.rain.recorded_start if f.rain.recorded_start is not None else scenario.start
        t, i = _forcing.rain_field(city.sensors, grid, recorded, scenario.duration_s,
                                   method=f.rain.interpolation, power=f.rain.power,
                                   gauges=f.rain.gauges, fill=f.rain.fill, file=src)
        rain = (t + f.rain.delay_s, i * np.float32(f.rain.scale))
    elif f.rain is not None:
        rain = _forcing.design_rain(f.rain.return_period, f.rain.duration_s,
                                    peak_ratio=f.rain.peak_ratio, step_s=f.rain.step_s,
                                    delay_s=f.rain.delay_s, scale=f.rain.scale)
    losses = None
    if f.drainage_mm_h > 0:
        losses = np.where(grid.drained, f.drainage_mm_h, 0.0)
    pumps = []
    for k, p in enumerate(f.pumps):
        if p.enabled:
            row, col = _open_cell(grid, *_cell(city, grid, p.at, src, f"forcing.pumps[{k}].at"),
                                  src, f"forcing.pumps[{k}].at")
            pumps.append((row, col, p.capacity_m3s, p.start_level_m))
    breach, breach_time = None, 0.0
    if f.breach is not None and f.breach.enabled:
        if f.breach.time_s >= scenario.duration_s:
            raise DataError(f"key 'forcing.breach.time' ({f.breach.time_s:g} s) is not before "
                            f"the end of the scenario ({scenario.duration_s:g} s)", file=src,
                            fix="give a breach time within the duration, or enabled = false")
        _cell(city, grid, f.breach.at, src, "forcing.breach.at")
        xy = locate(city, f.breach.at, file=src, key="forcing.breach.at")
        breach = lower_ground(grid, xy, f.breach.width_m, f.breach.level_m)
        breach_time = f.breach.time_s
    depth = _forcing.initial_depth(grid, f.initial_levels, city.sensors, scenario.start,
                                   file=src)
    return Forcing(rain, losses, _river(scenario, city, grid), pumps, breach, depth,
                   breach_time)


def _river(scenario, city, grid: FloodGrid) -> tuple | None:
    src, river = scenario.source, scenario.flood.river
    if river is None:
        return None
    if river.gauge is not None:
        t, level = _forcing.river_level(city.sensors, river.gauge, scenario.start,
                                        scenario.duration_s, offset_m=river.offset_m,
                                        fill=river.fill, file=src)
    else:
        t = np.array([0.0, scenario.duration_s])
        level = np.full(2, river.level_m + river.offset_m)
    if river.water not in grid.water:
        raise DataError(f"key 'forcing.river.water' is {river.water!r} but the city has "
                        f"no water of that kind on the grid", file=src,
                        fix=f"use one of: {', '.join(sorted(grid.water)) or 'none'}")
    return (grid.water[river.water], t, level)


def _cell(city, grid, at, src, key) -> tuple[int, int]:
    x, y = locate(city, at, file=src, key=key)
    row, col = grid.index(x, y)
    if not grid.contains(row, col):
        raise DataError(f"key '{key}' ({x:.0f}, {y:.0f}) lies outside the flood grid",
                        file=src, fix="give a location inside the city's terrain")
    return int(row), int(col)


def _open_cell(grid: FloodGrid, row: int, col: int, src, key: str,
               reach: int = 3) -> tuple[int, int]:
    """The cell itself when open, else the nearest open cell within ``reach`` cells
    (a pump or outlet beside a building that fills its cell on a coarse grid), with a warning."""
    if not grid.blocked[row, col]:
        return row, col
    r0, c0 = max(row - reach, 0), max(col - reach, 0)
    window = ~grid.blocked[r0:row + reach + 1, c0:col + reach + 1]
    rr, cc = np.nonzero(window)
    if len(rr) == 0:
        raise DataError(f"key '{key}' lies in a building on the {grid.cell_size:g} m grid, with no "
                        f"open cell within {reach} cells", file=src,
                        fix="move the place off the building, or use smaller cells")
    k = int(np.argmin(np.hypot(rr + r0 - row, cc + c0 - col)))
    new = (int(rr[k] + r0), int(cc[k] + c0))
    warnings.warn(f"{src or 'scenario'}: key '{key}' lies in a building cell on the "
                  f"{grid.cell_size:g} m grid; it is moved to the nearest open cell {new}",
                  DataWarning, stacklevel=3)
    return new


def build_model(settings: FloodSettings, grid: FloodGrid, forcing: Forcing):
    """A :class:`simulations.flood.FloodModel` on ``grid`` with ``forcing`` applied."""
    from simulations.flood import FloodModel
    opened = forcing.breach is not None and forcing.breach_time_s <= 0
    elevation = forcing.breach if opened else grid.elevation
    model = FloodModel(elevation, grid.cell_size, manning=grid.manning, blocked=grid.blocked,
                       boundaries=dict(settings.boundaries), dtype=settings.dtype,
                       origin=grid.origin)
    model.depth = forcing.depth.astype(settings.dtype)
    if forcing.rain is not None:
        model.set_rainfall(*forcing.rain)
    if forcing.losses_mm_h is not None:
        model.set_losses(forcing.losses_mm_h)
    if forcing.river is not None:
        model.add_level_boundary(*forcing.river)
    for row, col, capacity, level in forcing.pumps:
        model.add_pump(row, col, capacity, level)
    if grid.roof_outlets is not None and hasattr(model, "set_roof_drainage"):
        model.set_roof_drainage(grid.roof_outlets)
    return model


@register
class FloodAdapter(Adapter):
    """The flood engine in a scenario run (see the module docstring)."""

    name = "flood"
    order = 0
    tables = ("flood", "forcing", "impacts")
    title = "Flood"
    parse_table = staticmethod(parse_flood)
    what_if = staticmethod(apply_change)

    def __init__(self, scenario, city) -> None:
        super().__init__(scenario, city)
        s = self.settings
        self.grid = flood_grid(city, s.cell_size, buildings=s.buildings,
                               manning_default=s.manning_default,
                               drained_classes=s.drained_classes, levees=s.levees)
        self.forcing = build_forcing(scenario, city, self.grid)
        self._model = build_model(s, self.grid, self.forcing)
        self._breach_at = (self.forcing.breach_time_s
                           if self.forcing.breach is not None and self.forcing.breach_time_s > 0
                           else None)

    def advance(self, until_s: float) -> None:
        """Advance, opening a levee breach at its time."""
        if self._breach_at is not None and self._breach_at < until_s:
            if self._breach_at > self._model.time_s:
                self._model.advance(self._breach_at)
            self._model.set_elevation(self.forcing.breach)
            self._breach_at = None
        self._model.advance(until_s)

    def _coords(self, ds: xr.Dataset) -> xr.Dataset:
        return ds.assign_coords(y=self.grid.y, x=self.grid.x)

    def static(self) -> xr.Dataset:
        return self._coords(xr.Dataset({"blocked": (("y", "x"), self.grid.blocked)}))

    def frame(self) -> xr.Dataset:
        state = self._model.state()
        return self._coords(state[[v for v in _TIME_VARS if v in state]]).astype("float32")

    def result(self) -> xr.Dataset:
        res = self._model.result()
        keep = [v for v in ("max_depth", "max_speed", "max_hazard", "arrival_time", "elevation")
                if v in res]
        return self._coords(res[keep])

    # -- exchanges offered to the engines after flood ------------------------------
    def road_depth_m(self) -> pd.Series:
        """Current maximum water depth (m) along each road of the city, by road id.

        Examples
        --------
        >>> flood.road_depth_m().loc["R00001"]        # doctest: +SKIP
        0.12
        """
        group, row, col = self.grid.road_cells
        depth = np.asarray(self._model.depth, float)
        out = np.zeros(len(self.grid.road_ids))
        if len(group):
            np.maximum.at(out, group, depth[row, col])
        return pd.Series(out, index=self.grid.road_ids, name="depth_m")

    def depth_grid(self):
        """Current water depth (m) and its grid: ``(GridSpec, depth (rows, cols))``."""
        return self.grid.spec, np.asarray(self._model.depth, float)

    def provenance(self) -> dict:
        out = super().provenance()
        out.update(volume_error=self._model.volume_error(), grid_shape=list(self.grid.shape),
                   cell_size_m=self.grid.cell_size)
        return out

    def finish(self, frames: xr.Dataset) -> Outcome:
        s, city, start = self.settings, self.city, self.scenario.start
        imp = impacts(frames, self.grid, city, s.impacts, start=start)
        times_s = imp.kpis["time_s"].to_numpy(float)
        kpis = imp.kpis.assign(rain_mm_h=self.forcing.rain_at(times_s),
                               sensors_in_alarm=alerts.sensors_in_alarm(city.sensors,
                                                                        imp.kpis["time"]))
        end = start + pd.Timedelta(seconds=float(times_s[-1]) if len(times_s) else 0.0)
        events = alerts.scenario_events(
            alerts.sensor_events(city.sensors, start, end),
            alerts.impact_events(imp, s.impacts, vital=_vital_ids(city)),
            alerts.hazard_events(kpis, s.impacts, places=city.places))
        return Outcome(kpis=kpis.drop(columns=["time"]), events=events,
                       groups={"impacts": imp.to_dataset()})

    @classmethod
    def summary(cls, run) -> list[str]:
        k = run.kpis
        lines = []
        if len(k) and "flooded_area_m2" in k:
            peak = k.loc[k["flooded_area_m2"].idxmax()]
            lines.append(f"  Flooding:  max depth {k['max_depth_m'].max():.2f} m on land; "
                         f"{peak['flooded_area_m2'] / 1e4:.2f} ha flooded at "
                         f"{peak['time'].strftime('%H:%M')}")
        imp = run.impacts
        if imp is not None:
            b, r = imp.buildings, imp.roads
            lines.append(f"  Buildings: {int(b['flooded'].sum())} of {len(b)} flooded, "
                         f"{b.loc[b['flooded'], 'people'].sum():,.0f} people affected")
            lines.append(f"  Roads:     {int(r['closed'].sum())} of {len(r)} closed at some time")
        p = run.provenance.get("engines", {}).get("flood", run.provenance)
        if "volume_error" in p:
            lines.append(f"  Water:     volume error {p['volume_error']:.2e}")
        return lines


def _vital_ids(city) -> list[str]:
    if "use" not in city.buildings:
        return []
    return list(city.buildings.loc[city.buildings["use"].isin(alerts.VITAL_USES), "id"])
