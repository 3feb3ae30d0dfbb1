"""``curve_density`` agrees exactly with Datashader per curve, on random and adversarial data."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.density import (
    DensityInputError,
    coded_density,
    curve_density,
    curve_density_by_category,
    curves_through,
    density_and_drawn,
)
from tests.pipelines.density_reference import concatenate, reference_density

VIEW = dict(x_range=(0.0, 10.0), y_range=(-5.0, 5.0), width=40, height=24)


def check(curves, **view):
    view = {**VIEW, **view}
    x, y, offsets = concatenate(curves)
    got = curve_density(x, y, offsets, **view)
    expected = reference_density(curves, **view)
    assert got.dtype == np.uint32 and got.shape == (view["height"], view["width"])
    np.testing.assert_array_equal(got, expected)
    return got


def walk(rng, n, *, dtype=np.float64, spread=10.0):
    x = np.sort(rng.uniform(-1, 11, n))
    y = np.cumsum(rng.normal(0, spread / np.sqrt(n), n)).astype(dtype)
    return x, y


def test_random_walks():
    rng = np.random.default_rng(1)
    check([walk(rng, int(rng.integers(2, 300))) for _ in range(40)])


def test_float32_samples_round_like_datashader():
    rng = np.random.default_rng(2)
    curves = [walk(rng, 200, dtype=np.float32) for _ in range(20)]
    curves += [(x.astype(np.float32), y) for x, y in curves[:5]]
    check(curves)


def test_steps_and_spikes():
    x = np.repeat(np.linspace(0, 10, 30), 2)  # every x twice: vertical steps
    steps = np.repeat(np.arange(30) % 7 - 3.0, 2)[1:]
    steps = np.append(steps, steps[-1])
    spikes = np.zeros(60)
    spikes[::9] = 40.0  # far above the view and back
    spikes[4::11] = -1e6
    check([(x, steps), (x, spikes), (x, steps * 0.3 + spikes * 0.01)])


def test_nan_breaks_the_line():
    x = np.linspace(0, 10, 50)
    y = np.sin(x) * 4
    y_gaps, x_gaps, both = y.copy(), x.copy(), y.copy()
    y_gaps[[3, 4, 20, 49]] = np.nan
    x_gaps[[0, 10, 11, 12, 30]] = np.nan
    both[25] = np.nan
    lone = np.full(50, np.nan)
    lone[[7, 30, 31]] = [1.0, 2.0, 2.5]  # isolated points and one segment
    check([(x, y_gaps), (x_gaps, y), (x_gaps, both), (x, lone)])


def test_non_uniform_and_non_monotonic_x():
    t = np.linspace(0, 6 * np.pi, 400)
    loop = (5 + 4 * np.sin(t), 4 * np.cos(1.5 * t))  # hysteresis-like loops
    back_and_forth = (np.abs(((np.arange(300) / 30) % 4) - 2) * 5, np.linspace(-4, 4, 300))
    jitter = np.random.default_rng(3)
    jittered = (np.linspace(0, 10, 500) + jitter.normal(0, 0.05, 500), np.linspace(-3, 3, 500))
    log_x = (np.geomspace(0.01, 10, 200), np.linspace(-4, 4, 200))
    check([loop, back_and_forth, jittered, log_x])


def test_values_far_outside_the_view():
    x = np.array([-1e9, 1e9, -1e9, 5.0, 5.0, 1e12, 3.0])
    y = np.array([-1e9, 1e9, 1e9, -1e9, 1e9, 0.0, 1e300])
    crossing = (np.array([-100.0, 100.0]), np.array([-100.0, 100.0]))
    above = (np.array([0.0, 10.0]), np.array([6.0, 6.0]))
    check([(x, y), crossing, above])


def test_curves_on_pixel_edges():
    # With this view every integer x and every y/2 is a pixel edge, and the bounds themselves.
    view = dict(x_range=(0.0, 40.0), y_range=(-12.0, 12.0), width=40, height=48)
    xs = np.arange(0.0, 41.0)
    curves = [(xs, np.full(xs.size, level)) for level in (-12.0, -0.5, 0.0, 3.5, 12.0)]
    curves += [(np.full(25, edge), np.linspace(-12, 12, 25)) for edge in (0.0, 17.0, 40.0)]
    curves += [(xs, np.where(xs % 2 == 0, -12.0, 12.0))]  # zig-zag between the bounds
    check(curves, **view)


def test_two_point_and_degenerate_curves():
    curves = [
        (np.array([1.0, 9.0]), np.array([-4.0, 4.0])),
        (np.array([2.0, 2.0]), np.array([1.0, 1.0])),  # zero length
        (np.array([3.0]), np.array([0.0])),  # one sample: nothing
        (np.array([-5.0, -4.0]), np.array([0.0, 0.0])),  # entirely left of the view
        (np.array([10.0, 10.0]), np.array([-5.0, 5.0])),  # on the upper x bound
    ]
    check(curves)


def test_a_curve_counts_once_however_often_it_passes():
    x = np.tile([0.0, 10.0], 50)  # 99 segments over the same line
    y = np.tile([-4.0, 4.0], 50)
    got = check([(x, y)])
    assert got.max() == 1


def test_shared_x_matches_concatenated():
    rng = np.random.default_rng(4)
    x = np.linspace(-1, 11, 300)
    y = np.cumsum(rng.normal(0, 0.5, (25, 300)), axis=1).astype(np.float32)
    y[3, 40:60] = np.nan
    shared = curve_density(x, y, **VIEW)
    curves = [(x, row) for row in y]
    np.testing.assert_array_equal(shared, reference_density(curves, **VIEW))
    flat_x, flat_y, offsets = concatenate(curves)
    np.testing.assert_array_equal(shared, curve_density(flat_x, flat_y, offsets, **VIEW))


def test_categories_split_the_total():
    rng = np.random.default_rng(5)
    curves = [walk(rng, 150) for _ in range(30)]
    cats = rng.integers(0, 3, 30)
    x, y, offsets = concatenate(curves)
    split = curve_density_by_category(x, y, offsets, categories=cats, n_categories=3, **VIEW)
    assert split.shape == (VIEW["height"], VIEW["width"], 3)
    np.testing.assert_array_equal(split.sum(axis=2), curve_density(x, y, offsets, **VIEW))
    for k in range(3):
        subset = [c for c, cat in zip(curves, cats, strict=True) if cat == k]
        np.testing.assert_array_equal(split[:, :, k], reference_density(subset, **VIEW))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.one_of(st.floats(-20, 30), st.just(np.nan), st.sampled_from([0.0, 5.0, 10.0])),
                st.one_of(st.floats(-15, 15), st.just(np.nan), st.sampled_from([-5.0, 0.0, 5.0])),
            ),
            min_size=0,
            max_size=25,
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([np.float32, np.float64]),
)
def test_property_any_curves_match(curves, dtype):
    arrays = [
        (np.array([p[0] for p in c], dtype=np.float64), np.array([p[1] for p in c], dtype=dtype))
        for c in curves
    ]
    check(arrays)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(x_range=(1.0, 1.0)), "x_range must be two finite numbers"),
        (dict(y_range=(0.0, np.inf)), "y_range must be two finite numbers"),
        (dict(width=0), "width and height must be positive"),
    ],
)
def test_bad_views_are_refused(kwargs, message):
    x, y, offsets = concatenate([(np.arange(3.0), np.arange(3.0))])
    with pytest.raises(DensityInputError, match=message):
        curve_density(x, y, offsets, **{**VIEW, **kwargs})


def test_bad_arrays_are_refused():
    x = np.arange(4.0)
    with pytest.raises(DensityInputError, match="offsets must start at 0"):
        curve_density(x, x, np.array([0, 2, 5]), **VIEW)
    with pytest.raises(DensityInputError, match="float32 or float64"):
        curve_density(x.astype(int), x, np.array([0, 4]), **VIEW)
    with pytest.raises(DensityInputError, match="need offsets"):
        curve_density(x, x, **VIEW)
    with pytest.raises(DensityInputError, match=r"categories must lie in 0\.\.1"):
        curve_density_by_category(
            x, x, np.array([0, 4]), categories=np.array([2]), n_categories=2, **VIEW
        )


def test_plain_python_run_agrees(tmp_path):
    """The same kernel with NUMBA_DISABLE_JIT=1: the logic is covered as plain Python."""
    code = textwrap.dedent(
        """
        import numpy as np
        from pipelines.density import curve_density, curve_density_by_category, curves_through
        from tests.pipelines.density_reference import concatenate, reference_density
        rng = np.random.default_rng(6)
        curves = []
        for _ in range(6):
            x = np.sort(rng.uniform(-1, 11, 40))
            y = np.cumsum(rng.normal(0, 1.5, 40))
            y[rng.integers(0, 40)] = np.nan
            curves.append((x, y))
        curves.append((np.array([5.0, 5.0, 2.0]), np.array([-9.0, 9.0, 0.0])))
        curves.append((np.empty(0), np.empty(0)))  # empty and one-sample curves draw nothing
        curves.append((np.array([3.0]), np.array([1.0])))
        t = np.linspace(0, 6.3, 60)
        curves.append((5 + 4 * np.cos(t), 4 * np.sin(2 * t)))  # loops: the stamping path
        view = dict(x_range=(0.0, 10.0), y_range=(-5.0, 5.0), width=20, height=12)
        x, y, offsets = concatenate(curves)
        got = curve_density(x, y, offsets, **view)
        assert (got == reference_density(curves, **view)).all()
        cats = np.arange(len(curves)) % 2
        split = curve_density_by_category(x, y, offsets, categories=cats, n_categories=2, **view)
        assert (split[:, :, 1] == reference_density(curves[1::2], **view)).all()
        from pipelines.density import coded_density
        codes = [(np.round(cx * 100), np.round(cy * 50)) for cx, cy in curves[:6]]
        cx, cy, co = concatenate([(a[np.isfinite(b)], b[np.isfinite(b)]) for a, b in codes])
        steps = np.array([[0.01] * 6, [0.02] * 6])
        coded = coded_density(
            cx.astype(np.int32), cy.astype(np.int32), co, steps=steps, picks=[4, 0, 2], **view
        )[:, :, 0]
        scaled = [(cx[co[i]:co[i + 1]] * 0.01, cy[co[i]:co[i + 1]] * 0.02) for i in (0, 2, 4)]
        assert (coded == reference_density(scaled, **view)).all()
        from tests.pipelines.test_density import compact
        tenths = [(np.round(a * 10), np.round(b * 50)) for a, b in curves[:6]]
        tx, ty, to = concatenate([(a[np.isfinite(b)], b[np.isfinite(b)]) for a, b in tenths])
        tx, ty, by_tenths = tx.astype(np.int32), ty.astype(np.int32), steps * [[10], [1]]
        plain = coded_density(tx, ty, to, steps=by_tenths, **view)
        dx, dy, firsts, bases = compact(tx, ty + 40_000, to)
        held = coded_density(
            dx, dy, to, steps=by_tenths, x_first=firsts, y_base=bases - 40_000, **view
        )
        assert (held == plain).all() and plain.sum() > 0
        hits = curves_through(x, y, offsets, box=(8, 11, 5, 6), **view)
        ref = [bool(reference_density([c], **view)[5:7, 8:12].any()) for c in curves]
        assert hits.tolist() == ref
        print("agree", int(got.sum()))
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("agree ")


