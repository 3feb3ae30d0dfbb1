"""Control chart constants for subgroups of n normal values, computed rather than copied from a
table: d2 (mean range in σ), d3 (standard deviation of the range in σ) and c4 (mean sample
standard deviation in σ). The tests hold them to the published tables (ASTM E2587)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

_GRID = np.linspace(-9.0, 9.0, 3601)  # the normal's support, to well past double precision
_CDF = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in _GRID]))
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
    """sd[range of n standard normals], from E[R²] = 2 ∬_{x<y} 1 − Φ(y)ⁿ − (1 − Φ(x))ⁿ
    + (Φ(y) − Φ(x))ⁿ dx dy (the tail probability of the range, integrated twice)."""
    _check(n)
    grid = _GRID[::4]  # 0.02 σ steps: the double integral is smooth
    cdf = _CDF[::4]
    fx, fy = cdf[:, None], cdf[None, :]
    tail = 1.0 - fy**n - (1.0 - fx) ** n + np.clip(fy - fx, 0.0, None) ** n
    below = grid[:, None] < grid[None, :]
    on = grid[:, None] == grid[None, :]  # the diagonal counts half: the triangle's edge
    tail = np.where(below, tail, np.where(on, tail / 2.0, 0.0))
    step = grid[1] - grid[0]
    second = 2.0 * float(tail.sum()) * step * step
    return math.sqrt(max(second - d2(n) ** 2, 0.0))


@cache
def c4(n: int) -> float:
    """E[sample standard deviation of n standard normals] (any n of at least 2)."""
    if n < 2:
        raise ValueError(f"a subgroup for a standard deviation has at least 2 values; got {n}")
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))
