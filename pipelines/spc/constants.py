"""Control chart constants for subgroups of n normal values, computed rather than copied from a
table: d2 (mean range in σ), d3 (standard deviation of the range in σ) and c4 (mean sample
standard deviation in σ). The tests hold them to the published tables (ASTM E2587)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

_GRID = np.linspace(-9.0, 9.0, 3601)  # the normal's support, to well past double precision
_CDF = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in _GRID]))
_PDF = np.exp(-0.5 * _GRID**2) / math.sqrt(2.0 * math.pi)
_R_STEPS = 2400  # ranges up to 12 σ: beyond, P(R > r) r² is far below double precision
MAX_N = 25


def _check(n: int, most: int = MAX_N) -> None:
    if not 2 <= n <= most:
        raise ValueError(f"a subgroup for a range has 2 to {most} values; got {n}")


@cache
def d2(n: int) -> float:
    """E[range of n standard normals] = ∫ 1 − Φ(x)ⁿ − (1 − Φ(x))ⁿ dx."""
    _check(n)
    return float(np.trapezoid(1.0 - _CDF**n - (1.0 - _CDF) ** n, _GRID))


@cache
def d3(n: int) -> float:
    """sd[range of n standard normals], from E[R²] = ∫ 2r P(R > r) dr over r ≥ 0 with
    P(R ≤ r) = n ∫ φ(x) (Φ(x + r) − Φ(x))ⁿ⁻¹ dx: both integrands are smooth, so the
    trapezoid rule is within about 3e-6 of the exact d3(2) = √(2 − 4/π). (A double integral
    over the triangle x < y, tried first, jumps at its edge and was 4e-5 high.)"""
    _check(n)
    step = _GRID[1] - _GRID[0]
    beyond = np.r_[_CDF, np.ones(_R_STEPS)]  # Φ past the grid's end is 1
    r = np.arange(_R_STEPS + 1) * step
    within = n * np.array(
        [
            np.trapezoid(_PDF * (beyond[m : m + len(_GRID)] - _CDF) ** (n - 1), _GRID)
            for m in range(_R_STEPS + 1)
        ]
    )
    second = float(np.trapezoid(2.0 * r * (1.0 - within), r))
    return math.sqrt(max(second - d2(n) ** 2, 0.0))


@cache
def c4(n: int) -> float:
    """E[sample standard deviation of n standard normals] (any n of at least 2)."""
    if n < 2:
        raise ValueError(f"a subgroup for a standard deviation has at least 2 values; got {n}")
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))
