"""The KPI board: cards from the layers' KPIs, worse / better differences."""
from viewer.kpis import KpiBoard
from viewer.layers.flood import FloodLayer


def test_board_shows_the_flood_cards_and_worse_or_better_differences():
    board = KpiBoard(FloodLayer.kpis)
    assert board.pane.object.count('class="kpi kpi-') == 7
    board.update({"buildings_flooded": 10, "max_depth_m": 1.0},
                 {"buildings_flooded": 3, "max_depth_m": -0.5})
    html = board.pane.object
    assert '<div class="kpi-diff worse">+3</div>' in html
    assert '<div class="kpi-diff better">-0.50 m</div>' in html
    assert '<div class="kpi-value">–</div>' in html          # values not given


def test_new_specs_replace_the_cards():
    board = KpiBoard(FloodLayer.kpis)
    board.set_specs(FloodLayer.kpis[:2])
    assert board.pane.object.count('class="kpi kpi-') == 2
