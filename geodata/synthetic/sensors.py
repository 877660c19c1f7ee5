"""Sensors of the district: stations and 72 hours of readings (rain, levels, counts)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from geodata.storm import WUHAN, chicago_hyetograph
from geodata.synthetic.frame import Frame, point_xy, scale_of
from geodata.synthetic.parameters import (CONCERT_H, HOURS, LAKE_LEVEL, START, STEP_S,
                                           STORM_DURATION_S, STORM_RETURN_PERIOD,
                                           STORM_START_H)
from geodata.synthetic.water import bank_y

__all__ = ["make_stations", "make_readings"]


def _junctions(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Points where two or more arterial pieces meet a third street, in local metres."""
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(roads.geometry.values, 0)),
                      shapely.get_coordinates(shapely.get_point(roads.geometry.values, -1))])
    art = np.tile((roads["class"] == "arterial").values, 2)
    key = ends.round(2)
    nodes, inv, deg = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    n_art = np.bincount(inv.ravel(), weights=art, minlength=len(nodes))
    return nodes[(deg >= 3) & (n_art >= 2)]


def _spread(points: np.ndarray, n: int, first: np.ndarray) -> np.ndarray:
    """Pick ``n`` points far apart (farthest-point sampling from ``first``)."""
    chosen = [int(np.argmin(np.hypot(*(points - first).T)))]
    dist = np.hypot(*(points - points[chosen[0]]).T)
    while len(chosen) < min(n, len(points)):
        k = int(np.argmax(dist))
        chosen.append(k)
        dist = np.minimum(dist, np.hypot(*(points - points[k]).T))
    return points[chosen]


def make_stations(f: Frame, w: dict, roads: gpd.GeoDataFrame, sites: dict,
              rng: np.random.Generator) -> pd.DataFrame:
    """Rain gauges, water-level gauges, traffic counters and crowd counters."""
    rows = []
    gauges = [(0.12, 0.18), (0.42, 0.30), (0.80, 0.14), (0.36, 0.82), (0.86, 0.62), (0.60, 0.55)]
    for k, (fx, fy) in enumerate(gauges):
        rows.append((f"RG{k + 1:02d}", f"Rain gauge {k + 1}", "rain_gauge", "mm/h",
                     fx * f.width, fy * f.height, 30.0, 50.0))
    lake = w["lake"].exterior
    canal_mid = shapely.line_interpolate_point(w["canal_line"], 0.5, normalized=True)
    px = w["pump"][0]
    levels = [
        ("WL01", "Yangtze gauge at the pumping station", (px + 30, bank_y(f, np.array([px]))[0]
                                                          + 15), 25.0, 27.0),
        ("WL02", "Yanglan Lake north gauge", point_xy(shapely.line_interpolate_point(
            lake, 0.25, normalized=True)), 19.5, 20.5),
        ("WL03", "Yanglan Lake south gauge", point_xy(shapely.line_interpolate_point(
            lake, 0.75, normalized=True)), 19.5, 20.5),
        ("WL04", "Drainage canal gauge", point_xy(canal_mid), 19.5, 20.5),
        ("WL05", "Pumping station forebay", tuple(w["pump"] - [0.0, 6.0]), 19.3, 20.0),
    ]
    for sid, name, (x, y), warn, alarm in levels:
        rows.append((sid, name, "water_level", "m", x, y, warn, alarm))
    junctions = _spread(_junctions(roads), 16, np.array([0.5 * f.width, 0.5 * f.height]))
    for k, (x, y) in enumerate(junctions):
        rows.append((f"TC{k + 1:02d}", f"Traffic counter {k + 1}", "traffic_counter", "veh/h",
                     x, y, 3600.0, 4500.0))
    uv = sites["stadium"]["centre_uv"]
    a, b = np.array(sites["stadium"]["size"]) / 2
    crowd = [("CC01", "Stadium north gate", uv + [0, 0.72 * b], 1500.0, 2500.0),
             ("CC02", "Stadium east gate", uv + [0.72 * a, 0], 1500.0, 2500.0),
             ("CC03", "Stadium south gate", uv + [0, -0.72 * b], 1500.0, 2500.0),
             ("CC04", "Station plaza", sites["station"]["centre_uv"] + [0, 45.0 * scale_of(f)],
              1200.0, 2000.0),
             ("CC05", "Station concourse", sites["station"]["centre_uv"] - [0, 20 * scale_of(f)],
              800.0, 1500.0)]
    for sid, name, p, warn, alarm in crowd:
        x, y = f.from_grid(p)
        rows.append((sid, name, "crowd_counter", "persons", x, y, warn, alarm))
    return pd.DataFrame(rows, columns=["id", "name", "kind", "unit", "x", "y", "warning",
                                       "alarm"])


