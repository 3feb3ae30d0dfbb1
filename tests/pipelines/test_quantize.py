import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.quantize import (
    INT32_LIMIT,
    RELATIVE_TOLERANCE,
    choose_step,
    codes_fit_int16,
    to_codes,
)


@pytest.mark.parametrize(
    ("values", "step"),
    [
        ([10.0, 20.0, 300.0], 10.0),
        ([1.0, 2.0, 3.0], 1.0),
        ([12.345, -0.001, 7.5], 0.001),
        ([0.25, 0.5], 0.01),
        ([0.0, 0.0], 1.0),
        ([100.0, 100.000001], 1e-6),
        ([1_764_000_000.0, 1_764_000_123.0], 1.0),
        ([0.1, 0.2, 0.30000000000000004], 0.1),
        ([], 1.0),
    ],
)
def test_decimal_data_gets_its_own_grid(values, step):
    assert choose_step(np.array(values)) == pytest.approx(step)


def test_decimal_grid_round_trips_exactly_through_text():
    values = np.round(np.random.default_rng(1).normal(0, 500, 10_000), 3)
    step = choose_step(values)
    restored = to_codes(values, step) * step
    assert [f"{v:.3f}" for v in restored] == [f"{v:.3f}" for v in values]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=200,
    )
)
def test_any_finite_data_keeps_float32_precision(values):
    values = np.array(values)
    step = choose_step(values)
    codes = to_codes(values, step)
    assert np.max(np.abs(codes.astype(np.int64))) <= INT32_LIMIT
    tolerance = np.max(np.abs(values)) * RELATIVE_TOLERANCE
    assert np.max(np.abs(codes * step - values)) <= tolerance


def test_subnormal_values_still_get_a_grid():
    values = np.array([5e-324, 1e-310, -3e-320])
    step = choose_step(values)
    assert step > 0
    assert np.max(np.abs(to_codes(values, step) * step - values)) <= 1e-310 * RELATIVE_TOLERANCE


def test_codes_that_do_not_fit_are_refused():
    with pytest.raises(OverflowError):
        to_codes(np.array([1e12]), 1.0)


def choose_step_step_by_step(values: np.ndarray) -> float:
    """The reference: choose_step as it was in NumPy before its search became a kernel, each
    step's error taken on a sample of up to 65,536 values, then on the whole column."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 1.0
    magnitude = float(np.max(np.abs(values)))
    if magnitude == 0.0:
        return 1.0

    def error(sample: np.ndarray, step: float) -> float:
        return float(np.max(np.abs(np.rint(sample / step) * step - sample)))

    probe = values[:: max(1, values.size // 65_536)]
    for tolerance in (magnitude * 2.0**-50, magnitude * RELATIVE_TOLERANCE):
        top = math.floor(math.log10(magnitude))
        for exponent in range(top, top - 20, -1):
            step = 10.0**exponent
            if step == 0.0 or magnitude / step > INT32_LIMIT:
                break
            if error(probe, step) <= tolerance and error(values, step) <= tolerance:
                return step
    return math.ldexp(1.0, max(-1074, math.ceil(math.log2(magnitude) - math.log2(INT32_LIMIT))))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=300,
    ),
    st.integers(min_value=-3, max_value=12),
    st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e6]),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=1, max_value=5_000),
)
def test_the_step_is_that_of_the_step_by_step_search(values, decimals, scale, odd_ones, size):
    raw = np.resize(np.array(values), size)  # long columns too, few draws
    rng = np.random.default_rng(len(values))
    gridded = np.round(raw * scale, decimals)
    spoiled = gridded.copy()  # on a grid but for a few values, wherever they are
    spoiled[rng.integers(0, len(spoiled), odd_ones)] += 0.37 * 10.0**-decimals
    for column in (raw, raw * 1e-300, gridded, spoiled, gridded.astype(np.float32)):
        assert choose_step(column) == choose_step_step_by_step(column)


@pytest.mark.parametrize("size", [3_000, 70_000, 300_000])
def test_long_columns_with_one_value_off_the_grid_get_the_same_step(size):
    rng = np.random.default_rng(size)
    for decimals in (0, 2, 3, 5):
        values = np.round(rng.normal(0, 50, size), decimals)
        assert choose_step(values) == choose_step_step_by_step(values) == 10.0**-decimals
        for where in (0, 1, size // 2 + 1, size - 1):  # on and between every probe's samples
            spoiled = values.copy()
            spoiled[where] += 0.3 * 10.0**-decimals
            assert choose_step(spoiled) == choose_step_step_by_step(spoiled)
            if decimals <= 3:  # off by more than float32's resolution: a finer grid
                assert choose_step(spoiled) < 10.0**-decimals


def test_plain_python_search_agrees():
    """The search kernel with NUMBA_DISABLE_JIT=1: its logic is covered as plain Python."""
    code = textwrap.dedent(
        """
        import numpy as np
        from pipelines.quantize import choose_step
        from tests.pipelines.test_quantize import choose_step_step_by_step
        rng = np.random.default_rng(5)
        for decimals in (0, 3, 9):
            values = np.round(rng.normal(0, 50, 500), decimals)
            spoiled = values.copy()
            spoiled[100] += 0.3 * 10.0**-decimals
            for column in (values, spoiled, rng.normal(0, 50, 500)):
                assert choose_step(column) == choose_step_step_by_step(column)
        print("agree")
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "agree"


def test_int16_travels_only_where_the_extents_show_every_code_fits():
    meta = pd.DataFrame({"x_min": [-2.0, 0.0], "x_max": [6.5, 3276.0], "x_step": [0.1, 0.1]})
    assert codes_fit_int16(meta, "x")  # codes up to 32,760
    assert not codes_fit_int16(meta.assign(x_max=[6.5, 3276.7]), "x")  # 32,767: too near the edge
    assert not codes_fit_int16(meta.assign(x_step=[0.0, 0.1]), "x")  # no step: no telling
