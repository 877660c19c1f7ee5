"""What-if panel: the layers' controls, why a control is off, the background rerun."""
import pytest

from scenes.meshes import city_scene
from twin.scenario import load_scenario
from viewer.viewmodel import ViewModel
from viewer.whatif import WhatIf

from .conftest import SAMPLE


@pytest.fixture
def demo():
    path = SAMPLE / "scenarios" / "demo.toml"
    if not path.exists():
        pytest.skip("data_samples/ezhou/scenarios/demo.toml has not been generated")
    return load_scenario(path)


def _model(city, run, scenario):
    return ViewModel(city, city_scene(city), run.__class__(**{**vars(run), "scenario": scenario}))


def test_panel_reflects_the_scenario_and_says_why(demo, tiny_city, tiny_run, tmp_path):
    w = WhatIf(_model(tiny_city, tiny_run, demo), tmp_path, on_done=lambda run: None)
    names = {c.widget.label: c.widget for c in w.controls}
    assert names["Pumps on"].value and not names["Pumps on"].disabled
    assert names["Levee breach"].disabled                  # no levee breach in this scenario
    assert names["Design storm return period"].disabled    # recorded rain, not a design storm
    shown = " ".join(p.object for p in w.controls_box if hasattr(p, "object"))
    assert "no levee breach" in shown and "design storms" in shown
    assert not w.button.disabled and str(tmp_path) in w.panel[0].object
    w._start()
    assert "Change a control first" in w.status.object
    names["Rain scale"].value = 1.5
    names["Pumps on"].value = False
    assert w.changes() == {"rain_scale": 1.5, "pumps": False}


def test_without_a_scenario_the_button_says_why(tiny_city, tiny_run, tmp_path):
    w = WhatIf(ViewModel(tiny_city, city_scene(tiny_city), None), tmp_path, on_done=print)
    assert w.button.disabled and "Open a run" in w.button.description
    assert "Open a run" in w.why.object
    w = WhatIf(ViewModel(tiny_city, city_scene(tiny_city), tiny_run), tmp_path, on_done=print)
    assert w.button.disabled and w.controls == []               # the tiny run has no scenario


def test_rerun_in_the_background_then_hands_over_the_run(demo, tiny_city, tiny_run, tmp_path):
    import time

    from bokeh.document import Document
    from panel.io.state import set_curdoc
    done = []
    short = demo.with_changes(duration="10min", output_every="5min")
    w = WhatIf(_model(tiny_city, tiny_run, short), tmp_path / "whatifs", on_done=done.append)
    doc = Document()
    next(c for c in w.controls if c.widget.label == "Rain scale").widget.value = 2.0
    with set_curdoc(doc):
        w._start()
    assert w.button.disabled and w.progress.visible and "running" in w.button.description
    t0 = time.perf_counter()
    seen = []
    w.progress.param.watch(lambda e: seen.append(e.new), "value")
    while w.button.disabled and time.perf_counter() - t0 < 120:
        for cb in list(doc.callbacks.session_callbacks):
            doc.callbacks.remove_session_callback(cb)
            cb.callback()
        time.sleep(0.1)
    assert done, w.status.object
    assert done[0].status == "complete"
    assert done[0].path.parent == tmp_path / "whatifs"          # the runs folder, not the cwd
    assert "Done" in w.status.object and not w.button.disabled
    assert seen[:-1] == sorted(seen[:-1]) and 100 in seen   # the bar filled up, then reset