def test_infinity_breaks_the_line_like_nan():
    x = np.array([1.0, 2.0, np.inf, 5.0, 6.0, 7.0, 8.0])
    y = np.array([0.0, 1.0, 2.0, -np.inf, 1.0, 2.0, 0.5])
    as_nan = (np.where(np.isinf(x), np.nan, x), np.where(np.isinf(y), np.nan, y))
    flat_x, flat_y, offsets = concatenate([(x, y)])
    np.testing.assert_array_equal(
        curve_density(flat_x, flat_y, offsets, **VIEW), reference_density([as_nan], **VIEW)
    )


def test_public_entry_point():
    import pipelines

    assert pipelines.curve_density is curve_density
    assert pipelines.curve_density_by_category is curve_density_by_category


def test_an_end_one_ulp_outside_the_view_is_still_clipped():
    # Liang-Barsky leaves the middle end unclipped through rounding; the next segment starts
    # one ulp outside the view and must be clipped like Datashader clips it.
    x = np.array([4.0468007100000003, np.nextafter(15.0, np.inf), 14.0])
    y = np.array([0.5, 0.5, 0.05])
    check([(x, y)], x_range=(0.0, 15.0), y_range=(0.0, 1.0), width=150, height=8)


def coordinate(lo, hi, pixels):
    """Values on one axis that favour its bounds, the values one ulp beyond them and its pixel
    edges (where rounding decides), or anything near, or NaN."""
    edges = [lo + (hi - lo) * k / pixels for k in range(pixels + 1)]
    near = [np.nextafter(v, d) for v in (lo, hi) for d in (-np.inf, np.inf)]
    return st.one_of(
        st.floats(lo - (hi - lo), hi + (hi - lo)),
        st.sampled_from([lo, hi, *near, *edges]),
        st.just(np.nan),
    )


