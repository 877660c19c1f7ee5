"""Engine adapters: how each simulation engine meets the City and the runner.

Every engine in :mod:`simulations` has one adapter here, a subclass of
:class:`Adapter` in a module (or package) of this package named after its
scenario key (``flood``, ``traffic``, ``crowd``). An adapter

- parses its own ``[<name>]`` scenario table (and any other tables it
  claims, e.g. flood's ``[forcing]`` and ``[impacts]``) into settings;
- builds its engine from the City;
- at each exchange pulls what it needs from the engines before it in the
  exchange order (traffic reads flood depth on its links);
- writes the engine's frames, and at the end turns them into KPIs, events
  and extra groups of the run.

Adapters are found by module: :func:`adapters` imports every module of this
package once and collects the classes they :func:`register`. A test can
register a toy adapter the same way. The runner knows no engine by name.

Examples
--------
>>> from twin.engines import adapters
>>> sorted(adapters())[:1]
['flood']
"""
from __future__ import annotations

import abc
import importlib
import pkgutil
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import pandas as pd
import xarray as xr

__all__ = ["Adapter", "Outcome", "register", "unregister", "adapters", "adapter"]

_REGISTRY: dict[str, type["Adapter"]] = {}
_SCANNED = False


@dataclass
class Outcome:
    """What an engine's run means for the city, made at the end of a run.

    Attributes
    ----------
    kpis : pandas.DataFrame
        One row per frame: ``time_s`` and the engine's key figures.
    events : pandas.DataFrame
        Rows with :data:`twin.alerts.EVENT_COLUMNS`.
    groups : dict
        Extra Zarr groups of the run, name -> Dataset (e.g. flood ``impacts``).
    """

    kpis: pd.DataFrame
    events: pd.DataFrame
    groups: dict[str, xr.Dataset] = field(default_factory=dict)


class Adapter(abc.ABC):
    """Base class of the engine adapters.

    Class attributes
    ----------------
    name : str
        Scenario key and run group of the engine.
    order : int
        Exchange order; lower runs first (flood 0, traffic 10, crowd 20).
    tables : tuple of str
        Top-level scenario tables the adapter parses (its own name first).
    title : str
        For people (``"Flood"``).
    parse_table : callable
        ``parse_table(raw, ctx) -> settings``: parses the adapter's tables of the
        raw scenario, raising ``DataError`` through ``ctx``
        (:class:`twin.scenario.Checker`).
    what_if : callable or None
        ``what_if(raw, key, value, source) -> label or None``: the adapter's
        what-if shortcuts (see :meth:`twin.Scenario.with_changes`).

    Parameters
    ----------
    scenario : twin.Scenario
    city : twin.City
    """

    name: ClassVar[str]
    order: ClassVar[int] = 100
    tables: ClassVar[tuple[str, ...]] = ()
    title: ClassVar[str] = ""
    parse_table: ClassVar[Callable]
    what_if: ClassVar[Callable | None] = None

    def __init__(self, scenario, city) -> None:
        self.scenario = scenario
        self.city = city
        self.settings = scenario.engines[self.name]

    # -- scenario --------------------------------------------------------------
    @classmethod
    def parse(cls, raw: dict, ctx) -> Any:
        """Settings from the raw scenario (its :attr:`tables`); ``ctx`` is the
        scenario's checker (:class:`twin.scenario.Checker`) raising ``DataError``."""
        return cls.parse_table(raw, ctx)

    @classmethod
    def apply_change(cls, raw: dict, key: str, value: Any, source) -> str | None:
        """Apply a what-if shortcut ``key`` to the raw scenario; return its
        label, or None when the key is not this engine's."""
        return None if cls.what_if is None else cls.what_if(raw, key, value, source)

    # -- running -------------------------------------------------------------------
    @property
    def engine(self):
        """The :class:`simulations.engine.Engine` being driven (``self._model``)."""
        return self._model

    def exchange(self, others: dict[str, "Adapter"]) -> None:
        """Pull inputs from the engines earlier in the exchange order (default: none)."""

    def advance(self, until_s: float) -> None:
        """Advance the engine to ``until_s`` (scheduled changes such as a breach go here)."""
        self.engine.advance(until_s)

    def static(self) -> xr.Dataset:
        """Fields stored once at the start (coordinates, grids, link tables)."""
        return xr.Dataset()

    def frame(self) -> xr.Dataset:
        """The current frame to store (time-varying outputs, no ``time`` dimension)."""
        return self.engine.state()

    def result(self) -> xr.Dataset:
        """Accumulated fields stored (replaced) after each frame."""
        return self.engine.result()

    def chunks(self, frame: xr.Dataset) -> dict[str, dict]:
        """Zarr encoding of the frame variables (default: one chunk per frame)."""
        return {v: {"chunks": (1, *frame[v].shape)} for v in frame.data_vars}

    @abc.abstractmethod
    def finish(self, frames: xr.Dataset) -> Outcome:
        """KPIs, events and extra groups from the stored ``frames`` (lazy)."""

    def provenance(self) -> dict:
        """The engine's conservation account and statistics."""
        return {"balance": self.engine.balance(), "stats": self.engine.stats()}

    # -- replay ------------------------------------------------------------------------
    @classmethod
    def summary(cls, run) -> list[str]:
        """Lines for :meth:`twin.Run.summary` (default: none)."""
        return []


def register(cls: type[Adapter]) -> type[Adapter]:
    """Register an adapter class under its ``name`` (usable as a decorator).

    Examples
    --------
    >>> @register
    ... class Toy(Adapter): ...      # doctest: +SKIP
    """
    if not getattr(cls, "name", None):
        raise ValueError(f"adapter {cls.__name__} has no name")
    if not callable(getattr(cls, "parse_table", None)) and "parse" not in vars(cls):
        raise ValueError(f"adapter {cls.__name__} has no parse_table")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a registered adapter (for tests)."""
    _REGISTRY.pop(name, None)


def adapters() -> dict[str, type[Adapter]]:
    """Registered adapters by name, in exchange order; imports this package's modules once."""
    global _SCANNED
    if not _SCANNED:
        for mod in pkgutil.iter_modules(__path__):
            try:
                importlib.import_module(f"{__name__}.{mod.name}")
            except Exception as exc:            # noqa: BLE001 - one broken engine, not all
                warnings.warn(f"engine adapter {mod.name!r} cannot be loaded and is left out "
                              f"({type(exc).__name__}: {exc})", RuntimeWarning, stacklevel=2)
        _SCANNED = True
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].order, kv[0])))


def adapter(name: str) -> type[Adapter]:
    """The adapter registered as ``name``.

    Raises
    ------
    KeyError
        Naming the known engines.
    """
    known = adapters()
    if name not in known:
        raise KeyError(f"no engine {name!r}; known: {', '.join(known)}")
    return known[name]
