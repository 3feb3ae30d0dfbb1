from __future__ import annotations

import numpy as np
import pytest

from pipelines.spc import capability


def test_indices_by_their_definitions():
    rng = np.random.default_rng(1)
    x = rng.normal(10.2, 0.5, 400)
    c = capability(x, lower=8.0, upper=12.0, sigma_within=0.45)
    s = x.std(ddof=1)
    assert c.cp == pytest.approx(4.0 / (6 * 0.45))
    assert c.cpk == pytest.approx(min(12 - x.mean(), x.mean() - 8) / (3 * 0.45))
    assert c.pp == pytest.approx(4.0 / (6 * s))
    assert c.ppk == pytest.approx((12 - x.mean()) / (3 * s))
    assert 0 < c.expected_outside < 0.01


def test_one_sided_specifications_and_bad_input():
    x = np.array([4.0, 5.0, 6.0, 5.0])
    upper_only = capability(x, lower=None, upper=8.0, sigma_within=1.0)
    assert upper_only.cp is None and upper_only.pp is None
    assert upper_only.cpk == pytest.approx((8 - 5) / 3)
    with pytest.raises(ValueError, match="lower or an upper"):
        capability(x, lower=None, upper=None, sigma_within=1.0)
    with pytest.raises(ValueError, match="below the upper"):
        capability(x, lower=9.0, upper=8.0, sigma_within=1.0)
    with pytest.raises(ValueError, match="do not vary"):
        capability([5.0, 5.0], lower=4.0, upper=6.0, sigma_within=1.0)