@st.composite
def views_and_curves(draw):
    """A random view, and curves whose samples favour its bounds, the values one ulp beyond
    them and its pixel edges: where rounding decides."""
    x0 = draw(st.floats(-100, 100))
    y0 = draw(st.floats(-100, 100))
    span_x = draw(st.floats(0.01, 500))
    span_y = draw(st.floats(0.01, 500))
    width, height = draw(st.integers(1, 50)), draw(st.integers(1, 40))
    x_range, y_range = (x0, x0 + span_x), (y0, y0 + span_y)

    point = st.tuples(coordinate(*x_range, width), coordinate(*y_range, height))
    curves = draw(st.lists(st.lists(point, min_size=0, max_size=20), min_size=1, max_size=6))
    dtypes = draw(
        st.tuples(
            st.sampled_from([np.float32, np.float64]), st.sampled_from([np.float32, np.float64])
        )
    )
    return dict(x_range=x_range, y_range=y_range, width=width, height=height), curves, dtypes


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(views_and_curves())
def test_property_random_views_and_edges(case):
    view, curves, (x_dtype, y_dtype) = case
    arrays = [
        (np.array([p[0] for p in c], dtype=x_dtype), np.array([p[1] for p in c], dtype=y_dtype))
        for c in curves
    ]
    check(arrays, **view)


