"""KPI text and the KPI board."""
from viewer.kpis import KpiBoard, format_kpi


def test_values_have_units_and_signs():
    assert format_kpi("flooded_area_m2", 12.345) == "12.3 ha"
    assert format_kpi("people_affected", 12345.0) == "12,345"
    assert format_kpi("rain_mm_h", 42.04) == "42.0 mm/h"
    assert format_kpi("max_depth_m", -0.25, signed=True) == "-0.25 m"
    assert format_kpi("max_depth_m", None) == "–"


def test_board_shows_seven_cards_and_worse_or_better_differences():
    board = KpiBoard()
    assert board.pane.object.count('class="kpi kpi-') == 7
    board.update({"buildings_flooded": 10, "max_depth_m": 1.0},
                 {"buildings_flooded": 3, "max_depth_m": -0.5})
    html = board.pane.object
    assert '<div class="kpi-diff worse">+3</div>' in html
    assert '<div class="kpi-diff better">-0.50 m</div>' in html
    assert '<div class="kpi-value">–</div>' in html          # values not given
