"""The layer interface: discovery by engine name, registration, defaults."""
import numpy as np
import pytest

from viewer.layers import Kpi, Layer, Legend, build_layers, engines_of, layer_class, register


def test_an_engine_without_a_layer_module_has_no_layer():
    assert layer_class("no_such_engine") is None


def test_the_flood_layer_is_imported_by_its_name():
    cls = layer_class("flood")
    assert cls.name == "flood" and cls.__module__ == "viewer.layers.flood"


def test_register_needs_a_name_and_replaces_by_name():
    with pytest.raises(ValueError, match="name"):
        register(type("Nameless", (Layer,), {}))
    a = register(type("A", (Layer,), {"name": "toy_a"}))
    assert layer_class("toy_a") is a
    b = register(type("B", (Layer,), {"name": "toy_a"}))
    assert layer_class("toy_a") is b


def test_engines_of_a_run():
    class Old:
        flood = object()
    class New:
        engines = ["traffic", "crowd"]
    assert engines_of(None) == () and engines_of(Old()) == ("flood",)
    assert engines_of(New()) == ("traffic", "crowd")


def test_default_hooks_change_nothing():
    class Model:
        run = None
    layer = Layer(Model())
    rgb = np.zeros((3, 3), np.uint8)
    assert layer.road_colors(0, rgb) is rgb and layer.building_colors("use", 0) is None
    assert layer.surface() is None and layer.map_image(0) is None and layer.kpi_values(0) == {}
    assert layer.legends("use") == [] and layer.whatif_controls(None) == []
    assert build_layers(Model()) == {}


def test_kpi_text_and_legend_kind():
    k = Kpi("flooded_area_m2", "Flooded area", "ha", "{:,.1f}", 1e-4)
    assert k.text(12.345) == "12.3 ha" and k.text(None) == "–" and k.text(float("nan")) == "–"
    assert Kpi("people", "People").text(12345.0) == "12,345"
    assert Kpi("d", "D", "m", "{:.2f}").text(-0.25, signed=True) == "-0.25 m"
    assert Kpi("d", "D", "m", "{:.2f}").text(0.25, signed=True) == "+0.25 m"
    assert Legend("x", classes=(("a", (1, 2, 3)),)).kind == "classes"
