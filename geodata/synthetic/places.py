"""Named places of the district (camera targets, the venue, the station...)."""
from __future__ import annotations

import numpy as np

from geodata.synthetic.frame import Frame
from geodata.synthetic.water import levee_y

__all__ = ["make_places"]


def make_places(f: Frame, w: dict, sites: dict, school: dict) -> dict:
    """Named camera targets in local metres (shifted to the CRS on writing)."""
    places = {
        "lake": w["lake_centre"],
        "venue": f.from_grid(sites["stadium"]["centre_uv"]),
        "station": f.from_grid(sites["station"]["centre_uv"]),
        "hospital": f.from_grid(sites["hospital"]["centre_uv"]),
        "school": school["centre"],
        "town_centre": np.array([0.52 * f.width, 0.73 * f.height]),
        "pump_station": w["pump"],
        "levee": np.array([0.5 * f.width, levee_y(f, np.array([0.5 * f.width]))[0]]),
    }
    return {k: np.asarray(v, float) for k, v in places.items()}
