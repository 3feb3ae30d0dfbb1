"""Drift: a station's feature moving away from where it was, found before it crosses a
control limit. EWMA (Roberts 1959) weighs recent parts more and signals when the weighted mean
leaves its limits; CUSUM (Page 1954) adds up the deviations beyond a slack of k σ and signals
when the sum passes h σ. Both are given the baseline's target and σ (from the I chart).

A signal says where the drift began: for CUSUM the part after the sum last stood at zero on
that side (Page's estimate of the change point); for EWMA the first of the run of parts above
(or below) the target that ends at the signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Drift:
    method: str
    statistic: np.ndarray  # per part: the EWMA, or the upper minus the lower CUSUM
    lower: np.ndarray
    upper: np.ndarray
    signal: int | None  # the first part past a limit
    since: int | None  # where the drift began
    direction: str  # "up", "down" or ""
    shift_sigma: float  # mean of the parts since the start, from the target, in σ

    @property
    def drifting(self) -> bool:
        return self.signal is not None


def _checked(values, sigma: float) -> np.ndarray:
    x = np.asarray(values, np.float64)
    if not np.isfinite(x).all():
        raise ValueError("drift needs finite values; leave out the parts without one")
    if not sigma > 0:
        raise ValueError("σ must be positive")
    return x


def _found(method, x, target, sigma, stat, lower, upper, signal, since) -> Drift:
    if signal is None:
        return Drift(method, stat, lower, upper, None, None, "", 0.0)
    direction = "up" if stat[signal] > (upper[signal] + lower[signal]) / 2 else "down"
    shift = float((x[since : signal + 1].mean() - target) / sigma)
    return Drift(method, stat, lower, upper, signal, since, direction, shift)


def ewma(values, *, target: float, sigma: float, lam: float = 0.2, width: float = 3.0) -> Drift:
    """EWMA z_i = λx_i + (1 − λ)z_{i−1} from z = target, limits target ± width·σ·√(λ/(2 − λ)
    (1 − (1 − λ)^{2i}))."""
    if not 0 < lam <= 1:
        raise ValueError(f"λ is in (0, 1]; got {lam}")
    x = _checked(values, sigma)
    z = np.empty(len(x))
    level = target
    for i, v in enumerate(x):
        level = lam * v + (1 - lam) * level
        z[i] = level
    i = np.arange(1, len(x) + 1)
    half = width * sigma * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * i)))
    lower, upper = target - half, target + half
    past = np.flatnonzero((z > upper) | (z < lower))
    signal = int(past[0]) if len(past) else None
    since = None
    if signal is not None:
        side = np.sign(x[: signal + 1] - target)
        other = np.flatnonzero(side != side[signal])
        since = int(other[-1]) + 1 if len(other) else 0
    return _found("EWMA", x, target, sigma, z, lower, upper, signal, since)


def cusum(values, *, target: float, sigma: float, k: float = 0.5, h: float = 5.0) -> Drift:
    """Tabular CUSUM: C⁺ = max(0, C⁺ + x − target − kσ), C⁻ = max(0, C⁻ + target − kσ − x);
    a signal when either passes hσ. The statistic is C⁺ − C⁻, its limits ±hσ."""
    x = _checked(values, sigma)
    up = np.empty(len(x))
    down = np.empty(len(x))
    hi = lo = 0.0
    for i, v in enumerate(x):
        hi = max(0.0, hi + v - target - k * sigma)
        lo = max(0.0, lo + target - k * sigma - v)
        up[i], down[i] = hi, lo
    limit = h * sigma
    past = np.flatnonzero((up > limit) | (down > limit))
    signal = int(past[0]) if len(past) else None
    since = None
    if signal is not None:
        sums = up if up[signal] > limit else down
        zeros = np.flatnonzero(sums[: signal + 1] == 0)
        since = int(zeros[-1]) + 1 if len(zeros) else 0
    stat = up - down
    n = len(x)
    return _found(
        "CUSUM", x, target, sigma, stat, np.full(n, -limit), np.full(n, limit), signal, since
    )
