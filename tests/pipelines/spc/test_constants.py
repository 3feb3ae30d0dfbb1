"""The computed chart constants against the published table (ASTM E2587-16, Table 2)."""

from __future__ import annotations

import math

import pytest

from pipelines.spc.constants import c4, d2, d3

# n: (d2, d3, c4, A2, D3, D4, A3, B3, B4), as printed (3-4 decimals)
TABLE = {
    2: (1.128, 0.853, 0.7979, 1.880, 0.0, 3.267, 2.659, 0.0, 3.267),
    3: (1.693, 0.888, 0.8862, 1.023, 0.0, 2.574, 1.954, 0.0, 2.568),
    4: (2.059, 0.880, 0.9213, 0.729, 0.0, 2.282, 1.628, 0.0, 2.266),
    5: (2.326, 0.864, 0.9400, 0.577, 0.0, 2.114, 1.427, 0.0, 2.089),
    6: (2.534, 0.848, 0.9515, 0.483, 0.0, 2.004, 1.287, 0.030, 1.970),
    7: (2.704, 0.833, 0.9594, 0.419, 0.076, 1.924, 1.182, 0.118, 1.882),
    8: (2.847, 0.820, 0.9650, 0.373, 0.136, 1.864, 1.099, 0.185, 1.815),
    10: (3.078, 0.797, 0.9727, 0.308, 0.223, 1.777, 0.975, 0.284, 1.716),
    15: (3.472, 0.756, 0.9823, 0.223, 0.347, 1.653, 0.789, 0.428, 1.572),
    25: (3.931, 0.708, 0.9896, 0.153, 0.459, 1.541, 0.606, 0.565, 1.435),
}


@pytest.mark.parametrize("n", sorted(TABLE))
def test_constants_match_the_published_table(n):
    t_d2, t_d3, t_c4, a2, low_r, high_r, a3, low_s, high_s = TABLE[n]
    assert round(d2(n), 3) == t_d2
    assert round(d3(n), 3) == t_d3
    assert round(c4(n), 4) == t_c4
    # The derived factors the charts' formulas amount to (the table rounds them from rounded
    # constants, so the last printed digit may differ by one).
    spread = 3 * math.sqrt(1 - c4(n) ** 2) / c4(n)
    derived = (
        (3 / (d2(n) * math.sqrt(n)), a2),
        (max(0.0, 1 - 3 * d3(n) / d2(n)), low_r),
        (1 + 3 * d3(n) / d2(n), high_r),
        (3 / (c4(n) * math.sqrt(n)), a3),
        (max(0.0, 1 - spread), low_s),
        (1 + spread, high_s),
    )
    for ours, printed in derived:
        assert ours == pytest.approx(printed, abs=0.0011)


def test_sizes_outside_the_tables_are_refused():
    with pytest.raises(ValueError, match="2 to 25"):
        d2(1)
    with pytest.raises(ValueError, match="2 to 25"):
        d3(26)
    assert 0.99 < c4(100) < 1.0  # the standard deviation's factor has no upper bound


def test_two_values_have_closed_forms():
    """For n = 2 the range is |X1 − X2| ~ |N(0, 2)|: d2 = 2/√π and d3 = √(2 − 4/π) exactly,
    finer than the table's three decimals."""
    assert d2(2) == pytest.approx(2 / math.sqrt(math.pi), abs=1e-6)
    assert d3(2) == pytest.approx(math.sqrt(2 - 4 / math.pi), abs=1e-5)
