"""The forcing of a flood model: rain, roof drainage, losses, inflows, pumps, held levels.

:class:`Sources` is the part of :class:`~simulations.flood.FloodModel` that
checks and stores the forcing (the setters) and packs it for the kernels
(:class:`~simulations.flood.kernels.Forcing`).

Examples
--------
>>> import numpy as np
>>> from simulations.flood import FloodModel
>>> m = FloodModel(np.zeros((5, 5)), 1.0)
>>> m.add_inflow(2, 2, [0, 60], [1.0, 1.0])
>>> int(m._forcing().src_cell[0])
12
"""
from __future__ import annotations

import numpy as np

from . import kernels
from .forcing import MM_H, pack_series, rain_frames, rate_grid, time_series

__all__ = ["Sources", "grid_cell"]


def grid_cell(row, col, shape, what: str) -> tuple[int, int]:
    """``(row, col)`` as ints, checked to lie on a grid of ``shape``; ``what`` names the caller.

    Examples
    --------
    >>> grid_cell(1, 2.0, (3, 3), "gauge")
    (1, 2)
    """
    r, c = int(row), int(col)
    if r != row or c != col or not (0 <= r < shape[0] and 0 <= c < shape[1]):
        raise ValueError(f"{what}: cell (row={row}, col={col}) is outside the "
                         f"{shape[0]} x {shape[1]} grid; give whole row/col indices in range")
    return r, c


