"""Cutting held curves to a view's x range: the kept samples against a slow, obvious reference,
and the kernels as plain Python (NUMBA_DISABLE_JIT=1). Pixels are compared with the engine's
in tests/pipelines/test_hot.py."""

from __future__ import annotations

import numpy as np

from pipelines.kernels.compact import to_deltas
from pipelines.kernels.trim import gather, kept_deltas, kept_ranges
from tests.plain_python import passes_without_jit


def reference(x, offsets, step, picks, xmin, xmax):
    """Per curve, by looking at every sample: from the last sample before the first one at or
    right of the left edge, to the first sample after the last one at or left of the right edge
    (unpicked: nothing)."""
    ranges = {}
    for ci in range(len(offsets) - 1):
        s, e = offsets[ci], offsets[ci + 1]
        values = x[s:e] * step[ci]
        if ci not in picks:
            ranges[ci] = (0, 0)
            continue
        reach = np.flatnonzero(values >= xmin)
        within = np.flatnonzero(values <= xmax)
        first = s + reach[0] if len(reach) else e
        last = s + within[-1] if len(within) else s - 1
        ranges[ci] = (max(s, first - 1), min(e, last + 2))
    return ranges


def dropped_segments_draw_nothing(x, offsets, step, starts, stops, xmin, xmax):
    """Every segment left out has both ends left of the view, or both right of it."""
    for ci in range(len(offsets) - 1):
        s, e = offsets[ci], offsets[ci + 1]
        if stops[ci] == starts[ci] == 0:
            continue
        values = x[s:e] * step[ci]
        for j in range(s, e - 1):
            if starts[ci] <= j and j + 1 < stops[ci]:
                continue  # kept
            a, b = values[j - s], values[j + 1 - s]
            assert (a < xmin and b < xmin) or (a > xmax and b > xmax), (ci, j)


def curves(rng, n=60):
    parts, offsets = [], [0]
    for i in range(n):
        length = int(rng.integers(0, 40))
        codes = np.cumsum(rng.integers(0, 4, length))  # growing, with repeats
        if i % 3 == 0:
            codes = codes + rng.integers(-6, 7, length)  # jittered: x goes back and forth
        parts.append(codes)
        offsets.append(offsets[-1] + length)
    return np.concatenate(parts).astype(np.int32), np.array(offsets, dtype=np.int64)


def test_kept_samples_match_the_reference_on_random_views():
    rng = np.random.default_rng(8)
    x, offsets = curves(rng)
    step = rng.choice([0.01, 0.5, 1.0], len(offsets) - 1)
    for _ in range(200):
        a, b = np.sort(rng.uniform(-2, 60, 2))
        if rng.random() < 0.3:  # on a sample's value exactly
            a = float(x[rng.integers(len(x))] * step[0])
            b = max(a, b)
        picks = np.flatnonzero(rng.random(len(offsets) - 1) < 0.7)
        starts, stops = kept_ranges(x, offsets, step, picks, a, b)
        expected = reference(x, offsets, step, set(picks.tolist()), a, b)
        got = {ci: (int(starts[ci]), int(stops[ci])) for ci in range(len(starts))}
        assert got == expected, (a, b)
        dropped_segments_draw_nothing(x, offsets, step, starts, stops, a, b)
        lengths = stops - starts
        cut = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=cut[1:])
        kept = gather(x, starts, stops, cut)
        for ci in range(len(starts)):
            np.testing.assert_array_equal(kept[cut[ci] : cut[ci + 1]], x[starts[ci] : stops[ci]])


def test_x_held_as_steps_is_cut_where_its_codes_are():
    """The same cuts from byte steps (walking from each curve's first and last code), and each
    kept part's first code: what the density kernel starts the part's steps from."""
    rng = np.random.default_rng(9)
    x, offsets = curves(rng)
    n = len(offsets) - 1
    steps, firsts, lasts = np.empty(len(x), np.int8), np.empty(n, np.int64), np.empty(n, np.int64)
    assert to_deltas(x, offsets, steps, firsts, lasts)
    step = rng.choice([0.01, 0.5, 1.0], n)
    for _ in range(200):
        a, b = np.sort(rng.uniform(-2, 60, 2))
        picks = np.flatnonzero(rng.random(n) < 0.7)
        starts, stops = kept_ranges(x, offsets, step, picks, a, b)
        got_starts, got_stops, kept_firsts = kept_deltas(
            steps, offsets, step, firsts, lasts, picks, a, b
        )
        np.testing.assert_array_equal(got_starts, starts)
        np.testing.assert_array_equal(got_stops, stops)
        for ci in range(n):
            if ci in picks and stops[ci] > starts[ci]:
                assert kept_firsts[ci] == x[starts[ci]], (ci, a, b)
            else:
                assert kept_firsts[ci] == firsts[ci]


def test_plain_python_run_agrees():
    """The same test with NUMBA_DISABLE_JIT=1: the kernels' logic as plain Python."""
    passes_without_jit(__file__, "random or steps", 2)
