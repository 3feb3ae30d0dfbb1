"""The rule kernels against the exact references (tests/pipelines/rules/reference.py), on random
curves whose samples and boundaries sit on a coarse grid (so touching an edge, a corner or a
line exactly happens often), on hand-made edge cases, and as plain Python (NUMBA_DISABLE_JIT)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.kernels import rules as R
from tests.pipelines.rules import reference as ref
from tests.pipelines.rules.reference import concatenate
from tests.plain_python import passes_without_jit

BOX = np.array([2.0, 6.0, 1.0, 4.0])  # x0, x1, y0, y1


def unit(offsets):
    """Steps of 1.0 for float samples."""
    return np.ones(len(offsets) - 1), np.ones(len(offsets) - 1)


def close(point, expected):
    if expected is None:
        return bool(np.isnan(point).all())
    return all(
        math.isclose(float(a), float(b), abs_tol=1e-9) for a, b in zip(point, expected, strict=True)
    )


def random_curves(rng, n=300, grid=0.5):
    curves = []
    for _ in range(n):
        m = int(rng.integers(0, 12))
        x = np.round(rng.uniform(-1, 9, m) / grid) * grid
        if rng.random() < 0.5:
            x = np.sort(x)
        y = np.round(rng.uniform(-1, 6, m) / grid) * grid
        if m and rng.random() < 0.25:
            y[rng.integers(0, m)] = np.nan
        if m and rng.random() < 0.05:
            x[rng.integers(0, m)] = np.inf
        curves.append((x, y))
    return curves


def window_agrees(curves, box, kind, entry, exit_):
    x, y, offsets = concatenate(curves)
    codes, sides, points = R.judge_window(x, y, offsets, *unit(offsets), box, kind, entry, exit_)
    for ci, (cx, cy) in enumerate(curves):
        code, slots = ref.window(cx, cy, box, kind, entry, exit_)
        assert codes[ci] == code, (ci, cx, cy, codes[ci], code)
        if slots is None:
            continue
        limit = 1 if kind != R.UNI_BOX else 3
        for k in range(limit):
            assert sides[ci, k] == slots[k][0], (ci, k, cx, cy, sides[ci], slots)
            assert close(points[ci, k], slots[k][1]), (ci, k, cx, cy, points[ci], slots)


def test_windows_match_the_reference_on_random_curves():
    rng = np.random.default_rng(19)
    for trial in range(8):
        curves = random_curves(rng)
        box = np.sort(np.round(rng.uniform(-1, 9, 2) * 2) / 2)
        ys = np.sort(np.round(rng.uniform(-1, 6, 2) * 2) / 2)
        box = np.array([box[0], box[1] + 0.5, ys[0], ys[1] + 0.5])
        entry, exit_ = int(rng.integers(1, 16)), int(rng.integers(1, 16))
        for kind in (R.UNI_BOX, R.PASS_THROUGH, R.NOT_TOUCH):
            window_agrees(curves, box, kind, entry, exit_)
        assert trial >= 0


def test_random_windows_see_every_verdict():
    """The random test is only as good as what it reaches: every uni-box outcome occurs."""
    rng = np.random.default_rng(19)
    seen = set()
    for _ in range(8):
        x, y, offsets = concatenate(random_curves(rng))
        codes, _, _ = R.judge_window(
            x, y, offsets, *unit(offsets), BOX, R.UNI_BOX, R.LEFT, R.RIGHT | R.TOP
        )
        seen |= set(codes.tolist())
    assert seen == {
        R.PASS, R.EMPTY, R.NEVER_REACHED, R.STARTED_INSIDE, R.WRONG_ENTRY, R.ENDED_INSIDE,
        R.GAP_INSIDE, R.WRONG_EXIT, R.REENTERED,
    }  # fmt: skip


def test_lines_match_the_reference_on_random_curves():
    rng = np.random.default_rng(7)
    crossed = 0
    for _ in range(10):
        curves = random_curves(rng)
        segment = np.round(rng.uniform(-1, 8, 4) * 2) / 2
        if rng.random() < 0.2:
            segment[2:] = segment[:2]  # a line of one point
        x, y, offsets = concatenate(curves)
        codes, points = R.judge_line(x, y, offsets, *unit(offsets), segment)
        for ci, (cx, cy) in enumerate(curves):
            code, point = ref.line(cx, cy, segment)
            assert codes[ci] == code, (ci, cx, cy, segment)
            assert close(points[ci], point), (ci, cx, cy, segment, points[ci], point)
        crossed += int((codes == R.CROSSED).sum())
    assert crossed > 100


def random_band(rng):
    kx = np.unique(np.round(rng.uniform(-2, 10, 5) * 2) / 2)
    kx = np.concatenate([[-2.0], kx[(kx > -2) & (kx < 10)], [10.0]])
    low = np.round(rng.uniform(-1, 3, len(kx)) * 2) / 2
    ux = np.unique(np.concatenate([[-2.0, 10.0], np.round(rng.uniform(-2, 10, 3) * 2) / 2]))
    high = np.round(rng.uniform(3, 6, len(ux)) * 2) / 2
    return (kx, low), (ux, high)


def test_envelopes_match_the_reference_on_random_curves():
    rng = np.random.default_rng(3)
    outcomes = set()
    for _ in range(10):
        curves = random_curves(rng)
        lower, upper = random_band(rng)
        xa, xb = np.sort(np.round(rng.uniform(-1, 9, 2) * 2) / 2)
        env = np.array([xa, xb])
        x, y, offsets = concatenate(curves)
        codes, points, worst = R.judge_envelope(x, y, offsets, *unit(offsets), env, *lower, *upper)
        for ci, (cx, cy) in enumerate(curves):
            code, point, bad = ref.envelope(cx, cy, env, lower, upper)
            assert codes[ci] == code, (ci, cx, cy, env, lower, upper)
            assert close(points[ci], point), (ci, cx, cy, env, points[ci], point)
            if code in (R.PASS, R.ABOVE, R.BELOW):
                assert math.isclose(worst[ci], bad, abs_tol=1e-9)
        outcomes |= set(codes.tolist())
    assert outcomes == {R.PASS, R.EMPTY, R.ABOVE, R.BELOW, R.NOT_IN_RANGE}


def test_thresholds_match_the_reference_on_random_curves():
    rng = np.random.default_rng(11)
    outcomes = set()
    for _ in range(10):
        curves = random_curves(rng)
        level = float(np.round(rng.uniform(0, 5) * 2) / 2)
        low, high = np.sort(np.round(rng.uniform(-1, 9, 2) * 2) / 2)
        x, y, offsets = concatenate(curves)
        for direction in (R.RISING, R.FALLING, R.EITHER):
            codes, points, how = R.judge_threshold(
                x, y, offsets, *unit(offsets), level, direction, low, high
            )
            for ci, (cx, cy) in enumerate(curves):
                code, point, where = ref.threshold(cx, cy, level, direction, low, high)
                assert codes[ci] == code, (ci, cx, cy, level, direction)
                assert close(points[ci], point), (ci, cx, cy, level, points[ci], point)
                assert how[ci] == where
            outcomes |= set(codes.tolist())
    assert outcomes == {R.PASS, R.EMPTY, R.NEVER_CROSSED, R.OUTSIDE_LIMITS}


# --- hand-made cases: each definition of the module docstring, once -----------------------------


def one_window(x, y, kind=R.UNI_BOX, entry=R.ANY, exit_=R.ANY, box=BOX):
    cx, cy, offsets = concatenate([(np.array(x, float), np.array(y, float))])
    codes, sides, points = R.judge_window(cx, cy, offsets, *unit(offsets), box, kind, entry, exit_)
    return int(codes[0]), sides[0].tolist(), points[0]


@pytest.mark.parametrize(
    ("x", "y", "entry", "exit_"),
    [
        ([0, 8], [2, 2], R.LEFT, R.RIGHT),
        ([8, 0], [2, 2], R.RIGHT, R.LEFT),
        ([4, 4], [0, 5], R.BOTTOM, R.TOP),
        ([4, 4], [5, 0], R.TOP, R.BOTTOM),
        ([0, 4, 4], [2, 2, 5], R.LEFT, R.TOP),
        ([4, 4, 7], [5, 2, 2], R.TOP, R.RIGHT),
    ],
)
def test_entry_and_exit_through_each_side(x, y, entry, exit_):
    code, sides, _ = one_window(x, y, entry=entry, exit_=exit_)
    assert (code, sides[:2]) == (R.PASS, [entry, exit_])
    wrong = R.ANY & ~entry
    assert one_window(x, y, entry=wrong)[0] == R.WRONG_ENTRY
    assert one_window(x, y, exit_=R.ANY & ~exit_)[0] == R.WRONG_EXIT


def test_the_crossing_points_lie_on_the_edges_between_samples():
    code, sides, points = one_window([1, 5.5], [0.5, 5])  # both samples outside
    assert code == R.PASS and sides[:2] == [R.LEFT, R.TOP]
    np.testing.assert_allclose(points[0], [2.0, 1.5])
    np.testing.assert_allclose(points[1], [4.5, 4.0])


def test_a_curve_starting_inside_fails_a_uni_box_but_passes_through():
    assert one_window([3, 8], [2, 2])[:2] == (R.STARTED_INSIDE, [R.START, R.RIGHT, 0])
    assert one_window([3, 8], [2, 2], kind=R.PASS_THROUGH)[0] == R.PASS
    assert one_window([3, 8], [2, 2], kind=R.NOT_TOUCH)[0] == R.TOUCHED


def test_a_curve_ending_inside_never_exits():
    code, sides, points = one_window([0, 3, 4], [2, 2, 3])
    assert (code, sides[:2]) == (R.ENDED_INSIDE, [R.LEFT, R.END])
    np.testing.assert_array_equal(points[1], [4, 3])


def test_touching_an_edge_from_outside_is_a_visit():
    # The curve runs up to the left edge (x = 2) and back: the edge belongs to the window.
    code, sides, points = one_window([0, 2, 0], [2, 2, 2])
    assert (code, sides[:2]) == (R.PASS, [R.LEFT, R.LEFT])
    np.testing.assert_array_equal(points[:2], [[2, 2], [2, 2]])
    assert one_window([0, 2, 0], [2, 2, 2], kind=R.NOT_TOUCH)[0] == R.TOUCHED
    assert one_window([0, 1.999, 0], [2, 2, 2], kind=R.NOT_TOUCH)[0] == R.PASS


def test_a_corner_counts_as_both_of_its_sides():
    # In through the top-right corner (6, 4), crossing both its edges inward, out at the bottom.
    code, sides, points = one_window([7, 4, 4], [5, 2, -1])
    assert (code, sides[:2]) == (R.PASS, [R.TOP | R.RIGHT, R.BOTTOM])
    np.testing.assert_array_equal(points[0], [6, 4])
    assert one_window([7, 4, 4], [5, 2, -1], entry=R.TOP)[0] == R.PASS
    assert one_window([7, 4, 4], [5, 2, -1], entry=R.LEFT)[0] == R.WRONG_ENTRY
    # Only touching that corner, down and to the right: in across the top edge, out across the
    # right one, at the same point.
    code, sides, points = one_window([5, 7], [5, 3])
    assert (code, sides[:2]) == (R.PASS, [R.TOP, R.RIGHT])
    np.testing.assert_array_equal(points[:2], [[6, 4], [6, 4]])


def test_running_along_an_edge_enters_through_the_crossed_side_only():
    code, sides, _ = one_window([0, 8], [4, 4])  # along the top edge, left to right
    assert (code, sides[:2]) == (R.PASS, [R.LEFT, R.RIGHT])


def test_re_entering_fails_and_says_where():
    code, sides, points = one_window([0, 4, 8, 4, 8], [2, 2, 2, 3, 5])
    assert code == R.REENTERED and sides == [R.LEFT, R.RIGHT, R.RIGHT]
    np.testing.assert_array_equal(points[2], [6, 2.5])


def test_a_nan_gap_breaks_the_polyline():
    # Jumping over the window through a gap: no segment crosses it.
    assert one_window([0, np.nan, 8], [2, 2, 2])[0] == R.NEVER_REACHED
    # Inside, then a gap: the visit ends without an exit.
    code, sides, points = one_window([0, 3, np.nan, 8], [2, 2, 2, 2])
    assert (code, sides[1]) == (R.GAP_INSIDE, R.GAP)
    np.testing.assert_array_equal(points[1], [3, 2])
    # First seen inside after a gap: not entered through a side.
    code, sides, _ = one_window([0, np.nan, 3, 8], [2, 2, 2, 2])
    assert (code, sides[0]) == (R.STARTED_INSIDE, R.AFTER_GAP)


def test_a_single_sample_is_a_point():
    assert one_window([4], [2])[:2] == (R.STARTED_INSIDE, [R.START, R.END, 0])
    assert one_window([4], [2], kind=R.PASS_THROUGH)[0] == R.PASS
    assert one_window([0], [2])[0] == R.NEVER_REACHED
    assert one_window([2], [1], kind=R.NOT_TOUCH)[0] == R.TOUCHED  # on the corner


def test_never_reaching_and_empty_curves():
    assert one_window([0, 1, 1.5], [0, 5, 2])[0] == R.NEVER_REACHED
    assert one_window([0, 8], [5, 5], kind=R.NOT_TOUCH)[0] == R.PASS
    for kind in (R.UNI_BOX, R.PASS_THROUGH, R.NOT_TOUCH):
        assert one_window([], [], kind=kind)[0] == R.EMPTY
        assert one_window([np.nan, 1], [1, np.nan], kind=kind)[0] == R.EMPTY


def one(kernel, x, y, *args):
    cx, cy, offsets = concatenate([(np.array(x, float), np.array(y, float))])
    return [a[0] for a in kernel(cx, cy, offsets, *unit(offsets), *args)]


LINE = np.array([5.0, 0.0, 5.0, 10.0])  # a vertical line at x = 5 from y = 0 to 10


def test_no_pass_line():
    code, point = one(R.judge_line, [0, 4, 6], [1, 2, 4], LINE)
    assert code == R.CROSSED
    np.testing.assert_allclose(point, [5, 3])
    assert one(R.judge_line, [0, 4, 6], [-3, -2, -1], LINE)[0] == R.PASS  # below its end
    assert one(R.judge_line, [0, 5, 4], [1, 2, 3], LINE)[0] == R.CROSSED  # touching counts
    assert one(R.judge_line, [5], [10], LINE)[0] == R.CROSSED  # a lone sample on its end
    assert one(R.judge_line, [4, np.nan, 6], [1, 1, 1], LINE)[0] == R.PASS  # over a gap
    code, point = one(R.judge_line, [5, 5], [-2, 3], LINE)  # along the line: first contact
    assert code == R.CROSSED
    np.testing.assert_array_equal(point, [5, 0])
    assert one(R.judge_line, [], [], LINE)[0] == R.EMPTY


LOWER = (np.array([0.0, 10.0]), np.array([0.0, 0.0]))
UPPER = (np.array([0.0, 5.0, 10.0]), np.array([4.0, 2.0, 4.0]))  # a V: 2 at x = 5


def envelope(x, y, xa=1.0, xb=9.0):
    return one(R.judge_envelope, x, y, np.array([xa, xb]), *LOWER, *UPPER)


def test_envelope_checks_segments_not_only_samples():
    # Both samples are inside the band, but the segment between them passes over the V's tip.
    code, point, worst = envelope([3, 7], [2.5, 2.5])
    assert code == R.ABOVE
    np.testing.assert_allclose(point, [3.75, 2.5])
    assert math.isclose(worst, 0.5)
    assert envelope([3, 7], [1.9, 1.9])[0] == R.PASS


def test_envelope_edges_and_range():
    assert envelope([0, 10], [2, 2])[0] == R.PASS  # touching the upper bound at x = 5
    assert envelope([0, 1, 9, 10], [-5, 1, 1, -5])[0] == R.PASS  # outside only off the range
    code, point, _ = envelope([0, 2], [-1, -1])  # below from the range's first point on
    assert code == R.BELOW
    np.testing.assert_array_equal(point, [1, -1])
    assert envelope([-3, 0], [1, 1])[0] == R.NOT_IN_RANGE
    assert envelope([4, np.nan, 6], [1.5, 9, 1.5])[0] == R.PASS  # nothing judged in the gap
    assert envelope([5], [3])[0] == R.ABOVE  # a lone sample is a point
    assert envelope([], [])[0] == R.EMPTY


def test_thresholds():
    x, y = [0, 2, 4, 6], [0, 10, 20, 30]
    code, point, how = one(R.judge_threshold, x, y, 15.0, R.RISING, 2.5, 3.5)
    assert (code, how) == (R.PASS, 0)
    np.testing.assert_allclose(point, [3, 15])
    assert one(R.judge_threshold, x, y, 15.0, R.RISING, 3.5, 9)[0] == R.OUTSIDE_LIMITS
    assert one(R.judge_threshold, x, y, 40.0, R.RISING, 0, 9)[0] == R.NEVER_CROSSED
    # Already above the level at the start: reached at the first sample, and said so.
    code, point, how = one(R.judge_threshold, [1, 2], [20, 30], 15.0, R.RISING, 0, 9)
    assert (code, how, point.tolist()) == (R.PASS, R.START, [1, 20])
    code, point, how = one(R.judge_threshold, [1, 2, 3], [0, np.nan, 30], 15.0, R.RISING, 0, 9)
    assert (how, point.tolist()) == (R.AFTER_GAP, [3, 30])
    # The limits are closed; x against y is the same kernel with the arrays swapped.
    assert one(R.judge_threshold, x, y, 15.0, R.RISING, 3, 3)[0] == R.PASS
    assert one(R.judge_threshold, y, x, 3.0, R.RISING, 15, 15)[0] == R.PASS
    assert one(R.judge_threshold, [0, 1], [5, 1], 2.0, R.FALLING, 0.75, 0.75)[0] == R.PASS
    assert one(R.judge_threshold, [5], [15], 15.0, R.EITHER, 5, 5)[0] == R.PASS
    assert one(R.judge_threshold, [], [], 15.0, R.EITHER, 5, 5)[0] == R.EMPTY


def test_plain_python_run_agrees():
    """The random comparisons with NUMBA_DISABLE_JIT=1: the kernels' logic as plain Python."""
    passes_without_jit(__file__, "random_curves or a_nan_gap or single_sample", 6)


