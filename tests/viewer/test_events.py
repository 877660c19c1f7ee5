"""The event table: rows in local time with names; choosing one calls back with the event."""
from scenes.meshes import city_scene
from viewer.events import EventTable
from viewer.viewmodel import ViewModel


def test_choosing_a_row_hands_over_the_event(tiny_city, tiny_run):
    chosen = []
    table = EventTable(ViewModel(tiny_city, city_scene(tiny_city), tiny_run).events(),
                       on_choose=chosen.append)
    assert table.table.value["place"].tolist() == ["Home (B1)", "Lake Road (R1)"]
    assert list(table.table.value.columns) == ["local", "kind", "place", "message", "severity"]
    assert "severity" in table.table.hidden_columns
    table.table.selection = [1]
    assert chosen[0]["place"] == "Lake Road (R1)" and chosen[0]["x"] == 500050.0
    assert chosen[0]["local"] == "15:00" and chosen[0]["target_kind"] == "roads"


def test_empty_run_gives_an_empty_table(tiny_city):
    table = EventTable(ViewModel(tiny_city, city_scene(tiny_city), None).events(),
                       on_choose=print)
    assert len(table.table.value) == 0