class Sources:
    """Forcing setters of :class:`~simulations.flood.FloodModel` (a mixin on its state)."""

    def _mask(self, mask, what: str) -> np.ndarray:
        m = np.asarray(mask)
        if m.shape != self.shape:
            raise ValueError(f"FloodModel: {what} mask has shape {m.shape} but the grid is {self.shape}")
        if m.dtype != bool:
            raise ValueError(f"FloodModel: {what} mask must be boolean (got {m.dtype})")
        return m.copy()

    def _open_cell(self, row, col, what: str) -> int:
        r, c = grid_cell(row, col, self.shape, what)
        if self._blocked[r, c]:
            raise ValueError(f"{what}: cell (row={r}, col={c}) is blocked (a building); "
                             f"move it to an open cell")
        return r * self.shape[1] + c

    def add_inflow(self, row: int, col: int, times_s, discharge_m3s) -> None:
        """Add a point inflow hydrograph (m3/s), linear between points, zero outside them.

        Examples
        --------
        >>> import numpy as np
        >>> from simulations.flood import FloodModel
        >>> m = FloodModel(np.zeros((5, 5)), 1.0)
        >>> m.add_inflow(2, 2, [0, 60, 120], [0, 1.5, 0])
        """
        cell = self._open_cell(row, col, "add_inflow")
        t, q = time_series(times_s, discharge_m3s, "add_inflow discharge_m3s")
        self._inflows.append((cell, t, q))

    def set_rainfall(self, times_s, intensity_mm_h) -> None:
        """Set the rainfall (mm/h), piecewise constant: value ``k`` applies on ``[t_k, t_{k+1})``.

        ``intensity_mm_h`` is ``(n,)`` (uniform) or ``(n, rows, cols)``. With one
        value per time the last value holds on; with one value fewer than times
        the times are step edges and the rain stops at the last one. No rain
        falls on blocked cells. Replaces any earlier rainfall.

        Examples
        --------
        >>> import numpy as np
        >>> from simulations.flood import FloodModel
        >>> m = FloodModel(np.zeros((5, 5)), 1.0)
        >>> m.set_rainfall([0, 1800, 3600], [20.0, 50.0])   # stops at 1 h
        """
        self._rain = rain_frames(times_s, intensity_mm_h, self.shape, self._dtype)

    def set_losses(self, rate_mm_h) -> None:
        """Set drainage/infiltration losses (mm/h), uniform or per cell, taken while water is there.

        Examples
        --------
        >>> import numpy as np
        >>> from simulations.flood import FloodModel
        >>> FloodModel(np.zeros((5, 5)), 1.0).set_losses(10.0)
        """
        self._loss = rate_grid(rate_mm_h, self.shape, "set_losses", "rate_mm_h", "mm/h",
                               MM_H, self._dtype)

    def add_pump(self, row: int, col: int, capacity_m3s: float, start_level_m: float) -> None:
        """Add a pump removing up to ``capacity_m3s`` while the water level exceeds ``start_level_m``.

        The pump never draws the level below ``start_level_m`` (a water-surface
        elevation, same datum as the bed).

        Examples
        --------
        >>> import numpy as np
        >>> from simulations.flood import FloodModel
        >>> FloodModel(np.zeros((5, 5)), 1.0).add_pump(2, 2, 0.5, 0.1)
        """
        cell = self._open_cell(row, col, "add_pump")
        cap, level = float(capacity_m3s), float(start_level_m)
        if not (np.isfinite(cap) and cap >= 0):
            raise ValueError(f"add_pump: capacity_m3s must be a non-negative number (got {capacity_m3s})")
        if not np.isfinite(level):
            raise ValueError(f"add_pump: start_level_m must be a finite level in m (got {start_level_m})")
        self._pumps.append((cell, cap, level))

    def add_level_boundary(self, mask, times_s, level_m) -> None:
        """Hold the water surface at ``level_m`` (linear in time, held at the ends) on masked cells.

        Each step the masked cells get depth ``max(level - z, 0)``; the volume
        this adds or removes is booked as ``boundary`` in the volume balance.

        Examples
        --------
        >>> import numpy as np
        >>> from simulations.flood import FloodModel
        >>> m = FloodModel(np.zeros((5, 5)), 1.0)
        >>> edge = np.zeros((5, 5), bool); edge[:, 0] = True
        >>> m.add_level_boundary(edge, [0, 3600], [0.5, 1.2])
        """
        m = self._mask(mask, "add_level_boundary")
        if (m & self._blocked).any():
            raise ValueError(f"add_level_boundary: {int((m & self._blocked).sum())} masked cells are "
                             f"blocked; remove them from the mask")
        if not m.any():
            raise ValueError("add_level_boundary: the mask selects no cell")
        t, v = time_series(times_s, level_m, "add_level_boundary level_m", nonnegative=False)
        self._levels.append((np.flatnonzero(m), t, v))

    def set_roof_drainage(self, outlet) -> None:
        """Send the rain falling on blocked cells (roofs) to open cells (downpipes).

        Parameters
        ----------
        outlet : array_like of int
            ``(rows, cols)``: for each blocked cell the flat index
            ``row * cols + col`` of the open cell that receives its rain, or -1
            to drop it (as without drainage). Values on open cells are ignored.

        Each step the rain on a drained roof cell is added to its outlet cell
        and booked as ``rain`` in the volume balance. Replaces any earlier
        drainage.

        Examples
        --------
        >>> import numpy as np
        >>> from simulations.flood import FloodModel
        >>> blocked = np.zeros((4, 4), bool); blocked[1:3, 1:3] = True
        >>> m = FloodModel(np.zeros((4, 4)), 1.0, blocked=blocked, dtype="float64")
        >>> outlet = np.full((4, 4), -1); outlet[blocked] = 3 * 4 + 0     # all to (3, 0)
        >>> m.set_roof_drainage(outlet)
        >>> m.set_rainfall([0], [3600.0])                                  # 1 mm/s
        >>> round(float(m.run(1, 1).depth.sum()), 6)                      # 16 cells x 1 mm
        0.016
        """
        o = np.asarray(outlet)
        if o.shape != self.shape:
            raise ValueError(f"set_roof_drainage: outlet has shape {o.shape} but the grid is "
                             f"{self.shape}; give one flat cell index (or -1) per cell")
        if o.dtype.kind not in "iu":
            raise ValueError(f"set_roof_drainage: outlet must hold integer flat indices "
                             f"row * cols + col (got dtype {o.dtype})")
        o = o.astype(np.int64)
        src = np.flatnonzero(self._blocked & (o >= 0))
        dst = o.ravel()[src]
        n = self.shape[0] * self.shape[1]
        bad = dst >= n
        if bad.any():
            r, c = divmod(int(src[bad][0]), self.shape[1])
            raise ValueError(f"set_roof_drainage: outlet of blocked cell (row {r}, col {c}) is "
                             f"{int(dst[bad][0])}, outside the {n} cells; give -1 or a flat index")
        onroof = self._blocked.ravel()[dst]
        if onroof.any():
            r, c = divmod(int(src[onroof][0]), self.shape[1])
            raise ValueError(f"set_roof_drainage: blocked cell (row {r}, col {c}) drains to "
                             f"{divmod(int(dst[onroof][0]), self.shape[1])}, itself blocked; "
                             f"give an open cell")
        self._roof = (src.astype(np.int64), dst.astype(np.int64))

    def _forcing(self) -> kernels.Forcing:
        src = pack_series([(t, q) for _, t, q in self._inflows])
        lev = pack_series([(t, v) for _, t, v in self._levels])
        lev_cells = [c for c, _, _ in self._levels]
        rain_t, rain_v, rain_peak, rain_end = self._rain
        return kernels.Forcing(
            rain_t=rain_t, rain_v=rain_v, rain_peak=rain_peak, rain_end=float(rain_end),
            loss=self._loss, src_cell=np.array([c for c, _, _ in self._inflows], np.int64),
            src_ptr=src[0], src_t=src[1], src_q=src[2],
            pump_cell=np.array([p[0] for p in self._pumps], np.int64),
            pump_cap=np.array([p[1] for p in self._pumps], np.float64),
            pump_level=np.array([p[2] for p in self._pumps], np.float64),
            lev_cell=np.concatenate(lev_cells) if lev_cells else np.zeros(0, np.int64),
            lev_series=np.repeat(np.arange(len(lev_cells)),
                                 [len(c) for c in lev_cells]).astype(np.int64),
            lev_ptr=lev[0], lev_t=lev[1], lev_v=lev[2], roof_src=self._roof[0],
            roof_dst=self._roof[1])

    def _max_dt(self) -> float:
        """Longest step: ``max_dt``, and short enough that a point inflow into dry ground
        cannot pile more than the CFL depth in one step."""
        dt = self._params.max_dt
        qmax = max((float(q.max()) for _, _, q in self._inflows), default=0.0)
        if qmax > 0:
            alpha, dx = self._params.alpha, self._dx
            dt = min(dt, (alpha * dx * dx / np.sqrt(kernels.GRAVITY * qmax)) ** (2.0 / 3.0))
        return dt
