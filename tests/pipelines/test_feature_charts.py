"""Features to charts: time order, subgroups by parts or by hour, the baseline period, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.feature_charts import chart_feature


def features(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    started = pd.Timestamp("2026-12-01 06:00") + pd.to_timedelta(np.arange(n) * 10, "min")
    frame = pd.DataFrame(
        {"curve_id": np.arange(n), "started_at": started, "area": rng.normal(5, 0.1, n)}
    )
    frame.loc[3, "area"] = np.nan  # a part without the feature is left out
    return frame.sample(frac=1, random_state=1)  # any order in, time order out


def test_individuals_in_time_order_with_limits_from_the_baseline():
    f = features()
    made = chart_feature(f, "area", baseline=(None, "2026-12-01T08:00:00Z"))
    i_chart = made.charts[0]
    assert made.parts == 39 and i_chart.curve_ids[:4] == [[0], [1], [2], [4]]
    assert list(i_chart.at) == sorted(i_chart.at)
    trusted = f.dropna().query("started_at < '2026-12-01 08:00'")["area"]
    assert i_chart.chart.center[0] == pytest.approx(trusted.mean())


def test_subgroups_of_an_hour_and_capability():
    made = chart_feature(features(), "area", chart="mean-std", per_hour=True, lower=4, upper=6)
    means = made.charts[0]
    assert [len(ids) for ids in means.curve_ids][:2] == [5, 6]  # 06:00 lost part 3
    assert made.capability is not None and made.capability.cp > 1


def test_words_for_what_makes_no_chart():
    with pytest.raises(ValueError, match="chart is one of"):
        chart_feature(features(), "area", chart="pie")
    with pytest.raises(ValueError, match="rules are"):
        chart_feature(features(), "area", rules="mine")
