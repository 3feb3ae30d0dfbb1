"""Control charts against the textbook formulas, written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.spc import individuals, subgroups
from pipelines.spc.charts import ChartError

# A2, D3, D4 for n = 5 (ASTM E2587), the constants a textbook X̄-R chart uses.
A2, D3, D4 = 0.577, 0.0, 2.114


def test_individuals_and_moving_range_by_hand():
    x = np.array([10.0, 12.0, 11.0, 13.0, 12.0, 30.0])
    baseline = np.array([True, True, True, True, True, False])
    i_chart, mr_chart = individuals(x, baseline)
    mr_bar = np.mean([2.0, 1.0, 2.0, 1.0])  # pairs inside the baseline only
    center = np.mean(x[:5])
    assert i_chart.center[0] == pytest.approx(center)
    assert i_chart.upper[0] == pytest.approx(center + 2.66 * mr_bar, rel=1e-3)
    assert i_chart.lower[0] == pytest.approx(center - 2.66 * mr_bar, rel=1e-3)
    assert mr_chart.upper[0] == pytest.approx(3.267 * mr_bar, rel=1e-3)
    assert mr_chart.lower[0] == 0.0
    np.testing.assert_array_equal(mr_chart.points, np.abs(np.diff(x)))
    assert i_chart.outside().tolist() == [5]  # the part after the baseline, far out
    assert mr_chart.outside().tolist() == [4]


def test_mean_and_range_of_subgroups_of_five_by_hand():
    rng = np.random.default_rng(3)
    x = rng.normal(50, 2, 100)
    groups = np.arange(100) // 5
    mean_chart, range_chart = subgroups(x, groups)
    parts = x.reshape(20, 5)
    x_bar_bar, r_bar = parts.mean(axis=1).mean(), np.ptp(parts, axis=1).mean()
    np.testing.assert_allclose(mean_chart.points, parts.mean(axis=1))
    np.testing.assert_allclose(range_chart.points, np.ptp(parts, axis=1))
    assert mean_chart.center[0] == pytest.approx(x_bar_bar)
    assert mean_chart.upper[0] == pytest.approx(x_bar_bar + A2 * r_bar, rel=1e-3)
    assert range_chart.upper[0] == pytest.approx(D4 * r_bar, rel=1e-3)
    assert range_chart.lower[0] == D3 * r_bar


def test_standard_deviation_chart_and_subgroups_of_unequal_size():
    x = np.array([1.0, 2.0, 3.0, 10.0, 2.0, 4.0, 6.0, 8.0, 7.0])
    hours = np.array([0, 0, 0, 1, 2, 2, 2, 2, 3])  # hour 1 and 3 have one part: left out
    mean_chart, std_chart = subgroups(x, hours, spread="std")
    assert mean_chart.sizes.tolist() == [3, 4]
    np.testing.assert_allclose(mean_chart.points, [2.0, 5.0])
    s = np.array([np.std([1, 2, 3], ddof=1), np.std([2, 4, 6, 8], ddof=1)])
    np.testing.assert_allclose(std_chart.points, s)
    c4 = np.array([0.8862, 0.9213])
    sigma = np.mean(s / c4)
    # The mean's limits narrow with the subgroup's size.
    np.testing.assert_allclose(
        mean_chart.upper - mean_chart.center, 3 * sigma / np.sqrt([3, 4]), rtol=1e-3
    )
    np.testing.assert_allclose(std_chart.center, c4 * sigma, rtol=1e-3)


def test_charts_refuse_what_makes_no_chart():
    with pytest.raises(ChartError, match="two consecutive"):
        individuals([1.0, 2.0, 3.0], np.array([True, False, True]))
    with pytest.raises(ChartError, match="finite"):
        individuals([1.0, np.nan, 3.0])
    with pytest.raises(ChartError, match="at most 25"):
        subgroups(np.arange(30.0), np.zeros(30))
    with pytest.raises(ChartError, match="two or more"):
        subgroups([1.0, 2.0], [0, 1])
    with pytest.raises(ChartError, match="'range' or 'std'"):
        subgroups([1.0, 2.0], [0, 0], spread="iqr")