# Half-integers in a small range: every comparison the kernels make is exact there, so any
# disagreement with the rational reference is a bug, not rounding.
GRID = st.one_of(st.integers(-4, 20).map(lambda v: v / 2), st.just(np.nan))
CURVES = st.lists(st.lists(st.tuples(GRID, GRID), max_size=10), min_size=1, max_size=6)


def as_arrays(curves):
    return [(np.array([p[0] for p in c]), np.array([p[1] for p in c])) for c in curves]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CURVES, st.sampled_from([R.UNI_BOX, R.PASS_THROUGH, R.NOT_TOUCH]), st.integers(1, 15))
def test_windows_agree_with_the_reference_on_any_grid_curve(curves, kind, entry):
    exit_ = R.ANY ^ entry or R.ANY
    window_agrees(as_arrays(curves), BOX, kind, entry, exit_)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CURVES, st.tuples(GRID, GRID, GRID, GRID).filter(lambda t: all(np.isfinite(t))))
def test_lines_agree_with_the_reference_on_any_grid_curve(curves, segment):
    curves, segment = as_arrays(curves), np.array(segment)
    x, y, offsets = concatenate(curves)
    codes, points = R.judge_line(x, y, offsets, *unit(offsets), segment)
    for ci, (cx, cy) in enumerate(curves):
        code, point = ref.line(cx, cy, segment)
        assert codes[ci] == code and close(points[ci], point)


