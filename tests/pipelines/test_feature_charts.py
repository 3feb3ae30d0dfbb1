"""Features to charts: time order, subgroups by parts or by hour, the baseline period, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.feature_charts import (
    bends,
    broken_at_empty_buckets,
    broken_at_pauses,
    chart_feature,
    count_points,
)


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


# --- dense charts: points counted per cell ---------------------------------------------------


def _histogram(at, values, x_range, y_range, shape):
    """The slow, obvious reference: NumPy's 2-D histogram over the same grid, times as ns."""
    height, width = shape
    ns = lambda t: pd.Timestamp(t).as_unit("ns").value  # noqa: E731
    x = np.asarray(at).astype("datetime64[ns]").view(np.int64)
    # exact integer offsets from the start, as floats (the grid's own coordinates)
    counts, _, _ = np.histogram2d(
        (x - ns(x_range[0])).astype(np.float64),
        np.asarray(values, np.float64),
        bins=[
            np.linspace(0, ns(x_range[1]) - ns(x_range[0]), width + 1),
            np.linspace(*y_range, height + 1),
        ],
    )
    return counts.T  # rows are y


@pytest.mark.parametrize("seed", range(4))
def test_points_per_cell_equal_numpy_histogram(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    start = pd.Timestamp("2026-11-02 06:00")
    at = (start + pd.to_timedelta(rng.integers(0, 86_400 * 10**9, n), unit="ns")).to_numpy()
    values = rng.normal(10, 2, n)
    shape = (int(rng.integers(1, 40)), int(rng.integers(1, 90)))
    # a zoomed span too: points outside it are left out
    x_range = (start + pd.Timedelta(hours=2), start + pd.Timedelta(hours=int(rng.integers(3, 24))))
    y_range = (float(rng.uniform(4, 9)), float(rng.uniform(10, 16)))
    got = count_points(at, values, x_range, y_range, shape)
    assert got.shape == shape
    np.testing.assert_equal(got, _histogram(at, values, x_range, y_range, shape))


def test_points_on_the_grid_edges_and_outside():
    start = pd.Timestamp("2026-11-02")
    end = start + pd.Timedelta(hours=1)
    at = np.array([start, end, end, start - pd.Timedelta(1, "ns"), start], "datetime64[ns]")
    values = np.array([0.0, 1.0, 0.5, 0.5, 1.0 + 1e-9])
    got = count_points(at, values, (start, end), (0.0, 1.0), (2, 3))
    # the lower-left and upper-right corners are in; the point a ns early and the one a hair
    # above are not
    np.testing.assert_equal(got, [[1, 0, 0], [0, 0, 2]])
    np.testing.assert_equal(got, _histogram(at[:3], values[:3], (start, end), (0, 1), (2, 3)))
    with pytest.raises(ValueError, match="not empty"):
        count_points(at, values, (start, start), (0.0, 1.0), (2, 3))


def test_bends_keep_the_same_polyline():
    values = np.array([3.0, 3.0, 3.0, 4.0, 4.0, 2.0, 2.0, 2.0, 2.0])
    kept = bends(values)
    np.testing.assert_equal(kept, [0, 2, 3, 4, 5, 8])
    x = np.arange(len(values), dtype=float)
    np.testing.assert_equal(np.interp(x, x[kept], values[kept]), values)
    assert list(bends(np.full(100_000, 7.5))) == [0, 99_999]
    assert list(bends(np.array([1.0]))) == [0]


def test_the_distribution_is_the_histogram_and_the_normal_capability_assumes():
    from pipelines.feature_charts import distribution

    rng = np.random.default_rng(4)
    values = rng.normal(10.0, 2.0, 5000)
    shown = distribution(values, bins=30)
    counts, edges = np.histogram(values, bins=30)
    np.testing.assert_array_equal(shown.counts, counts)
    np.testing.assert_array_equal(shown.edges, edges)
    assert shown.mean == pytest.approx(values.mean()) and shown.sigma == pytest.approx(
        values.std(ddof=1)
    )
    # The normal, scaled to parts per bin, holds every part (±4 σ drawn) and peaks at the mean.
    width, step = edges[1] - edges[0], shown.x[1] - shown.x[0]
    assert (shown.fitted.sum() * step / width) == pytest.approx(len(values), rel=1e-3)
    assert shown.x[np.argmax(shown.fitted)] == pytest.approx(shown.mean, abs=step)
    assert shown.fitted.max() == pytest.approx(
        len(values) * width / (shown.sigma * 2.5066), rel=1e-2
    )
    assert distribution(np.full(10, 3.0)) is None and distribution(np.array([1.0])) is None


def test_the_line_through_the_points_breaks_at_pauses_in_production():
    """A part a minute, then two idle weeks, then a lunch hour: the line breaks at the weeks
    and at the hour's pause only if it is long against the usual spacing."""
    start = pd.Timestamp("2026-12-01 06:00")
    minutes = [
        0,
        1,
        2,
        3,
        4,
        14 * 24 * 60 + 4,
        14 * 24 * 60 + 5,
        14 * 24 * 60 + 66,
        14 * 24 * 60 + 67,
    ]
    at = (start + pd.to_timedelta(minutes, unit="min")).to_numpy()
    values = np.arange(len(at), dtype=np.float64)
    broken_at, broken = broken_at_pauses(at, values)
    gaps = np.flatnonzero(np.isnan(broken))
    assert gaps.tolist() == [5, 8]  # after the fifth part, and after the seventh
    np.testing.assert_array_equal(np.delete(broken, gaps), values)  # every point, in order
    np.testing.assert_array_equal(np.delete(broken_at, gaps), at)
    assert at[4] < broken_at[5] < at[5] and at[6] < broken_at[8] < at[7]
    assert np.all(np.diff(broken_at.astype(np.int64)) > 0)
    # Parts an hour apart all along: nothing is a pause.
    hourly = (start + pd.to_timedelta(np.arange(10), unit="h")).to_numpy()
    assert not np.isnan(broken_at_pauses(hourly, np.ones(10))[1]).any()
    # A pause under an hour is not one, however regular the parts before it.
    short = (start + pd.to_timedelta([0, 1, 2, 3, 50], unit="min")).to_numpy()
    assert not np.isnan(broken_at_pauses(short, np.ones(5))[1]).any()
    assert len(broken_at_pauses(at[:2], values[:2])[1]) == 2


def test_a_line_through_buckets_breaks_where_one_had_no_parts():
    starts = pd.to_datetime(["2026-11-02 06:00", "2026-11-02 14:00", "2026-11-03 06:00"])
    ends = starts + pd.Timedelta(hours=8)  # the night shift of Nov 2 made nothing
    at, values = broken_at_empty_buckets(starts.to_numpy(), ends.to_numpy(), np.array([1, 2, 3]))
    np.testing.assert_array_equal(values, [1, 2, np.nan, 3])
    assert at[2] == np.datetime64("2026-11-02T22:00")
    at, values = broken_at_empty_buckets(starts[:2].to_numpy(), ends[:2].to_numpy(), [1, 2])
    np.testing.assert_array_equal(values, [1, 2])  # adjacent buckets: one line
