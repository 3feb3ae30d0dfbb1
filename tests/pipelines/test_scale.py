"""Codes to values: the kernel against NumPy's obvious form, bit for bit, and as plain Python
(NUMBA_DISABLE_JIT=1)."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.kernels.scale import scaled
from tests.plain_python import passes_without_jit


def reference(codes, steps, counts):
    return codes.astype(np.float64) * np.repeat(steps, counts)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64])
def test_random_codes_and_steps_equal_numpys_product(dtype):
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 50, 200)  # empty curves too
    info = np.iinfo(dtype)
    codes = rng.integers(info.min, info.max, counts.sum(), dtype=dtype, endpoint=True)
    steps = rng.choice([1e-3, 0.1, 2.5e-4, 1 / 3, 7.0], len(counts))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    got = scaled(codes, steps, offsets)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(
        got.view(np.int64), reference(codes, steps, counts).view(np.int64)
    )


def test_no_curves():
    assert scaled(np.empty(0, np.int32), np.empty(0), np.zeros(1, np.int64)).shape == (0,)


def test_plain_python_run_agrees():
    """The same test with NUMBA_DISABLE_JIT=1: the kernel's logic as plain Python."""
    passes_without_jit(__file__, "int32", 1)
