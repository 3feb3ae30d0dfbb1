"""The feature kernels against a slow, obvious reference (``features_reference.py``): random
curves, codes with steps, NaN gaps and the edge cases, and a run as plain Python."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pipelines.features import Configured, configured_rows, slope, x_at_y, y_at_x
from pipelines.kernels.features import FEATURES, curve_features, features_and_order, raw_bounds
from pipelines.schema import MIGRATIONS
from tests.pipelines.features_reference import (
    concatenate,
    reference_crossing,
    reference_features,
    reference_slope,
)


def random_curves(seed: int, count: int = 40) -> list[tuple[np.ndarray, np.ndarray]]:
    """Monotonic and back-and-forth x, NaN gaps in x or y, short and empty curves."""
    rng = np.random.default_rng(seed)
    curves = []
    for k in range(count):
        n = int(rng.integers(0, 80))
        if k % 3 == 0:
            x = np.cumsum(rng.uniform(0.0, 0.3, n))
        else:
            x = np.cumsum(rng.normal(0.1, 0.5, n))  # goes back now and then
        y = np.cumsum(rng.normal(0.0, 1.0, n)) + rng.uniform(-5, 5)
        if n and k % 4 == 1:
            y[rng.integers(0, n, size=max(1, n // 10))] = np.nan
        if n and k % 5 == 2:
            x[rng.integers(0, n)] = np.nan
        curves.append((x, y))
    return curves


def kernel(curves, steps=None):
    x, y, offsets = concatenate(curves)
    ones = np.ones(len(curves))
    xs, ys = (ones, ones) if steps is None else steps
    return curve_features(x, y, offsets, xs, ys)


def expected(curves) -> np.ndarray:
    rows = [reference_features(cx, cy) for cx, cy in curves]
    return np.array([[r[name] for r in rows] for name in FEATURES]).reshape(len(FEATURES), -1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fixed_features_agree_with_the_reference(seed):
    curves = random_curves(seed)
    np.testing.assert_allclose(kernel(curves), expected(curves), rtol=1e-12, atol=1e-12)


def test_codes_times_steps_give_the_values_features():
    rng = np.random.default_rng(4)
    xs = [np.cumsum(rng.integers(1, 20, n)).astype(np.int32) for n in (5, 1, 30, 0)]
    ys = [rng.integers(-3000, 3000, len(a)).astype(np.int32) for a in xs]
    steps = (np.array([0.001, 0.5, 0.02, 1.0]), np.array([50 / 65536, 0.1, 0.25, 2.0]))
    offsets = np.zeros(5, dtype=np.int64)
    np.cumsum([len(a) for a in xs], out=offsets[1:])
    got = curve_features(np.concatenate(xs), np.concatenate(ys), offsets, *steps)
    values = [(a * sx, b * sy) for a, b, sx, sy in zip(xs, ys, *steps, strict=True)]
    np.testing.assert_allclose(got, expected(values), rtol=1e-12)
    # The hot cache holds small codes as int16: the same features.
    small = [np.concatenate(a).astype(np.int16) for a in (xs, ys)]
    np.testing.assert_array_equal(curve_features(*small, offsets, *steps), got)


def test_one_sample_all_nan_empty_and_flat_curves():
    flat = (np.linspace(0.0, 4.0, 9), np.full(9, 2.5))
    got = kernel(
        [
            (np.array([3.0]), np.array([7.0])),
            (np.array([1.0, 2.0]), np.array([np.nan, np.nan])),
            (np.empty(0), np.empty(0)),
            flat,
        ]
    )
    by_name = dict(zip(FEATURES, got, strict=True))
    # One sample: it is the peak, the minimum and the end; no segment, so no area or duration.
    assert [by_name[f][0] for f in FEATURES] == [7.0, 3.0, 3.0, 7.0, 7.0, 0.0, 0.0, 1.0]
    # No finite sample: every feature NaN but the count.
    for column in (1, 2):
        assert np.isnan([by_name[f][column] for f in FEATURES[:-1]]).all()
        assert by_name["sample_count"][column] == 0.0
    # Flat: the first sample is the peak; area is height times length.
    assert (by_name["peak_x"][3], by_name["peak_y"][3], by_name["min_y"][3]) == (0.0, 2.5, 2.5)
    assert by_name["area"][3] == pytest.approx(10.0)
    assert by_name["duration"][3] == 4.0


def test_a_nan_gap_breaks_the_area_and_is_not_counted():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 1.0, np.nan, 1.0, 1.0])
    f = dict(zip(FEATURES, kernel([(x, y)])[:, 0], strict=True))
    assert f["area"] == 2.0  # the segments 0-1 and 3-4; none joins 1 to 3
    assert (f["sample_count"], f["duration"], f["final_x"]) == (4.0, 4.0, 4.0)
    # A NaN at the end: the last finite sample is the final one.
    f = dict(zip(FEATURES, kernel([(x, np.array([1, 2, 3, 9, np.nan]))])[:, 0], strict=True))
    assert (f["final_x"], f["final_y"], f["peak_x"], f["duration"]) == (3.0, 9.0, 3.0, 3.0)
    # An infinity is a gap like NaN.
    inf = kernel([(x, np.array([1.0, 1.0, np.inf, 1.0, 1.0]))])
    np.testing.assert_array_equal(inf, kernel([(x, y)]))


def test_area_is_the_work_along_the_path():
    # Load 0 -> 2 mm rising to 4 kN, unload 2 -> 0 mm at half the force: work in minus out.
    x = np.array([0.0, 1.0, 2.0, 1.0, 0.0])
    y = np.array([0.0, 2.0, 4.0, 1.0, 0.0])
    f = dict(zip(FEATURES, kernel([(x, y)])[:, 0], strict=True))
    assert f["area"] == pytest.approx((1.0 + 3.0) - (2.5 + 0.5))
    assert (f["peak_x"], f["final_x"], f["duration"]) == (2.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", [0, 5])
def test_crossings_and_slopes_agree_with_the_reference(seed):
    curves = random_curves(seed)
    x, y, offsets = concatenate(curves)
    ones = np.ones(len(curves))
    for level in (-2.0, 0.0, 0.5, 3.0):
        got = y_at_x(x, y, offsets, ones, ones, level)
        want = [reference_crossing(cx, cy, level) for cx, cy in curves]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        got = x_at_y(x, y, offsets, ones, ones, level)
        want = [reference_crossing(cy, cx, level) for cx, cy in curves]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for lo, hi in ((0.0, 2.0), (-1.0, 10.0), (5.0, 5.0)):
        got = slope(x, y, offsets, ones, ones, lo, hi)
        want = [reference_slope(cx, cy, lo, hi) for cx, cy in curves]
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_crossings_take_the_first_one_and_interpolate():
    x = np.array([0.0, 2.0, 4.0, 2.0, 6.0])
    y = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    o = np.array([0, 5])
    one = np.ones(1)
    assert y_at_x(x, y, o, one, one, 1.0)[0] == 5.0  # inside the first segment
    assert y_at_x(x, y, o, one, one, 2.0)[0] == 10.0  # on a sample: its y, not the later one
    assert y_at_x(x, y, o, one, one, 3.0)[0] == 15.0  # the first of the three crossings
    assert x_at_y(x, y, o, one, one, 25.0)[0] == 3.0
    assert np.isnan(y_at_x(x, y, o, one, one, 7.0)[0])  # never reached
    # A gap: no segment joins the samples around it, so 1.0 is never crossed.
    gap = np.array([0.0, np.nan, 2.0, 3.0, 4.0])
    assert np.isnan(y_at_x(gap, y, o, one, one, 1.0)[0])


@pytest.mark.parametrize("step", [0.1, 0.3, 0.001, 50 / 65536, 3.0, 1e-7, 1.0])
def test_raw_bounds_decide_each_code_and_float_as_its_value_would(step):
    rng = np.random.default_rng(11)
    ks = (-70_001, -3, 0, 1, 3, 12_345, 2**30)
    exact = [k * step for k in ks]  # each reached by code k
    levels = [*exact, *(np.nextafter(v, np.inf) for v in exact), *rng.uniform(-1e4, 1e4, 20)]
    for level in levels:
        lo, hi = raw_bounds(level, step)
        middle = round(level / step)
        codes = np.arange(middle - 4, middle + 5, dtype=np.int64)
        near = level / step + np.arange(-4, 5) * np.spacing(level / step)  # floats, ulps apart
        for raw in (codes, near):
            values = raw * step
            np.testing.assert_array_equal(values < level, raw < lo)
            np.testing.assert_array_equal(values > level, raw > hi)
    for k, level in zip(ks, exact, strict=True):
        lo, hi = raw_bounds(level, step)
        assert lo <= k <= hi  # equal: neither below nor above


def test_crossings_and_slopes_of_codes_equal_those_of_their_values_bit_for_bit():
    """The kernels compare stored codes with bounds; read as values they give the same."""
    rng = np.random.default_rng(3)
    steps = np.array([0.1, 0.3, 0.001, 50 / 65536, 2.0, 1e-7])
    codes = [np.cumsum(rng.integers(-5, 40, 300)).astype(np.int32) for _ in steps]
    x = np.concatenate(codes)
    y = np.concatenate([c[::-1] for c in codes])
    offsets = np.zeros(len(steps) + 1, np.int64)
    np.cumsum([len(c) for c in codes], out=offsets[1:])
    x_values = np.concatenate([c * s for c, s in zip(codes, steps, strict=True)])
    y_values = np.concatenate([c[::-1] * s for c, s in zip(codes, steps, strict=True)])
    ones = np.ones(len(steps))
    # Levels on samples' values (reached exactly by one curve) and between them.
    levels = [codes[k][150] * steps[k] for k in range(len(steps))] + [0.05, 1.0, 33.3]
    reached = 0
    for level in levels:
        for measure in (y_at_x, x_at_y):
            got = measure(x, y, offsets, steps, steps, level)
            np.testing.assert_array_equal(
                got, measure(x_values, y_values, offsets, ones, ones, level)
            )
            reached += np.isfinite(got).sum()
    for lo, hi in itertools.pairwise(levels):
        got = slope(x, y, offsets, steps, steps, min(lo, hi), max(lo, hi))
        want = slope(x_values, y_values, offsets, ones, ones, min(lo, hi), max(lo, hi))
        np.testing.assert_array_equal(got, want)
    assert reached > len(levels)  # the levels are met, not all NaN


def test_levels_and_steps_that_are_not_finite():
    x = np.array([0, 1, 2, 3], np.int32)
    o, one = np.array([0, 4]), np.ones(1)
    for level in (np.nan, np.inf, -np.inf):
        assert np.isnan(y_at_x(x, x, o, one, one, level)[0])
    assert slope(x, x, o, one, one, -np.inf, np.inf)[0] == 1.0
    for bad in (np.inf, np.nan):
        step = np.array([bad])
        assert np.isnan(y_at_x(x, x, o, step, one, 1.0)[0])
        assert np.isnan(slope(x, x, o, one, step, 0.0, 3.0)[0])
        fixed = curve_features(x, x, o, step, one)
        assert fixed[-1, 0] == 0.0 and np.isnan(fixed[:-1, 0]).all()  # no finite sample


def test_slope_is_exact_on_a_line_far_from_the_origin():
    x = 1e6 + np.linspace(0.0, 1.0, 50)
    y = 3.0 * x - 7.0
    o = np.array([0, 50])
    one = np.ones(1)
    assert slope(x, y, o, one, one, 1e6, 1e6 + 0.5)[0] == pytest.approx(3.0, rel=1e-9)
    assert np.isnan(slope(x, y, o, one, one, 0.0, 1.0)[0])  # no sample inside


def test_the_table_holds_every_feature_as_float64():
    table = next(s for s in MIGRATIONS[2].statements if getattr(s, "name", "") == "curve_features")
    columns = [line.split() for line in table.columns.strip().splitlines()]
    assert [c[0] for c in columns[4:]] == list(FEATURES)
    assert {c[1].rstrip(",") for c in columns[4:]} == {"Float64"}


def test_plain_python_run_agrees():
    """The kernels with NUMBA_DISABLE_JIT=1: their logic is covered as plain Python."""
    code = textwrap.dedent(
        """
        import numpy as np
        from pipelines.features import slope, x_at_y, y_at_x
        from pipelines.kernels.features import curve_features
        from tests.pipelines.features_reference import (
            concatenate, reference_crossing, reference_features, reference_slope)
        from tests.pipelines.test_features import expected, random_curves
        curves = random_curves(7, count=12)
        curves.append((np.array([1.0]), np.array([2.0])))
        curves.append((np.array([1.0, 2.0]), np.array([np.nan, np.nan])))
        x, y, o = concatenate(curves)
        ones = np.ones(len(curves))
        np.testing.assert_allclose(curve_features(x, y, o, ones, ones), expected(curves),
                                   rtol=1e-12, atol=1e-12)
        got = y_at_x(x, y, o, ones, ones, 0.5)
        np.testing.assert_allclose(got, [reference_crossing(a, b, 0.5) for a, b in curves])
        got = x_at_y(x, y, o, ones, ones, 0.5)
        np.testing.assert_allclose(got, [reference_crossing(b, a, 0.5) for a, b in curves])
        got = slope(x, y, o, ones, ones, 0.0, 3.0)
        np.testing.assert_allclose(got, [reference_slope(a, b, 0.0, 3.0) for a, b in curves],
                                   rtol=1e-8, atol=1e-10)
        codes = curve_features(np.array([0, 10, 20], np.int32), np.array([1, 4, 2], np.int32),
                               np.array([0, 3]), np.array([0.1]), np.array([0.5]))
        assert codes[:, 0].tolist() == [2.0, 1.0, 2.0, 1.0, 0.5, 2.75, 2.0, 3.0]
        from pipelines.features import Configured, configured_rows
        both = [Configured(1, "p", "y_at_x", 0.5), Configured(2, "p", "slope", 0.0, 3.0)]
        rows = configured_rows(both, x, y, o, ones, ones, project=["a"] * len(curves),
                               process=["p"] * len(curves), ids=np.arange(len(curves)),
                               dataset_id=["d"] * len(curves), computed_at="2026-12-06")
        values = rows.column("value").to_numpy().reshape(-1, 2)
        np.testing.assert_array_equal(values[:, 0], y_at_x(x, y, o, ones, ones, 0.5))
        np.testing.assert_array_equal(values[:, 1], slope(x, y, o, ones, ones, 0.0, 3.0))
        from pipelines.kernels.features import features_and_order
        from tests.pipelines.test_features import rising_curves
        rx, ry, ro, codes = rising_curves(3)
        steps = np.full(len(codes), 0.5)
        rising = features_and_order(rx, ry, ro, steps, steps)[1]
        assert rising.tolist() == [len(a) > 0 and bool(np.all(np.diff(a) >= 0)) for a in codes]
        rows = [configured_rows(both, rx, ry, ro, steps, steps, project=["a"] * len(codes),
                                process=["p"] * len(codes), ids=np.arange(len(codes)),
                                dataset_id=["d"] * len(codes), computed_at="2026-12-07",
                                rising=flags).column("value").to_numpy()
                for flags in (None, rising)]
        np.testing.assert_array_equal(rows[1], rows[0])
        print("agree", len(curves))
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("agree ")


