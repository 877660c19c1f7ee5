"""KPIs from hand-made frames: vehicles, speed, delay, congestion, closures, arrivals."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from twin.engines.traffic.outcome import _episodes, kpis


def frames():
    # two 1000 m links, free speed 10 m/s; frames at 0, 300, 600 s
    t = np.array([0.0, 300.0, 600.0])
    density = np.array([[0.0, 0.0], [0.01, 0.02], [0.01, 0.05]])     # veh/m
    speed = np.array([[10.0, 10.0], [10.0, 5.0], [10.0, 2.0]])          # m/s
    return xr.Dataset(
        {"density": (("time", "link"), density), "speed": (("time", "link"), speed),
         "flow": (("time", "link"), density * speed),
         "vehicles": (("time", "link"), density * 1000.0),
         "capacity_factor": (("time", "link"), [[1, 1], [1, 1], [0, 1]]),
         "waiting": ("time", [0.0, 12.0, 0.0]), "arrived": ("time", [5.0, 50.0, 150.0]),
         "model_length_m": ("link", [1000.0, 1000.0]), "free_speed": ("link", [10.0, 10.0])},
        coords={"time": t})


def test_kpis_from_hand_made_frames():
    k = kpis(frames(), threshold=0.5)
    np.testing.assert_allclose(k["vehicles_on_network"], [0.0, 30.0, 60.0])
    # vehicle-weighted speed: (10*10 + 20*5) / 30 m/s at 300 s
    assert k["mean_speed_kmh"].iloc[1] == pytest.approx(200.0 / 30.0 * 3.6)
    # delay: vehicles beyond free-flow need, 300 s each frame, plus waiting
    # frame 1: 30 - (0.1*1000/10 + 0.1*1000/10) = 10 veh -> 10*300/3600; waiting 12 veh
    # frame 2: 60 - (0.1*100 + 0.1*100) = 40 veh -> 40*300/3600
    d1 = (10.0 + 12.0) * 300 / 3600
    np.testing.assert_allclose(k["total_delay_veh_h"], [0.0, d1, d1 + 40.0 * 300 / 3600])
    assert k["links_congested"].tolist() == [0, 0, 1]     # 2 m/s < 0.5 x 10 m/s
    assert k["links_closed"].tolist() == [0, 0, 1]
    np.testing.assert_allclose(k["trips_arrived"], [0.0, 45.0, 145.0])


def test_episodes_need_their_length():
    f = np.array([[1, 0], [1, 1], [0, 1], [1, 1], [1, 0], [1, 0]], bool)
    assert _episodes(f).tolist() == [[0, 0], [1, 1], [3, 0]]
    assert _episodes(f, 3).tolist() == [[1, 1], [3, 0]]