@st.composite
def views_and_shared_x(draw):
    """A random view and curves on one shared x axis (the wide layout), whose samples favour
    the view's bounds, the values one ulp beyond them and its pixel edges."""
    view, _, dtypes = draw(views_and_curves())
    (x0, x1), (y0, y1) = view["x_range"], view["y_range"]

    n = draw(st.integers(0, 20))
    x = draw(st.lists(coordinate(x0, x1, view["width"]), min_size=n, max_size=n))
    rows = draw(
        st.lists(
            st.lists(coordinate(y0, y1, view["height"]), min_size=n, max_size=n),
            min_size=1,
            max_size=6,
        )
    )
    return view, x, rows, dtypes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(views_and_shared_x())
def test_property_a_shared_x_axis_draws_like_separate_curves(case):
    """A shared x axis takes its pixel columns once for all curves (``shared_columns``): the
    pixels must be those of the same curves given one by one, and of the reference."""
    view, x, rows, (x_dtype, y_dtype) = case
    x = np.array(x, dtype=x_dtype).reshape(-1)
    y = np.array(rows, dtype=y_dtype).reshape(len(rows), len(x))
    shared = curve_density(x, y, **view)
    curves = [(x, row) for row in y]
    np.testing.assert_array_equal(shared, reference_density(curves, **view))
    flat_x, flat_y, offsets = concatenate(curves)
    np.testing.assert_array_equal(shared, curve_density(flat_x, flat_y, offsets, **view))