def rising_curves(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Codes whose x never falls (steps, plateaus, one sample, none) and some whose x does,
    with NaN-free float copies of a few: ``(x, y, offsets, codes of x per curve)``."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k in range(60):
        n = int(rng.integers(0, 50))
        x = np.cumsum(rng.integers(0, 4, n))  # 0: a plateau, x repeats
        if k % 5 == 1 and n > 3:
            x[n // 2] -= 5  # falls once
        xs.append(x.astype(np.int32))
        ys.append(rng.integers(-40, 40, n).astype(np.int32))
    offsets = np.zeros(len(xs) + 1, np.int64)
    np.cumsum([len(a) for a in xs], out=offsets[1:])
    return np.concatenate(xs), np.concatenate(ys), offsets, xs


@pytest.mark.parametrize("seed", [0, 1])
def test_rising_curves_are_bisected_to_the_walks_answers_bit_for_bit(seed):
    x, y, offsets, codes = rising_curves(seed)
    steps = np.random.default_rng(seed).choice([0.1, 0.3, 50 / 65536, 2.0], len(codes))
    fixed, rising = features_and_order(x, y, offsets, steps, steps)
    np.testing.assert_array_equal(fixed, curve_features(x, y, offsets, steps, steps))
    want = [len(a) > 0 and bool(np.all(np.diff(a) >= 0)) for a in codes]
    assert rising.tolist() == want and 0 < sum(want) < len(codes)
    # Levels on samples (plateaus included), between them, before, after and not finite.
    levels = [*(codes[2][: len(codes[2]) // 2 + 1] * steps[2]), 0.05, 7.7, -1.0, 1e9]
    configured = [
        Configured(k, "p", kind, level, None if kind != "slope" else level + 3.0)
        for k, (kind, level) in enumerate(
            itertools.product(("y_at_x", "x_at_y", "slope"), [*levels, np.inf, -np.inf, np.nan])
        )
    ]
    n = len(codes)
    both = [
        configured_rows(
            configured,
            x,
            y,
            offsets,
            steps,
            steps,
            project=["p"] * n,
            process=["p"] * n,
            ids=np.arange(n),
            dataset_id=["d"] * n,
            computed_at="2026-12-07",
            rising=flags,
        ).column("value")
        for flags in (None, rising)
    ]
    walked, bisected = (values.to_numpy() for values in both)
    np.testing.assert_array_equal(bisected, walked)  # NaN where NaN, every value equal
    assert np.isfinite(bisected).sum() > n  # the levels are met, not all NaN


def test_configured_rows_measure_each_curve_by_its_process_definitions():
    """One kernel call measures every curve's definitions; each row's value is the one the
    definition alone gives that curve, whatever the order of the curves' processes."""
    curves = random_curves(9, count=30)
    x, y, offsets = concatenate(curves)
    ones = np.ones(len(curves))
    process = [("a", "b", "c")[k % 3] if k % 4 else "b" for k in range(len(curves))]
    configured = [
        Configured(7, "b", "slope", -1.0, 4.0),
        Configured(3, "a", "y_at_x", 0.5),
        Configured(5, "b", "x_at_y", 0.0),
        Configured(9, "b", "y_at_x", 1.0),
        Configured(4, "z", "y_at_x", 1.0),  # no curve of it
    ]  # process c has none
    rows = configured_rows(
        configured,
        x,
        y,
        offsets,
        ones,
        ones,
        project=["p"] * len(curves),
        process=process,
        ids=np.arange(100, 100 + len(curves)),
        dataset_id=["d"] * len(curves),
        computed_at="2026-12-06T10:00:00Z",
    ).to_pandas()
    mine = {f.id: [k for k, p in enumerate(process) if p == f.process] for f in configured}
    assert len(rows) == sum(len(v) for v in mine.values())
    for feature in configured:
        got = rows[rows["feature_id"] == feature.id]
        assert sorted(got["curve_id"] - 100) == mine[feature.id]
        want = feature.values(x, y, offsets, ones, ones, np.array(mine[feature.id], np.int64))
        by_curve = got.set_index("curve_id")["value"]
        np.testing.assert_array_equal(by_curve.loc[np.array(mine[feature.id]) + 100], want)
        assert set(got["process"]) <= {feature.process}
    assert set(rows["project"]) == {"p"} and set(rows["dataset_id"]) == {"d"}
    with pytest.raises(ValueError, match="no configured feature of kind 'area'"):
        configured_rows(
            [Configured(1, "a", "area", 0.0)],
            x,
            y,
            offsets,
            ones,
            ones,
            project=["p"] * len(curves),
            process=process,
            ids=np.arange(len(curves)),
            dataset_id=["d"] * len(curves),
            computed_at="2026-12-06T10:00:00Z",
        )