# -- 72 hours of readings -----------------------------------------------------
def _hour(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((hours - centre + 12) % 24 - 12) / width) ** 2)


def _rain(stations: pd.DataFrame, t_h: np.ndarray, rng: np.random.Generator
          ) -> dict[str, np.ndarray]:
    """Per-gauge rain (mm/h over the 5 min ending at each time): the Chicago storm."""
    _, storm = chicago_hyetograph(STORM_RETURN_PERIOD, STORM_DURATION_S, STEP_S,
                                  peak_ratio=0.4, formula=WUHAN)
    gauges = stations[stations["kind"] == "rain_gauge"]
    x = gauges["x"].values
    shift = np.round((x - x.min()) / max(np.ptp(x), 1.0) * 4).astype(int)   # 0-20 min, W->E
    k0 = int(round(STORM_START_H * 3600 / STEP_S))
    out = {}
    for sid, sh, gain in zip(gauges["id"], shift, rng.uniform(0.78, 1.12, len(gauges))):
        r = np.zeros(len(t_h))
        k = k0 + sh + 1 + np.arange(len(storm))
        r[k] = gain * storm
        r += gain * 2.5 * np.exp(-((t_h - (STORM_START_H - 0.3)) / 0.25) ** 2)    # leading drizzle
        r += gain * 6.0 * np.exp(-((t_h - 54.5) / 0.5) ** 2)                     # morning shower
        r *= np.clip(1 + 0.06 * rng.standard_normal(len(t_h)), 0.7, 1.3)
        out[sid] = np.round(np.where(r < 0.2, 0.0, r), 1)
    return out


