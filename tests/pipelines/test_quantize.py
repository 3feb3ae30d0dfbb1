import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.quantize import INT32_LIMIT, RELATIVE_TOLERANCE, choose_step, to_codes


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
