"""What a traffic run means: the link table, KPIs per frame, events and extra groups.

- :func:`link_table`: the static link table of the ``traffic`` group (road id,
  direction, name, class, length, lanes, midpoint, line coordinates).
- :func:`kpis`: per frame ``vehicles_on_network``, ``vehicles_waiting``,
  ``mean_speed_kmh`` (space-mean, vehicle weighted), ``total_delay_veh_h``
  (cumulative: time on the links beyond free-flow time, plus waiting at
  origins), ``links_congested`` (mean speed below ``congestion_threshold`` of
  the free speed with at least one vehicle), ``links_closed``,
  ``trips_arrived`` (since the start).
- :func:`outcome`: KPIs, events (a road congested for :data:`CONGESTED_FRAMES`
  frames in a row, closed roads with vehicles held, counters far from the model) and the groups ``traffic_fit`` (counts
  against the model per counter, GEH), ``traffic_trips`` and ``traffic_zones``.

Examples
--------
>>> lines = summary_lines(run)          # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from twin.alerts import EVENT_COLUMNS
from twin.engines import Outcome
from twin.engines.traffic.calibration import geh

__all__ = ["link_table", "kpis", "counter_series", "outcome", "summary_lines"]

CONGESTED_FRAMES = 3
"""A road raises a congestion event when it stays congested for this many frames."""

GEH_EVENT = 10.0
"""A counter whose model flow is farther than this GEH from its reading raises an event."""


def link_table(net, model_length_m: np.ndarray) -> xr.Dataset:
    """Static link variables (``link`` dimension; line coordinates on ``vertex``)."""
    L = net.links
    lx, ly = net.padded_lines()
    return xr.Dataset(
        {"road": ("link", L["road"].to_numpy(str).astype(object)),
         "road_name": ("link", L["name"].to_numpy(str).astype(object)),
         "road_class": ("link", L["class"].to_numpy(str).astype(object)),
         "direction": ("link", L["direction"].to_numpy(str).astype(object)),
         "upstream": ("link", L["upstream"].to_numpy(np.int64)),
         "downstream": ("link", L["downstream"].to_numpy(np.int64)),
         "length_m": ("link", L["length_m"].to_numpy(float), {"units": "m"}),
         "model_length_m": ("link", np.asarray(model_length_m, float),
                            {"units": "m", "long_name": "length in the engine (>= one step)"}),
         "lanes": ("link", L["lanes"].to_numpy(float)),
         "free_speed": ("link", L["free_speed_ms"].to_numpy(float), {"units": "m/s"}),
         "capacity": ("link", net.road.capacity_vps, {"units": "veh/s"}),
         "link_x": ("link", L["x"].to_numpy(float), {"units": "m"}),
         "link_y": ("link", L["y"].to_numpy(float), {"units": "m"}),
         "line_x": (("link", "vertex"), lx, {"units": "m"}),
         "line_y": (("link", "vertex"), ly, {"units": "m"})},
        coords={"link": np.arange(len(L))})


def _congested(frames: xr.Dataset, threshold: float) -> np.ndarray:
    u = frames["free_speed"].values[None, :]
    return ((frames["speed"].values < threshold * u) & (frames["vehicles"].values >= 1.0))


def kpis(frames: xr.Dataset, threshold: float) -> pd.DataFrame:
    """Key figures per frame (see the module docstring)."""
    t = frames["time"].values.astype(float)
    dens = frames["density"].values.astype(float)
    flow = frames["flow"].values.astype(float)
    L = frames["model_length_m"].values
    u = frames["free_speed"].values
    veh_mean = (dens * L).sum(axis=1)                       # mean vehicles over the frame
    vkm = (dens * L * frames["speed"].values).sum(axis=1)   # veh*m/s (= flow*L but at frame 0)
    free_veh = (flow * L / u).sum(axis=1)                   # vehicles needed at free speed
    waiting = frames["waiting"].values.astype(float)
    dt = np.diff(t, prepend=t[0])
    delay = np.clip(veh_mean - free_veh, 0.0, None) * dt / 3600.0 + waiting * dt / 3600.0
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(veh_mean > 0, vkm / veh_mean * 3.6, np.nan)
    arrived = frames["arrived"].values.astype(float)
    return pd.DataFrame({
        "time_s": t,
        "vehicles_on_network": frames["vehicles"].values.astype(float).sum(axis=1),
        "vehicles_waiting": waiting,
        "mean_speed_kmh": speed,
        "total_delay_veh_h": np.cumsum(delay),
        "links_congested": _congested(frames, threshold).sum(axis=1),
        "links_closed": (frames["capacity_factor"].values == 0).sum(axis=1),
        "trips_arrived": arrived - arrived[0]})


def counter_series(frames: xr.Dataset, counters: pd.DataFrame, readings: pd.DataFrame,
                   start: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Per frame and counter: (reading, model) mean flows (veh/h) over the frame interval."""
    t = frames["time"].values.astype(float)
    flow = frames["flow"].values.astype(float)
    model = np.full((t.size, len(counters)), np.nan)
    obs = np.full((t.size, len(counters)), np.nan)
    r = readings[readings["sensor_id"].isin(counters["counter"])]
    rel = (r["time"] - start).dt.total_seconds().to_numpy()
    for k, (cid, links) in enumerate(zip(counters["counter"], counters["links"])):
        model[:, k] = flow[:, list(links)].sum(axis=1) * 3600.0
        mine = (r["sensor_id"] == cid).to_numpy()
        for i in range(1, t.size):
            sel = mine & (rel >= t[i - 1]) & (rel < t[i])
            if sel.any():
                obs[i, k] = r["value"].to_numpy(float)[sel].mean()
    model[0] = np.nan
    return obs, model