def test_curves_through_a_box_including_loops():
    t = np.linspace(0, 4 * np.pi, 300)
    loop = (5 + 3 * np.cos(t), 3 * np.sin(2 * t))  # crosses itself: gapped columns, stamping
    line = (np.array([0.0, 10.0]), np.array([-4.0, -4.0]))
    curves = [loop, line]
    x, y, offsets = concatenate(curves)
    for box in [(0, 39, 0, 23), (20, 20, 12, 12), (0, 39, 2, 2), (0, 2, 20, 23)]:
        got = curves_through(x, y, offsets, box=box, **VIEW)
        c0, c1, r0, r1 = box
        expected = [
            bool(reference_density([c], **VIEW)[r0 : r1 + 1, c0 : c1 + 1].any()) for c in curves
        ]
        assert got.tolist() == expected, box
    with pytest.raises(DensityInputError, match="not inside the 40x24 canvas"):
        curves_through(x, y, offsets, box=(0, 40, 0, 1), **VIEW)


def test_boolean_categories_are_accepted():
    curves = [(np.arange(3.0), np.arange(3.0)), (np.arange(3.0), -np.arange(3.0))]
    x, y, offsets = concatenate(curves)
    split = curve_density_by_category(
        x, y, offsets, categories=np.array([False, True]), n_categories=2, **VIEW
    )
    np.testing.assert_array_equal(split[:, :, 1], reference_density(curves[1:], **VIEW))


def coded_curves(rng, n_curves: int, dtype):
    """Integer codes with per-curve steps, including samples exactly on pixel edges."""
    xs, ys, steps = [], [], []
    for i in range(n_curves):
        n = int(rng.integers(2, 300))
        step_x = [0.25, 0.1, 0.001][i % 3]  # 0.25: samples on pixel edges of the 40-px view
        step_y = [0.5, 0.01, 0.003][i % 3]
        x = np.sort(rng.integers(int(-1 / step_x), int(11 / step_x), n))
        y = np.cumsum(rng.integers(-3, 4, n)) + int(rng.integers(-400, 400))
        y = np.clip(y, -(5 / step_y) * 1.2, (5 / step_y) * 1.2).astype(int)
        xs.append(x.astype(dtype))
        ys.append(y.astype(dtype))
        steps.append((step_x, step_y))
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in xs])]).astype(np.int64)
    return np.concatenate(xs), np.concatenate(ys), offsets, np.array(steps).T


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_coded_samples_draw_exactly_like_their_float_values(dtype):
    rng = np.random.default_rng(11)
    x, y, offsets, steps = coded_curves(rng, 40, dtype)
    per_sample = np.repeat(steps, np.diff(offsets), axis=1)
    xf, yf = x.astype(np.float64) * per_sample[0], y.astype(np.float64) * per_sample[1]
    cats = np.arange(40) % 3
    expected = curve_density_by_category(xf, yf, offsets, categories=cats, n_categories=3, **VIEW)
    got = coded_density(x, y, offsets, steps=steps, categories=cats, n_categories=3, **VIEW)
    np.testing.assert_array_equal(got, expected)
    picks = rng.permutation(40)[:15]
    some = coded_density(x, y, offsets, steps=steps, picks=picks, **VIEW)[:, :, 0]
    curves = [(xf[offsets[i] : offsets[i + 1]], yf[offsets[i] : offsets[i + 1]]) for i in picks]
    np.testing.assert_array_equal(some, reference_density(curves, **VIEW))


