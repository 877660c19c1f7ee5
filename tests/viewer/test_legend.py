"""The legend: class swatches and ramps with units, only sent when changed."""
from bokeh.document import Document

from viewer.layers import Legend
from viewer.legend import LegendBox, legend_html
from viewer import palette


def test_classes_and_ramps_with_units():
    text = legend_html([
        Legend("Flood water depth", "m", key="d", classes=(("0.15–0.3 m", (130, 200, 250)),)),
        Legend("Building height", "m", key="h", stops=palette.HEIGHT_STOPS)])
    assert 'class="legend legend-d"' in text and "0.15–0.3 m" in text and "#82c8fa" in text
    assert "Building height (m)" in text and "linear-gradient" in text
    assert text.count("<span>") == len(palette.HEIGHT_STOPS)     # one tick per stop


def test_same_legends_send_nothing():
    box = LegendBox()
    model = box.pane.get_root(Document())
    sent = []
    model.on_change("text", lambda attr, old, new: sent.append(new))
    legends = [Legend("Sensors", classes=(("ok", (70, 170, 255)),))]
    box.show(legends)
    box.show(legends)
    assert len(sent) == 1
