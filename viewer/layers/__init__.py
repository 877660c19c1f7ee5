"""Engine layers of the viewer: one module per engine, found by the engine's name.

A run lists its engines (``run.engines``, e.g. ``("flood",)``); for each one
the viewer imports ``viewer.layers.<name>`` and builds the :class:`Layer` that
module registers. No central list: adding an engine to the screen needs only
``viewer/layers/<name>.py`` (and its test). :func:`register` adds a layer class
by hand (a test's toy layer, a plug-in).

A layer says what its engine adds to the one screen, all optional:

* KPI cards (:class:`Kpi`): labels, units, formats of its columns of ``run.kpis``;
* colours of the city's features: extra building colour modes
  (:attr:`Layer.building_modes`), road states (a *line layer*: colour, width,
  closed), each with a :class:`Legend`;
* a *grid layer* on the ground (:meth:`Layer.surface`, :meth:`Layer.surface_frame`):
  a fixed grid of cells of which each frame shows some, at a height and in a
  colour (flood water; crowd density), drawn in 3D as a surface on the terrain
  (:meth:`Layer.drape`, :meth:`Layer.drape_frame`) and on the 2D map
  (:meth:`Layer.map_image`);
* building information over the run (:meth:`Layer.building_info`);
* what-if controls (:meth:`Layer.whatif_controls`) and the scenario changes they ask for.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:   # pragma: no cover
    from viewer.water import DrapeFrame, TerrainDrape, WaterSurface

__all__ = ["Layer", "Kpi", "Legend", "Control", "register", "layer_class", "engines_of",
           "build_layers", "RGB"]

RGB = tuple[int, int, int]

_REGISTRY: dict[str, type["Layer"]] = {}


@dataclass(frozen=True)
class Kpi:
    """One KPI card: column ``key`` of ``run.kpis`` shown as ``label`` in ``unit``.

    ``scale`` converts the stored SI value into the shown unit (m2 -> ha: 1e-4);
    ``higher_is_worse`` colours differences of a compared run.

    Examples
    --------
    >>> Kpi("max_depth_m", "Max depth", "m", "{:.2f}").text(1.234)
    '1.23 m'
    """

    key: str
    label: str
    unit: str = ""
    fmt: str = "{:,.0f}"
    scale: float = 1.0
    higher_is_worse: bool = True

    def text(self, value: float | None, *, signed: bool = False) -> str:
        """The shown text of ``value`` (already in the shown unit)."""
        if value is None or not np.isfinite(value):
            return "–"
        text = self.fmt.format(value)
        if signed and value >= 0:
            text = "+" + text
        return f"{text} {self.unit}".strip()


@dataclass(frozen=True)
class Legend:
    """The key of one colouring: a ramp (``stops``: value -> colour) or classes
    (``classes``: label -> colour), with its title and unit.

    Examples
    --------
    >>> Legend("Water depth", "m", stops=((0.0, (0, 0, 0)), (1.0, (9, 9, 9)))).kind
    'ramp'
    """

    title: str
    unit: str = ""
    stops: tuple[tuple[float, RGB], ...] = ()
    classes: tuple[tuple[str, RGB], ...] = ()
    key: str = ""

    @property
    def kind(self) -> str:
        """``"ramp"`` or ``"classes"``."""
        return "ramp" if self.stops else "classes"


@dataclass
class Control:
    """A what-if control: a Panel widget, why it is disabled (shown beside it and as
    its tooltip; empty when enabled) and the scenario changes it asks for."""

    widget: Any
    changes: Callable[[], dict]
    why_disabled: str = ""
    tags: dict = field(default_factory=dict)


class Layer:
    """What one engine adds to the screen; every hook may be left as it is here.

    Parameters
    ----------
    model : viewer.viewmodel.ViewModel
        Gives ``city``, ``scene``, ``run``, ``origin``, ``n_frames``, ``times``.

    Examples
    --------
    >>> class Toy(Layer):
    ...     name, title = "toy", "Toy engine"
    >>> register(Toy)
    >>> layer_class("toy") is Toy
    True
    """

    name: str = ""
    title: str = ""
    kpis: tuple[Kpi, ...] = ()
    building_modes: dict[str, str] = {}
    """Button label -> colour mode key this layer adds for buildings."""

    def __init__(self, model) -> None:
        self.model = model

    @property
    def data(self):
        """This engine's dataset of the run (``run[name]``), or None."""
        run = self.model.run
        if run is None:
            return None
        try:
            return run[self.name]
        except (TypeError, KeyError, AttributeError):
            return getattr(run, self.name, None)

    # -- numbers ----------------------------------------------------------------
    def kpi_values(self, i: int) -> dict[str, float]:
        """Values of :attr:`kpis` at frame ``i`` in their shown units."""
        run = self.model.run
        if run is None or run.kpis is None or len(run.kpis) <= i:
            return {}
        row = run.kpis.iloc[i]
        return {k.key: float(row[k.key]) * k.scale for k in self.kpis if k.key in row}

    # -- colours of city features ------------------------------------------------
    def building_colors(self, mode: str, i: int) -> np.ndarray | None:
        """RGB per building row for one of :attr:`building_modes` (None: not mine)."""
        return None

    def road_colors(self, i: int, rgb: np.ndarray) -> np.ndarray:
        """RGB per road row at frame ``i``, starting from ``rgb`` (a line layer
        recolours the roads it has a state for)."""
        return rgb

    def road_widths(self, i: int) -> np.ndarray | None:
        """Relative line width per road on the map (None: unchanged)."""
        return None

    def road_closed(self, i: int) -> np.ndarray | None:
        """Boolean per road row: impassable at frame ``i`` (None: no opinion)."""
        return None

    def legends(self, building_mode: str) -> list[Legend]:
        """Legends of what this layer colours while buildings are in ``building_mode``."""
        return []

    # -- a grid on the ground -------------------------------------------------------
    def surface(self) -> "WaterSurface | None":
        """The fixed grid this layer draws on (None: no grid)."""
        return None

    def surface_frame(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Shown cells (bool ``(rows, cols)``), corner heights (local, ``(rows + 1,
        cols + 1)``, NaN where unused) and colour of every cell (uint8
        ``(rows * cols, 3)``) at frame ``i``."""
        return None

    def drape(self) -> "TerrainDrape | None":
        """The grid as the 3D view draws it: a fixed mesh on the terrain (None: no grid)."""
        return None

    def drape_frame(self, i: int) -> "DrapeFrame | None":
        """Heights above the ground and colour classes of the :meth:`drape`'s vertices
        at frame ``i``."""
        return None

    def map_image(self, i: int) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
        """RGBA image (uint8 ``(rows, cols, 4)``, row 0 south) and its extent
        ``(x, y, width, height)`` in the city CRS for the 2D map."""
        return None

    # -- information and what-ifs ------------------------------------------------------
    def building_info(self, row: int, i: int) -> str:
        """HTML about building row ``row`` over the run (its state in this engine),
        frame ``i`` being on screen."""
        return ""

    def feature_at(self, x: float, y: float, i: int) -> str:
        """HTML about the point ``(x, y)`` at frame ``i`` (e.g. water depth there)."""
        return ""

    def sensor_models(self) -> dict:
        """Modelled series to draw beside a sensor's readings: sensor id ->
        ``pandas.Series`` indexed by time (tz-aware), in the sensor's unit."""
        return {}

    def whatif_controls(self, scenario) -> list[Control]:
        """What-if controls for ``scenario`` (the run's scenario)."""
        return []


def register(layer: type[Layer]) -> type[Layer]:
    """Make ``layer`` the layer of engine ``layer.name`` (usable as a decorator)."""
    if not layer.name:
        raise ValueError("layer: a Layer class needs a non-empty `name` (the engine's name)")
    _REGISTRY[layer.name] = layer
    return layer


def layer_class(engine: str) -> type[Layer] | None:
    """The layer of ``engine``: registered, or found in ``viewer.layers.<engine>``;
    None when there is none (the engine is then not drawn)."""
    if engine not in _REGISTRY:
        try:
            importlib.import_module(f"{__name__}.{engine}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{engine}":
                raise
            return None
    return _REGISTRY.get(engine)


def engines_of(run) -> tuple[str, ...]:
    """The engines of ``run`` (``run.engines``; a run without that attribute but
    with flood results is a flood run); empty without a run."""
    if run is None:
        return ()
    engines = getattr(run, "engines", None)
    if engines is not None:
        return tuple(engines)
    return ("flood",) if getattr(run, "flood", None) is not None else ()


def build_layers(model) -> dict[str, Layer]:
    """Engine name -> its layer for the run of ``model`` (engines without a layer are skipped)."""
    out = {}
    for name in engines_of(model.run):
        cls = layer_class(name)
        if cls is not None:
            out[name] = cls(model)
    return out
