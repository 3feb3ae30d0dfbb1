"""Drift on a step made without noise (where it starts is then known exactly), on a stable
series, and on noise with a small shift."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.spc import cusum, ewma


@pytest.mark.parametrize("method", [cusum, ewma])
def test_a_clean_step_is_found_where_it_began(method):
    x = np.r_[np.full(50, 10.0), np.full(30, 12.0)]  # 2 σ up from part 50
    drift = method(x, target=10.0, sigma=1.0)
    assert drift.drifting and drift.direction == "up"
    assert drift.since == 50 and 50 <= drift.signal <= 55
    assert drift.shift_sigma == pytest.approx(2.0)
    down = method(-x + 20.0, target=10.0, sigma=1.0)
    assert down.direction == "down" and down.since == 50


def test_cusum_by_its_recursion():
    x = np.array([0.0, 1.0, 2.0, 3.0, -1.0, 4.0])
    drift = cusum(x, target=0.0, sigma=1.0, k=0.5, h=4.0)
    up = [0.0, 0.5, 2.0, 4.5, 3.0, 6.5]
    down = [0.0, 0.0, 0.0, 0.0, 0.5, 0.0]
    np.testing.assert_allclose(drift.statistic, np.subtract(up, down))
    assert (drift.signal, drift.since) == (3, 1)


@pytest.mark.parametrize("method", [cusum, ewma])
def test_a_stable_series_does_not_drift_and_a_small_shift_is_found_late_but_found(method):
    assert not method(np.full(200, 5.0), target=5.0, sigma=0.2).drifting
    rng = np.random.default_rng(7)
    # 1 σ up from part 100, on noise a little quieter than σ (a long stable stretch with noise
    # of exactly σ raises a false alarm every few hundred parts, as it should).
    x = np.r_[rng.normal(0, 0.6, 100), rng.normal(1.0, 0.6, 200)]
    drift = method(x, target=0.0, sigma=1.0)
    assert drift.drifting and drift.direction == "up" and drift.signal >= 100
    assert 80 <= drift.since <= drift.signal


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="finite"):
        ewma([1.0, np.nan], target=0.0, sigma=1.0)
    with pytest.raises(ValueError, match="σ must be positive"):
        cusum([1.0], target=0.0, sigma=0.0)
    with pytest.raises(ValueError, match="λ"):
        ewma([1.0], target=0.0, sigma=1.0, lam=0.0)