def _fit_group(adapter, frames) -> xr.Dataset:
    fit = adapter.fit
    obs, model = counter_series(frames, adapter.counters, adapter.city.sensors.readings,
                                adapter.scenario.start)
    run_obs, run_model = np.nanmean(obs[1:], axis=0), np.nanmean(model[1:], axis=0)
    c = {"counter": fit["counter"].to_numpy(str).astype(object)}
    return xr.Dataset(
        {"road": ("counter", fit["road"].to_numpy(str).astype(object)),
         "road_name": ("counter", fit["name"].to_numpy(str).astype(object)),
         "x": ("counter", fit["x"].to_numpy(float)), "y": ("counter", fit["y"].to_numpy(float)),
         "reading_vph": ("counter", fit["reading_vph"].to_numpy(float)),
         "prior_vph": ("counter", fit["prior_vph"].to_numpy(float)),
         "fitted_vph": ("counter", fit["fitted_vph"].to_numpy(float)),
         "geh_prior": ("counter", geh(fit["prior_vph"], fit["reading_vph"])),
         "geh_fit": ("counter", geh(fit["fitted_vph"], fit["reading_vph"])),
         "run_reading_vph": ("counter", run_obs), "run_model_vph": ("counter", run_model),
         "geh_run": ("counter", geh(run_model, run_obs)),
         "observed_vph": (("time", "counter"), obs),
         "modelled_vph": (("time", "counter"), model),
         "geh": (("time", "counter"), geh(model, obs))},
        coords={"time": frames["time"].values, **c},
        attrs={"global_factor": float(adapter.global_factor),
               "assumption": "a reading is the two-way flow of the matched road (veh/h)"})


def _trips_group(adapter) -> xr.Dataset:
    trips = adapter.engine.trips
    z = adapter.zones
    starts = z.origin_nodes
    start_of = pd.Series(np.repeat(z.table["zone"].to_numpy(), starts.shape[1]),
                         index=starts.ravel())
    start_of = start_of[~start_of.index.duplicated()]
    zone_of = pd.Series(z.table["zone"].to_numpy(), index=z.nodes)
    shift = adapter.settings.warmup_s
    stats = {k: float(v) for k, v in adapter.engine.travel_time_stats().items()}
    return xr.Dataset(
        {"origin": ("trip", start_of.reindex(trips["origin"]).to_numpy(str).astype(object)),
         "origin_node": ("trip", trips["origin"].to_numpy(np.int64)),
         "destination": ("trip", zone_of.reindex(trips["destination"]).to_numpy(str)
                         .astype(object)),
         "depart_s": ("trip", trips["depart_s"].to_numpy(float) - shift, {"units": "s"}),
         "arrive_s": ("trip", trips["arrive_s"].to_numpy(float) - shift, {"units": "s"}),
         "count": ("trip", trips["count"].to_numpy(float), {"units": "veh"}),
         "unserved": ("trip", trips["unserved"].to_numpy(float), {"units": "veh"})},
        attrs=stats)


def _zones_group(adapter) -> xr.Dataset:
    z = adapter.zones.table
    return xr.Dataset({c: ("zone", z[c].to_numpy(float)) for c in
                       ("x", "y", "residents", "productions", "attractions")} |
                      {"kind": ("zone", z["kind"].to_numpy(str).astype(object)),
                       "node": ("zone", z["node"].to_numpy(np.int64))},
                      coords={"zone": z["zone"].to_numpy(str).astype(object)})


def _episodes(flag: np.ndarray, frames: int = 1) -> np.ndarray:
    """(frame, item) where a flag turns on (after being off, or at frame 0) and stays on
    for at least ``frames`` frames."""
    held = flag.copy()
    for k in range(1, frames):
        held[:-k] &= flag[k:]
        held[-k:] = False
    prev = np.vstack([np.zeros((1, flag.shape[1]), bool), flag[:-1]])
    return np.argwhere(held & ~prev)


