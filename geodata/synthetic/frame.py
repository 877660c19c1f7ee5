"""The district frame: extent, street-grid rotation, local metres <-> grid, cell masks."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from pyproj import Transformer
from scipy import ndimage

from geodata.synthetic.parameters import CELL, CENTRE_LONLAT, CRS_EPSG, THETA_DEG

__all__ = ["Frame", "district_frame", "scale_of", "cell_centres", "local_transform",
           "rasterize_mask", "smooth_noise", "point_xy"]


@dataclass(frozen=True)
class Frame:
    """Extent of the district and its rotated street-grid frame (local metres)."""

    x0: float
    y0: float
    width: float
    height: float
    theta: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.width / 2, self.height / 2

    def to_grid(self, xy: np.ndarray) -> np.ndarray:
        """(x, y) local metres -> (u, v) along the rotated street grid."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        d = np.asarray(xy, dtype=float) - self.centre
        return np.stack([d[..., 0] * c + d[..., 1] * s, -d[..., 0] * s + d[..., 1] * c], -1)

    def from_grid(self, uv: np.ndarray) -> np.ndarray:
        """(u, v) grid metres -> (x, y) local metres."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        uv = np.asarray(uv, dtype=float)
        x = uv[..., 0] * c - uv[..., 1] * s + self.centre[0]
        y = uv[..., 0] * s + uv[..., 1] * c + self.centre[1]
        return np.stack([x, y], -1)

    def box(self) -> shapely.Polygon:
        return shapely.box(0, 0, self.width, self.height)


def district_frame(scale: float) -> Frame:
    """The frame of a district ``scale`` times 4 km x 3 km, centred on :data:`CENTRE_LONLAT`."""
    to_gk = Transformer.from_crs(4326, CRS_EPSG, always_xy=True)
    cx, cy = to_gk.transform(*CENTRE_LONLAT)
    width, height = 4000.0 * scale, 3000.0 * scale
    x0 = round((cx - width / 2) / 100) * 100
    y0 = round((cy - height / 2) / 100) * 100
    return Frame(x0, y0, width, height, math.radians(THETA_DEG))


def scale_of(f: Frame) -> float:
    """Linear scale of a frame relative to the full district."""
    return f.width / 4000.0


# -- terrain ---------------------------------------------------------------
def cell_centres(f: Frame) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` meshgrids of the terrain cell centres in local metres (row 0 north)."""
    cols, rows = int(round(f.width / CELL)), int(round(f.height / CELL))
    x = (np.arange(cols) + 0.5) * CELL
    y = f.height - (np.arange(rows) + 0.5) * CELL
    return np.meshgrid(x, y)


def local_transform(f: Frame) -> Affine:
    """Affine transform of the terrain grid in local metres."""
    return Affine(CELL, 0, 0, 0, -CELL, f.height)


def rasterize_mask(f: Frame, geoms, all_touched: bool = False) -> np.ndarray:
    """Boolean terrain-grid mask of the cells covered by ``geoms``."""
    geoms = [g for g in np.atleast_1d(geoms) if g is not None and not g.is_empty]
    shape = (int(round(f.height / CELL)), int(round(f.width / CELL)))
    if not geoms:
        return np.zeros(shape, bool)
    return rasterio.features.rasterize(geoms, out_shape=shape, transform=local_transform(f),
                                       all_touched=all_touched, dtype="uint8").astype(bool)


def smooth_noise(shape, rng: np.random.Generator, sigma_cells: float) -> np.ndarray:
    """Gaussian-smoothed white noise with unit standard deviation."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_cells, mode="reflect")
    return field / field.std()


def point_xy(g) -> np.ndarray:
    """``(x, y)`` of a point on the surface of ``g``."""
    return shapely.get_coordinates(shapely.point_on_surface(g))[0]
