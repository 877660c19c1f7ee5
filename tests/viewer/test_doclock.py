"""Callbacks that change Bokeh models run with the document lock held."""
from types import SimpleNamespace

import panel as pn
from bokeh.document import Document
from panel.io.state import set_curdoc

from viewer.doclock import has_lock, locked


def test_without_a_server_session_it_runs_at_once():
    done = []
    locked(done.append, 1)
    assert done == [1] and has_lock(Document())


def test_unlocked_session_defers_to_the_next_tick():
    doc = Document()
    session = SimpleNamespace(_pending_writes=None)            # Bokeh's state without the lock
    doc._session_context = lambda: SimpleNamespace(_session=session)
    done = []
    with set_curdoc(doc):
        assert not has_lock(doc)
        locked(done.append, 2)
    assert done == [] and len(doc.callbacks.session_callbacks) == 1
    session._pending_writes = []                                # the lock is held
    with set_curdoc(doc):
        assert has_lock(doc)
        locked(done.append, 3)
    assert done == [3]
    assert pn.state.curdoc is not doc