def compact(x, y, offsets):
    """Codes as the memory cache holds them: x as int8 steps with each curve's first code, y
    as int16 relative to the middle of each curve's range."""
    from pipelines.kernels.compact import middles, relative, to_deltas

    n = len(offsets) - 1
    steps, firsts, lasts = np.empty(len(x), np.int8), np.empty(n, np.int64), np.empty(n, np.int64)
    assert to_deltas(x, offsets, steps, firsts, lasts)
    bases, widest = middles(y, offsets)
    assert widest < 2**15
    held = np.empty(len(y), np.int16)
    relative(y, offsets, bases, held)
    return steps, held, firsts, bases


def test_compact_codes_draw_exactly_like_the_codes():
    """x back and forth by small steps, y codes beyond int16 (their ranges within it): held
    compactly they give the same pixels, picks, colours and hits."""
    rng = np.random.default_rng(12)
    xs, ys, steps = [], [], []
    for i in range(60):
        n = int(rng.integers(0, 200))
        step_x, step_y = [(0.25, 0.0002), (0.01, 0.0001), (0.05, 0.00015)][i % 3]
        x = int(rng.integers(int(-2 / step_x), int(11 / step_x))) + np.cumsum(
            rng.integers(-40, 120, n)
        )
        y = np.cumsum(rng.integers(-900, 900, n)) + int(rng.integers(-60_000, 60_000))
        xs.append(x)
        ys.append(y)
        steps.append((step_x, step_y))
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in xs])]).astype(np.int64)
    x, y = np.concatenate(xs).astype(np.int32), np.concatenate(ys).astype(np.int32)
    steps = np.array(steps).T
    assert np.abs(y).max() >= 2**15
    dx, dy, firsts, bases = compact(x, y, offsets)
    cats = np.arange(60) % 3
    picks = rng.permutation(60)[:40]
    both = dict(steps=steps, categories=cats, n_categories=3, picks=picks, **VIEW)
    expected, drawn = density_and_drawn(x, y, offsets, **both)
    got, got_drawn = density_and_drawn(dx, dy, offsets, x_first=firsts, y_base=bases, **both)
    assert expected.sum() > 0
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_drawn, drawn)
    box = dict(box=(10, 25, 5, 18), steps=steps, **VIEW)
    np.testing.assert_array_equal(
        curves_through(dx, dy, offsets, x_first=firsts, y_base=bases, **box),
        curves_through(x, y, offsets, **box),
    )


def test_compact_input_is_checked():
    codes, offsets = np.array([0, 1], dtype=np.int32), np.array([0, 2])
    one = np.zeros(1, np.int64)
    with pytest.raises(DensityInputError, match="x must be int8"):
        coded_density(codes, codes, offsets, steps=np.ones((2, 1)), x_first=one, **VIEW)
    with pytest.raises(DensityInputError, match="for integer codes"):
        curve_density_float_with(codes * 1.0, offsets, y_base=one)
    with pytest.raises(DensityInputError, match="one per curve"):
        coded_density(codes, codes, offsets, steps=np.ones((2, 1)), y_base=np.zeros(2), **VIEW)


def curve_density_float_with(values, offsets, **compact_form):
    return density_and_drawn(values, values, offsets, **compact_form, **VIEW)


def test_coded_input_is_checked():
    codes = np.array([0, 1], dtype=np.int32)
    offsets = np.array([0, 2])
    with pytest.raises(DensityInputError, match="int16 or int32"):
        coded_density(codes * 1.0, codes * 1.0, offsets, steps=np.ones((2, 1)), **VIEW)
    with pytest.raises(DensityInputError, match="shape"):
        coded_density(codes, codes, offsets, steps=np.ones((2, 3)), **VIEW)
    with pytest.raises(DensityInputError, match="curve indices"):
        coded_density(codes, codes, offsets, steps=np.ones((2, 1)), picks=[1], **VIEW)
