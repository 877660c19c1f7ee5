"""A readout's update sends only its text (no stylesheets: no page re-layout)."""
import panel as pn
from bokeh.document import Document

from viewer.readout import Readout


def test_update_changes_only_the_text():
    readout = Readout("<b>1</b>", stylesheets=[".x { color: red; }"])
    model = readout.get_root(Document())
    sheets = list(model.stylesheets)
    changed = []
    model.on_change("stylesheets", lambda attr, old, new: changed.append("stylesheets"))
    model.on_change("text", lambda attr, old, new: changed.append("text"))
    readout.object = "<b>2</b>"
    assert "2" in model.text and changed == ["text"] and list(model.stylesheets) == sheets


def test_plain_html_pane_resends_its_stylesheets():
    """The reason for Readout: if Panel stops doing this, Readout can go."""
    pane = pn.pane.HTML("<b>1</b>", stylesheets=[".x { color: red; }"])
    model = pane.get_root(Document())
    changed = []
    model.on_change("stylesheets", lambda attr, old, new: changed.append("stylesheets"))
    pane.object = "<b>2</b>"
    assert changed == ["stylesheets"]