def _lake(rain_mm_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lake level (m) and catchment runoff (mm/h) under ``rain_mm_h``.

    Runoff (coefficient 0.65) from a catchment 21 times the lake's area passes
    a linear reservoir (k = 1.2 h) into the lake; the pumping station lowers
    the lake by up to 0.10 m/h, throttled as the level nears 18.5 m.
    """
    dt, k_s, ratio, coeff = float(STEP_S), 1.2 * 3600, 21.0, 0.65
    pump = 0.10 / 3600
    store, level = 0.0, LAKE_LEVEL - 0.05
    out, runoff = np.empty(len(rain_mm_h)), np.empty(len(rain_mm_h))
    for k, r in enumerate(rain_mm_h):          # 864 steps: a tiny serial recursion
        store += coeff * r / 1000 / 3600 * dt
        q = store / k_s * dt
        store -= q
        level += ratio * q - pump * dt * np.clip((level - LAKE_LEVEL) / 0.3, 0.0, 1.0)
        runoff[k] = q / dt * 3600 * 1000
        out[k] = level
    return out, runoff


def make_readings(stations: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """72 h of 5-minute readings of every station (long format, values as text)."""
    n = HOURS * 3600 // STEP_S
    t_h = np.arange(n) * STEP_S / 3600.0
    clock = (t_h % 24)
    weekend = t_h >= 48                    # 2024-07-06 is a Saturday
    values = _rain(stations, t_h, rng)
    mean_rain = np.mean(list(values.values()), axis=0)
    lake, runoff = _lake(mean_rain)
    for sid in stations.loc[stations["kind"] == "water_level", "id"]:
        if sid == "WL01":
            v = 24.6 + 0.95 * t_h / HOURS + 0.05 * np.sin(2 * np.pi * (t_h - 5) / 24)
        elif sid in ("WL02", "WL03"):
            v = lake + (0.01 if sid == "WL03" else 0.0)
        elif sid == "WL04":
            v = lake + 0.004 * runoff
        else:
            v = lake + 0.004 * runoff - 0.4 * np.clip((lake - LAKE_LEVEL) / 0.3, 0.0, 1.0)
        values[sid] = np.round(v + 0.006 * rng.standard_normal(n), 2)

    storm = ndimage.uniform_filter1d(mean_rain, 7)
    dip = 1 - 0.55 * np.clip(storm / 60.0, 0, 1)
    weekday_p = (0.07 + 0.9 * _hour(clock, 8.0, 1.1) + 0.85 * _hour(clock, 18.0, 1.3)
                 + 0.45 * _hour(clock, 12.5, 3.0))
    weekend_p = 0.07 + 0.55 * _hour(clock, 11.0, 3.0) + 0.55 * _hour(clock, 17.0, 2.5)
    profile = np.where(weekend, weekend_p, weekday_p) * dip
    ingress = np.exp(-((t_h - (CONCERT_H[0] - 0.6)) / 0.7) ** 2)
    egress = np.exp(-((t_h - (CONCERT_H[1] + 0.15)) / 0.25) ** 2)
    tc = stations[stations["kind"] == "traffic_counter"]
    venue = stations.loc[stations["id"] == "CC01", ["x", "y"]].values[0]
    near_venue = np.hypot(tc["x"].values - venue[0], tc["y"].values - venue[1])
    near_venue = near_venue <= np.sort(near_venue)[min(2, len(near_venue) - 1)]
    for sid, peak, close in zip(tc["id"], rng.uniform(2200, 3600, len(tc)), near_venue):
        lam = peak * profile + (1500 * egress + 700 * ingress if close else 0)
        values[sid] = rng.poisson(lam).astype(float)

    commute = np.where(weekend, 0.6 * _hour(clock, 12.0, 3.0),
                       _hour(clock, 7.8, 0.8) + 1.1 * _hour(clock, 18.0, 1.0))
    shelter = 0.5 * np.clip(storm / 40.0, 0, 1)
    night = (clock > 0.5) & (clock < 5.5)
    for sid, base, scale in (("CC04", 60, 900), ("CC05", 40, 650)):
        lam = np.where(night, 5, base + scale * (commute + shelter))
        values[sid] = rng.poisson(lam).astype(float)
    for sid, share in (("CC01", 0.45), ("CC02", 0.30), ("CC03", 0.25)):
        lam = 20 + share * (2600 * ingress + 5200 * egress)
        values[sid] = rng.poisson(lam).astype(float)

    times = (START + pd.to_timedelta(np.arange(n) * STEP_S, unit="s")).strftime(
        "%Y-%m-%dT%H:%M:%S+08:00")
    frames = []
    for sid in stations["id"]:
        keep = rng.random(n) > 0.002
        if sid == "RG05":             # a 30-minute outage during the storm
            keep &= ~((t_h >= STORM_START_H + 2.2) & (t_h < STORM_START_H + 2.7))
        v = values[sid]
        text = (np.char.mod("%d", v.astype(int)) if sid[:2] in ("TC", "CC")
                else np.char.mod("%.2f" if sid.startswith("WL") else "%.1f", v))
        frames.append(pd.DataFrame({"sensor_id": sid, "time": times[keep], "value": text[keep]}))
    return pd.concat(frames, ignore_index=True)
