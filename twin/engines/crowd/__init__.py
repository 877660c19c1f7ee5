"""The crowd engine's adapter: a venue and its streets -> :class:`simulations.crowd.CrowdModel`,
and density frames -> KPIs and events.

The walkable square around the venue comes from :mod:`.area`, the ``[crowd]``
table from :mod:`.settings`. At each exchange, cells where the flood engine's
water is deeper than ``walkable_depth_m`` are blocked (people reroute), people
walk slower through shallower water (:func:`simulations.crowd.wading_speed_factor`,
so they also prefer a dry detour when it is quicker), and an exit whose cells
are all under water closes.

Examples
--------
>>> from twin.engines import adapter
>>> adapter("crowd").order
20
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from geodata.errors import DataError
from simulations.crowd import wading_speed_factor
from twin import alerts
from twin.engines import Adapter, Outcome, register
from twin.engines.crowd.area import CrowdArea, counted_attendance, crowd_area
from twin.engines.crowd.settings import CrowdSettings, apply_change, parse_crowd

__all__ = ["CrowdAdapter", "CrowdArea", "CrowdSettings"]

_CLEAR_SHARE = 0.95


@register
class CrowdAdapter(Adapter):
    """The crowd engine in a scenario run (see the module docstring)."""

    name = "crowd"
    order = 20
    tables = ("crowd",)
    title = "Crowd"
    parse_table = staticmethod(parse_crowd)
    what_if = staticmethod(apply_change)

    def __init__(self, scenario, city) -> None:
        from simulations.crowd import CrowdModel
        super().__init__(scenario, city)
        s, src = self.settings, scenario.source
        self.area = crowd_area(city, s, file=src)
        self._model = CrowdModel(self.area.walkable, s.cell_size, self.area.exits, seed=s.seed,
                                 dt_s=s.dt_s, density_weight=s.density_weight)
        for name in s.closed_exits:
            self._model.close_exit(name)
        self.attendance = self._attendance()
        self._add_crowd()
        self._blocked_exits: list[tuple[float, str]] = []

    def _attendance(self) -> int:
        s = self.settings
        if s.attendance != "counters":
            return int(round(s.attendance))
        n = counted_attendance(self.city, self.area.counters, self.scenario.start, s.event_end_s)
        if n <= 0:
            raise DataError("key 'crowd.attendance' is \"counters\" but no crowd counter at the "
                            "venue's gates has readings after the event's end",
                            file=self.scenario.source,
                            fix="give the attendance as a number, e.g. attendance = 20000")
        return int(round(n))

    def _add_crowd(self) -> None:
        s = self.settings
        rng = np.random.default_rng(s.seed)
        rows, cols = np.nonzero(self.area.start)
        if len(rows) == 0:
            raise DataError("the venue has no walkable inside for the crowd",
                            file=self.scenario.source, fix="check the venue building")
        pick = rng.integers(0, len(rows), self.attendance)
        h = s.cell_size
        x = (cols[pick] + rng.uniform(0.2, 0.8, self.attendance)) * h
        y = (self.area.grid.shape[0] - rows[pick] - rng.uniform(0.2, 0.8, self.attendance)) * h
        pre = rng.exponential(s.premovement_s, self.attendance) if s.premovement_s > 0 else 0.0
        self._model.add_agents(x, y, start_s=s.event_end_s + pre, on_invalid="drop")

    # -- exchanges -------------------------------------------------------------------
    def exchange(self, others: dict) -> None:
        """Block the cells the flood makes too deep to walk, slow people wading the
        shallower water, and close drowned exits."""
        flood = others.get("flood")
        if flood is None or not hasattr(flood, "depth_grid"):
            return
        spec, depth = flood.depth_grid()
        xx, yy = np.meshgrid(self.area.grid.x, self.area.grid.y)
        r, c = spec.index(xx, yy)                      # the flood cell under each crowd cell
        on = spec.contains(r, c)
        d = np.zeros(xx.shape)
        d[on] = depth[r[on], c[on]]
        blocked = d > self.settings.walkable_depth_m
        self._model.set_speed_factor(wading_speed_factor(np.where(blocked, 0.0, d)), refresh=False)
        self._model.set_blocked(blocked)
        closed = {n for _, n in self._blocked_exits}
        for name, mask in self.area.exits.items():
            if name not in closed and blocked[mask].all():
                self._model.close_exit(name)
                self._blocked_exits.append((self._model.time_s, name))

    # -- frames --------------------------------------------------------------------------
    def _coords(self, ds: xr.Dataset) -> xr.Dataset:
        return ds.assign_coords(x=self.area.grid.x, y=self.area.grid.y)

    def frame(self) -> xr.Dataset:
        return self._coords(self._model.state())

    def static(self) -> xr.Dataset:
        g = self.area.gates
        return self._coords(xr.Dataset(
            {"walkable": (("y", "x"), self.area.walkable),
             "exit_cells": (("y", "x"), self._exit_labels()),
             "gate_x": ("gate", g["x"].to_numpy(float)), "gate_y": ("gate", g["y"].to_numpy(float))},
            coords={"gate": g["name"].to_numpy(object),
                    "y": self.area.grid.y, "x": self.area.grid.x},
            attrs={"venue": self.area.venue_id, "venue_name": self.area.venue_name,
                   "attendance": self.attendance, "cell_size": self.settings.cell_size}))

    def _exit_labels(self) -> np.ndarray:
        out = np.zeros(self.area.grid.shape, np.int16)
        for k, mask in enumerate(self.area.exits.values(), start=1):
            out[mask] = k
        return out

    def result(self) -> xr.Dataset:
        return self._coords(self._model.result()[["peak_density", "evacuation_time"]])

    def chunks(self, frame: xr.Dataset) -> dict:
        return {v: {"chunks": (1, *frame[v].shape)} for v in frame.data_vars}

    def provenance(self) -> dict:
        out = super().provenance()
        out.update(attendance=self.attendance, grid_shape=list(self.area.grid.shape))
        return out

    # -- outcome -------------------------------------------------------------------------
    def finish(self, frames: xr.Dataset) -> Outcome:
        s = self.settings
        t = frames["time"].values.astype(float)
        density = frames["density"]
        peak = density.max(dim=("y", "x")).values.astype(float)
        over = (density >= s.density_alert).sum(dim=("y", "x")).values * s.cell_size ** 2
        exited = frames["exited"].sum(dim="exit").values.astype(float)
        inside = frames["inside"].values.astype(float)
        times = self._model.exit_times
        clear = _clear_time(times, self.attendance)
        kpis = pd.DataFrame({"time_s": t, "people_inside": inside, "people_evacuated": exited,
                             "peak_density_pm2": peak, "area_over_density_m2": over,
                             "time_to_clear_95_s": np.where(t >= clear, clear, np.nan)})
        events = alerts.scenario_events(self._density_events(frames, t),
                                        self._exit_events())
        exits = xr.Dataset({"exited": frames["exited"].astype("float64"),
                            "exit_time": ("agent", times)},
                           attrs={"time_to_clear_95_s": clear})
        return Outcome(kpis=kpis, events=events, groups={"crowd_exits": exits})

    def _density_events(self, frames: xr.Dataset, t: np.ndarray) -> pd.DataFrame:
        """One event per frame where the peak density first crosses the alert level
        (again after falling below it), placed at the densest cell, with how long it lasted."""
        s, start = self.settings, self.scenario.start
        peak = frames["density"].max(dim=("y", "x")).values
        on = peak >= s.density_alert
        rises = np.flatnonzero(on & ~np.r_[False, on[:-1]])
        rows = []
        for i in rises:
            end = i + int(np.argmin(on[i:])) if not on[i:].all() else len(on)
            lasted = (t[end] - t[i]) if end < len(t) else np.nan
            d = frames["density"].isel(time=int(i)).values
            r, c = np.unravel_index(int(np.nanargmax(d)), d.shape)
            x, y = float(self.area.grid.x[c]), float(self.area.grid.y[r])
            place = self._nearest_gate(x, y)
            how = f"for {lasted / 60:.0f} min" if np.isfinite(lasted) else "until the end"
            rows.append({"time": start + pd.Timedelta(seconds=float(t[i])), "kind": "crowd_density",
                         "severity": "alarm" if peak[i] >= 1.5 * s.density_alert else "warning",
                         "where": place, "x": x, "y": y,
                         "message": f"crowd density {peak[i]:.1f} persons/m2 near {place} "
                                    f"(alert level {s.density_alert:g}), {how}"})
        return pd.DataFrame(rows, columns=alerts.EVENT_COLUMNS[:-1])

    def _nearest_gate(self, x: float, y: float) -> str:
        g = self.area.gates
        if len(g) == 0:
            return self.area.venue_name
        d = np.hypot(g["x"] - x, g["y"] - y).to_numpy()
        k = int(np.argmin(d))
        return str(g["name"].iloc[k]) if d[k] < 150 else f"{self.area.venue_name} streets"

    def _exit_events(self) -> pd.DataFrame:
        rows = []
        for t, name in self._blocked_exits:
            ys, xs = np.nonzero(self.area.exits[name])
            x, y = float(self.area.grid.x[xs].mean()), float(self.area.grid.y[ys].mean())
            rows.append({"time": self.scenario.start + pd.Timedelta(seconds=t),
                         "kind": "exit_blocked", "severity": "alarm", "where": name, "x": x,
                         "y": y, "message": f"exit {name} is under water and closed; "
                                            "people reroute to the other exits"})
        return pd.DataFrame(rows, columns=alerts.EVENT_COLUMNS[:-1])

    @classmethod
    def summary(cls, run) -> list[str]:
        k = run.kpis
        if "people_evacuated" not in k:
            return []
        crowd = run["crowd"]
        n = crowd.attrs.get("attendance", float("nan"))
        clear = k["time_to_clear_95_s"].dropna()
        when = f"95% out after {clear.iloc[0] / 60:.1f} min" if len(clear) else "95% not out"
        return [f"  Crowd:     {n:,.0f} people leave {crowd.attrs.get('venue_name', 'the venue')}:"
                f" {when}; peak density {k['peak_density_pm2'].max():.1f} persons/m2"]


def _clear_time(exit_times: np.ndarray, attendance: int) -> float:
    """When 95 % of the crowd was out (NaN if never)."""
    done = np.sort(exit_times[np.isfinite(exit_times)])
    need = int(np.ceil(_CLEAR_SHARE * attendance))
    return float(done[need - 1]) if need and len(done) >= need else float("nan")
