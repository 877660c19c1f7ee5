"""What-if controls -> scenario changes; the background rerun and comparison."""
import pytest

from twin.scenario import load_scenario
from viewer.whatif import WhatIf, variant_changes

from .conftest import SAMPLE


@pytest.fixture
def demo():
    path = SAMPLE / "scenarios" / "demo.toml"
    if not path.exists():
        pytest.skip("data_samples/ezhou/scenarios/demo.toml has not been generated")
    return load_scenario(path)


def test_only_changed_controls_become_changes(demo):
    same = variant_changes(demo, rain_scale=1.0, return_period=None, pumps=True, breach=False)
    assert same == {}                                   # the demo has no breach to switch
    changes = variant_changes(demo, rain_scale=1.5, return_period=None, pumps=False, breach=False)
    assert changes == {"rain_scale": 1.5, "pumps": False}
    assert variant_changes(demo, rain_scale=1.0, return_period=50, pumps=True,
                           breach=False) == {"return_period": 50.0}
    variant = demo.with_changes(**changes)
    assert variant.rain.scale == 1.5 and not any(p.enabled for p in variant.pumps)


def test_panel_reflects_the_scenario(demo, tmp_path):
    w = WhatIf(demo, tmp_path, on_done=lambda run: None)
    assert w.pumps.value and not w.pumps.disabled
    assert w.breach.disabled                            # no levee breach in this scenario
    assert w.return_period.disabled                     # recorded rain, not a design storm
    w._start()
    assert "Change a control first" in w.status.object
    w.return_period.value = "50 years"                  # refused by the scenario: said, not raised
    w._start()
    assert "design storm" in w.status.object and not w.button.disabled
    assert WhatIf(None, tmp_path, on_done=print).button.disabled


def test_rerun_in_the_background_then_hands_over_the_run(demo, tmp_path, sample_city_path):
    import time

    from bokeh.document import Document
    from panel.io.state import set_curdoc
    done = []
    w = WhatIf(demo.with_changes(duration="10min", output_every="5min"), tmp_path,
               on_done=done.append)
    doc = Document()
    w.rain_scale.value = 2.0
    with set_curdoc(doc):
        w._start()
    assert w.button.disabled and w.progress.visible
    t0 = time.perf_counter()
    seen = []
    w.progress.param.watch(lambda e: seen.append(e.new), "value")
    while w.button.disabled and time.perf_counter() - t0 < 120:
        for cb in list(doc.callbacks.session_callbacks):
            doc.callbacks.remove_session_callback(cb)
            cb.callback()
        time.sleep(0.1)
    assert done, w.status.object
    assert done[0].status == "complete" and done[0].scenario.rain.scale == 2.0
    assert "Done" in w.status.object and not w.button.disabled
    assert seen[:-1] == sorted(seen[:-1]) and 100 in seen   # the bar filled up, then reset