def test_stored_codes_are_judged_as_their_values():
    """The store's Int32 codes with a step per curve give, bit for bit, the verdicts and points
    of the float values ``code * step`` (each kernel, curves of different steps)."""
    rng = np.random.default_rng(23)
    counts = rng.integers(0, 40, 200)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    xc = np.concatenate([np.cumsum(rng.integers(-3, 12, c)) for c in counts]).astype(np.int32)
    yc = np.concatenate([np.cumsum(rng.integers(-5, 30, c)) for c in counts]).astype(np.int32)
    xs, ys = rng.choice([0.1, 0.25, 0.013], len(counts)), rng.choice([0.5, 0.07], len(counts))
    x, y = xc * np.repeat(xs, counts), yc * np.repeat(ys, counts)
    lower, upper = (
        (np.array([-1e4, 1e4]), np.array([0.0, 0.0])),
        (np.array([-1e4, 1e4]), np.array([50.0, 50.0])),
    )
    calls = [
        (R.judge_window, (np.array([2.0, 9.0, 5.0, 60.0]), R.UNI_BOX, R.LEFT, R.ANY)),
        (R.judge_line, (np.array([3.0, 0.0, 8.0, 80.0]),)),
        (R.judge_envelope, (np.array([1.0, 5.0]), *lower, *upper)),
        (R.judge_threshold, (100.0, R.RISING, 1.0, 20.0)),
    ]
    for kernel, args in calls:
        from_codes = kernel(xc, yc, offsets, xs, ys, *args)
        from_values = kernel(x, y, offsets, *unit(offsets), *args)
        for a, b in zip(from_codes, from_values, strict=True):
            np.testing.assert_array_equal(a, b)
        assert len(set(from_codes[0].tolist())) >= 3, kernel  # several outcomes
