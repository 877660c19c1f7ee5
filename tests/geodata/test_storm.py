"""Design storms: the IDF formula and the Chicago hyetograph's volume properties."""
import math

import numpy as np
import pytest

from geodata.storm import (WUHAN, StormFormula, chicago_hyetograph, storm_depth,
                                     storm_intensity)


def test_unit_conversion_is_litres_per_second_per_hectare_to_mm_per_hour():
    # 1 L/(s·ha) = 1e-3 m3/s over 1e4 m2 = 1e-7 m/s = 1e-4 mm/s
    one_lps_ha = 1e-3 / 1e4 * 1000 * 3600
    assert one_lps_ha == pytest.approx(0.36)
    q = 983 * (1 + 0.65 * math.log10(10)) / (20 + 4) ** 0.56    # L/(s·ha), by hand
    assert storm_intensity(20, 10) == pytest.approx(q * one_lps_ha, rel=1e-12)


def test_wuhan_coefficients_and_known_values():
    assert (WUHAN.A, WUHAN.C, WUHAN.b, WUHAN.n) == (983, 0.65, 4, 0.56)
    # 1-year, 5-minute intensity: 983 / 9^0.56 L/(s·ha) = 287.3 L/(s·ha) = 103.4 mm/h
    assert storm_intensity(5, 1) == pytest.approx(103.4, abs=0.05)
    # intensity falls with duration and grows with return period
    i = storm_intensity(np.array([5, 30, 60, 180]), 10)
    assert np.all(np.diff(i) < 0)
    assert storm_intensity(60, 50) > storm_intensity(60, 5)


def test_other_formula_is_used():
    f = StormFormula(A=1000.0, C=0.0, b=0.0, n=0.5, name="test")
    assert storm_intensity(100, 3, formula=f) == pytest.approx(0.36 * 1000 / 10)


@pytest.mark.parametrize("r", [0.3, 0.4, 0.5, 0.7])
def test_total_depth_is_idf_depth(r):
    t, i = chicago_hyetograph(50, 3 * 3600, 300, peak_ratio=r)
    assert t[0] == 0 and t[-1] == 3 * 3600 - 300 and len(t) == 36
    total = (i * 300 / 3600).sum()
    expected = storm_intensity(180, 50) * 3.0          # i(T) * T, mm
    assert total == pytest.approx(expected, rel=1e-10)
    assert storm_depth(180, 50) == pytest.approx(expected, rel=1e-12)


def test_windows_around_peak_receive_idf_depth():
    r, step = 0.4, 60.0
    t, i = chicago_hyetograph(20, 7200, step, peak_ratio=r)
    peak = r * 7200                                     # 2880 s, on a step boundary
    for minutes in (5, 10, 30, 60, 100):
        w = minutes * 60
        inside = (t >= peak - r * w - 1e-9) & (t + step <= peak + (1 - r) * w + 1e-9)
        assert inside.sum() * step == pytest.approx(w)
        volume = (i[inside] * step / 3600).sum()
        assert volume == pytest.approx(storm_intensity(minutes, 20) * minutes / 60, rel=1e-10)


def test_shape_rises_to_peak_then_recedes():
    t, i = chicago_hyetograph(50, 3 * 3600, 300, peak_ratio=0.4)
    k = int(np.argmax(i))
    assert t[k] <= 0.4 * 3 * 3600 < t[k] + 300
    assert np.all(np.diff(i[:k + 1]) > 0) and np.all(np.diff(i[k:]) < 0)
    assert np.all(i > 0)
    # the peak 5-minute step is close to (below) the 5-minute IDF intensity
    assert storm_intensity(5, 50) * 0.8 < i[k] <= storm_intensity(5, 50) * 1.0001


@pytest.mark.parametrize("kwargs", [
    dict(return_period_years=0, duration_s=3600, step_s=300),
    dict(return_period_years=5, duration_s=-3600, step_s=300),
    dict(return_period_years=5, duration_s=3600, step_s=0),
    dict(return_period_years=5, duration_s=3600, step_s=700),
    dict(return_period_years=5, duration_s=3600, step_s=300, peak_ratio=0.0),
    dict(return_period_years=5, duration_s=3600, step_s=300, peak_ratio=1.0),
])
def test_bad_inputs_are_refused(kwargs):
    with pytest.raises(ValueError):
        chicago_hyetograph(**kwargs)


def test_bad_formula_and_duration_are_refused():
    with pytest.raises(ValueError, match="0 < n < 1"):
        StormFormula(A=983, C=0.65, b=4, n=1.2)
    with pytest.raises(ValueError, match="duration_min"):
        storm_intensity(0, 10)
    with pytest.raises(ValueError, match="return_period_years"):
        storm_intensity(10, -1)
