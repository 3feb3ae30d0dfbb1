"""Process capability against a feature's specification limits: Cp and Cpk from the
within-subgroup σ (short term, what the control chart estimates), Pp and Ppk from the overall
standard deviation (long term, everything the parts varied). One-sided specifications give
only the one-sided indices (Cpk, Ppk); Cp and Pp need both limits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Capability:
    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    cp: float | None
    cpk: float
    pp: float | None
    ppk: float
    # Share of a normal with the overall mean and σ outside the limits (the fit's tails).
    expected_outside: float


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def capability(
    values, *, lower: float | None, upper: float | None, sigma_within: float
) -> Capability:
    """Indices of ``values`` (finite) against ``lower``/``upper`` (either may be None, not
    both), with ``sigma_within`` from the chart (:attr:`Chart.sigma` of its individuals)."""
    x = np.asarray(values, np.float64)
    if lower is None and upper is None:
        raise ValueError("capability needs a lower or an upper specification limit")
    if lower is not None and upper is not None and not lower < upper:
        raise ValueError(f"the lower limit ({lower}) must be below the upper ({upper})")
    if len(x) < 2 or not np.isfinite(x).all():
        raise ValueError("capability needs at least two finite values")
    if not sigma_within > 0:
        raise ValueError("the within σ must be positive: the values do not vary")
    mean, overall = float(x.mean()), float(x.std(ddof=1))
    if not overall > 0:
        raise ValueError("the values do not vary: capability is not defined")

    def one_sided(sigma: float) -> float:
        sides = [(upper - mean) if upper is not None else math.inf]
        sides.append((mean - lower) if lower is not None else math.inf)
        return min(sides) / (3 * sigma)

    both = lower is not None and upper is not None
    outside = (_phi((lower - mean) / overall) if lower is not None else 0.0) + (
        1.0 - _phi((upper - mean) / overall) if upper is not None else 0.0
    )
    return Capability(
        n=len(x),
        mean=mean,
        sigma_within=sigma_within,
        sigma_overall=overall,
        cp=(upper - lower) / (6 * sigma_within) if both else None,
        cpk=one_sided(sigma_within),
        pp=(upper - lower) / (6 * overall) if both else None,
        ppk=one_sided(overall),
        expected_outside=outside,
    )
