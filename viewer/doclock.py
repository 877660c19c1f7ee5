"""Running a callback with the session's document lock held.

Panel runs some browser events without Bokeh's document lock (a table's
selection, a custom component's message). A callback that then changes a plain
Bokeh model (a map's data source, a chart's marker) makes the Bokeh server raise
``RuntimeError: _pending_writes should be non-None`` and stops half-way, so the
3D view, the map and the charts miss the change. :func:`locked` runs such a
callback on the next tick of the session's loop, where Bokeh holds the lock;
with the lock already held, or without a server session (tests, notebooks), it
runs at once.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

import panel as pn

__all__ = ["locked", "has_lock"]


def has_lock(doc=None) -> bool:
    """True when the current session's document lock is held, or there is no
    server session at all (changes then need no lock)."""
    doc = doc or pn.state.curdoc
    session = getattr(getattr(doc, "session_context", None), "_session", None)
    if session is None:
        return True
    # Bokeh's ServerSession keeps a list of pending writes exactly while it holds the lock
    return getattr(session, "_pending_writes", None) is not None


def locked(fn: Callable, *args, **kwargs) -> None:
    """Call ``fn(*args, **kwargs)`` with the document lock held (now or on the next tick).

    Examples
    --------
    >>> locked(print, "no session: runs now")
    no session: runs now
    """
    doc = pn.state.curdoc
    if has_lock(doc):
        fn(*args, **kwargs)
    else:
        doc.add_next_tick_callback(partial(fn, *args, **kwargs))