def _events(adapter, frames, fit: xr.Dataset) -> pd.DataFrame:
    start, s = adapter.scenario.start, adapter.settings
    t = frames["time"].values.astype(float)
    roads = adapter.net.links["road"].to_numpy(str)
    names = adapter.net.links["name"].to_numpy(str)
    road_ids, road_of = np.unique(roads, return_inverse=True)
    rows = []

    def by_road(flag):
        out = np.zeros((flag.shape[0], road_ids.size), bool)
        for i in range(flag.shape[0]):
            out[i, np.unique(road_of[flag[i]])] = True
        return out

    first = {r: i for i, r in reversed(list(enumerate(roads)))}
    cong = _congested(frames, s.congestion_threshold)
    speed = frames["speed"].values
    for f, r in _episodes(by_road(cong), CONGESTED_FRAMES):
        rid = road_ids[r]
        sel = (road_of == r) & cong[f]
        k = np.flatnonzero(sel)[np.argmin(speed[f, sel])]
        rows.append((t[f], "traffic_congestion", "warning", rid, frames["link_x"].values[k],
                     frames["link_y"].values[k],
                     f"{names[k] or rid} ({rid}) congested: {speed[f, k] * 3.6:.0f} km/h, "
                     f"{speed[f, k] / frames['free_speed'].values[k]:.0%} of its free speed"))
    closed = frames["capacity_factor"].values == 0
    held = closed & (frames["vehicles"].values >= 0.5)
    for f, r in _episodes(by_road(held)):
        rid = road_ids[r]
        k = first[rid]
        n = float(frames["vehicles"].values[f, road_of == r].sum())
        rows.append((t[f], "road_closed_vehicles", "alarm", rid, frames["link_x"].values[k],
                     frames["link_y"].values[k],
                     f"{names[k] or rid} ({rid}) is closed with {n:.0f} vehicles on it"))
    g = fit["geh"].values
    bad = np.nan_to_num(g, nan=0.0) > GEH_EVENT
    for f, c in _episodes(bad):
        rows.append((t[f], "counter_mismatch", "info", str(fit["counter"].values[c]),
                     float(fit["x"].values[c]), float(fit["y"].values[c]),
                     f"counter {fit['counter'].values[c]} on {fit['road_name'].values[c]} reads "
                     f"{fit['observed_vph'].values[f, c]:.0f} veh/h, the model "
                     f"{fit['modelled_vph'].values[f, c]:.0f} (GEH {g[f, c]:.1f})"))
    ev = pd.DataFrame(rows, columns=["t", "kind", "severity", "where", "x", "y", "message"])
    ev.insert(0, "time", start + pd.to_timedelta(ev.pop("t"), unit="s"))
    ev["engine"] = "traffic"
    return ev[EVENT_COLUMNS]


def outcome(adapter, frames: xr.Dataset) -> Outcome:
    """KPIs, events and the extra groups of a traffic run."""
    fit = _fit_group(adapter, frames)
    return Outcome(kpis=kpis(frames, adapter.settings.congestion_threshold),
                   events=_events(adapter, frames, fit),
                   groups={"traffic_fit": fit, "traffic_trips": _trips_group(adapter),
                           "traffic_zones": _zones_group(adapter)})


def summary_lines(run) -> list[str]:
    """Lines for ``twin run``: vehicles, speed, delay, trips and the counter fit."""
    k = run.kpis
    if "vehicles_on_network" not in k or not len(k):
        return []
    peak = k.loc[k["vehicles_on_network"].idxmax()]
    lines = [f"  Traffic:   peak {peak['vehicles_on_network']:,.0f} vehicles on the roads at "
             f"{peak['time'].strftime('%H:%M')}; mean speed {k['mean_speed_kmh'].min():.0f}-"
             f"{k['mean_speed_kmh'].max():.0f} km/h",
             f"  Trips:     {k['trips_arrived'].iloc[-1]:,.0f} arrived; delay "
             f"{k['total_delay_veh_h'].iloc[-1]:,.0f} veh-h; up to "
             f"{int(k['links_congested'].max())} links congested, "
             f"{int(k['links_closed'].max())} closed"]
    try:
        fit = run._group("traffic_fit")
    except Exception:                      # a partial run may lack it
        return lines
    g = fit["geh_run"].values
    ok = np.isfinite(g)
    if ok.any():
        lines.append(f"  Counters:  {int((g[ok] < 5).sum())} of {int(ok.sum())} within GEH 5 "
                     f"over the run (median GEH {np.median(g[ok]):.1f})")
    return lines
