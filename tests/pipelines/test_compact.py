"""The memory cache's compact codes against plain NumPy: byte steps there and back, middles and
relative codes; also as plain Python (NUMBA_DISABLE_JIT=1). Pixels drawn from them are compared
in tests/pipelines/test_density.py, loads in tests/pipelines/test_hot.py."""

from __future__ import annotations

import numpy as np

from pipelines.kernels.compact import from_deltas, middles, relative, to_deltas
from tests.plain_python import passes_without_jit


def random_curves(rng, spread: int, n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    lengths = rng.integers(0, 30, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    starts = np.repeat(rng.integers(-40_000, 40_000, n), lengths)
    codes = starts + np.concatenate(
        [np.cumsum(rng.integers(-spread, spread + 1, k)) for k in lengths]
    )
    return codes.astype(np.int32), offsets


def test_random_steps_go_there_and_back():
    rng = np.random.default_rng(3)
    codes, offsets = random_curves(rng, spread=60)
    n = len(offsets) - 1
    steps, firsts, lasts = (
        np.empty(len(codes), np.int8),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
    )
    assert to_deltas(codes, offsets, steps, firsts, lasts)
    for ci in range(n):
        s, e = offsets[ci], offsets[ci + 1]
        if e > s:
            assert (firsts[ci], lasts[ci]) == (codes[s], codes[e - 1])
            expected = np.diff(codes[s:e].astype(np.int64), prepend=codes[s])
            np.testing.assert_array_equal(steps[s:e], expected)
    back = np.empty(len(codes), np.int64)
    from_deltas(steps, offsets, firsts, back)
    np.testing.assert_array_equal(back, codes)


def test_a_step_beyond_a_byte_is_refused():
    rng = np.random.default_rng(4)
    for jump in (128, -129):
        codes = np.array([5, 10, 10 + jump, 11 + jump], np.int32)
        offsets = np.array([0, 4], np.int64)
        ok = to_deltas(codes, offsets, np.empty(4, np.int8), np.zeros(1), np.zeros(1))
        assert not ok
    edge = np.array([0, 127, -1], np.int16)  # +127 and -128: the byte's ends
    assert to_deltas(edge, np.array([0, 3]), np.empty(3, np.int8), np.zeros(1), np.zeros(1))
    codes, offsets = random_curves(rng, spread=200)
    steps = np.empty(len(codes), np.int8)
    assert not to_deltas(codes, offsets, steps, np.zeros(50, np.int64), np.zeros(50, np.int64))


def test_random_relative_codes():
    rng = np.random.default_rng(5)
    codes, offsets = random_curves(rng, spread=3_000)
    bases, widest = middles(codes, offsets)
    reference = 0
    for ci in range(len(offsets) - 1):
        part = codes[offsets[ci] : offsets[ci + 1]].astype(np.int64)
        if len(part):
            mid = (part.min() + part.max()) // 2
            assert bases[ci] == mid
            reference = max(reference, part.max() - mid, mid - part.min())
        else:
            assert bases[ci] == 0
    assert widest == reference
    held = np.empty(len(codes), np.int32)
    relative(codes, offsets, bases, held)
    np.testing.assert_array_equal(held + np.repeat(bases, np.diff(offsets)), codes)


def test_plain_python_run_agrees():
    """The same tests with NUMBA_DISABLE_JIT=1: the kernels' logic as plain Python."""
    passes_without_jit(__file__, "random or beyond", 3)
