"""Control charts: individuals and moving range (I-MR), and subgroup means with their ranges or
standard deviations (X̄-R, X̄-S). The centre line and the limits come from a baseline (the parts
of a period the engineer trusts), then every point is judged against them.

Subgroups may differ in size (parts of an hour), so the limits are per point: σ is estimated
from the baseline's subgroups as the mean of R/d2(n) or s/c4(n), and each subgroup of n gets
mean ± 3σ/√n, range d2(n)σ ± 3 d3(n)σ, deviation c4(n)σ ± 3σ√(1 − c4(n)²) (lower limits not
below 0). With one size this is the textbook A2·R̄, D3·R̄, D4·R̄, A3·s̄, B3·s̄, B4·s̄.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.spc.constants import c4, d2, d3


class ChartError(ValueError):
    """Values that make no chart: too few, or a baseline with too few."""


@dataclass(frozen=True)
class Chart:
    """One chart: its points in time order, the centre line, and per point the limits and the
    σ of the plotted statistic (what the run rules' zones are made of)."""

    name: str  # "individuals", "moving range", "mean", "range", "standard deviation"
    points: np.ndarray
    center: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sigma: np.ndarray
    sizes: np.ndarray  # values behind each point (1 for individuals)

    def outside(self) -> np.ndarray:
        """Indices of the points beyond a limit."""
        return np.flatnonzero((self.points > self.upper) | (self.points < self.lower))


def _mask(baseline: np.ndarray | None, n: int) -> np.ndarray:
    if baseline is None:
        return np.ones(n, bool)
    mask = np.asarray(baseline, bool)
    if mask.shape != (n,):
        raise ChartError(f"the baseline marks {mask.shape[0]} values; there are {n}")
    return mask


def _values(values) -> np.ndarray:
    v = np.asarray(values, np.float64)
    if v.ndim != 1:
        raise ChartError("a chart takes one feature's values in time order")
    if not np.isfinite(v).all():
        raise ChartError("a chart's values must be finite; leave out the parts without one")
    return v


def individuals(values, baseline: np.ndarray | None = None) -> tuple[Chart, Chart]:
    """The I chart and the MR chart. σ = MR̄/d2(2) over the baseline's consecutive pairs;
    ``baseline`` marks the values of the baseline period (None: all)."""
    x = _values(values)
    base = _mask(baseline, len(x))
    mr = np.abs(np.diff(x))
    pairs = base[1:] & base[:-1]  # a moving range inside the baseline
    if base.sum() < 2 or not pairs.any():
        raise ChartError("the baseline needs at least two consecutive parts")
    center = float(x[base].mean())
    mr_bar = float(mr[pairs].mean())
    sigma = mr_bar / d2(2)
    n, spread = len(x), d3(2) * sigma
    i_chart = Chart(
        "individuals",
        x,
        *(np.full(n, v) for v in (center, center - 3 * sigma, center + 3 * sigma, sigma)),
        np.ones(n, np.int64),
    )
    mr_limits = (mr_bar, max(0.0, mr_bar - 3 * spread), mr_bar + 3 * spread, spread)
    mr_chart = Chart("moving range", mr, *(np.full(n - 1, v) for v in mr_limits), np.full(n - 1, 2))
    return i_chart, mr_chart


def subgroups(
    values, groups, baseline: np.ndarray | None = None, *, spread: str = "range"
) -> tuple[Chart, Chart]:
    """The X̄ chart and the R (``spread="range"``) or S (``"std"``) chart of the subgroups
    ``groups`` labels (consecutive equal labels: n parts at a time, or an hour). Subgroups of
    one value are left out (they have no spread); ``baseline`` marks values, and a subgroup
    belongs to it when all its values do."""
    if spread not in ("range", "std"):
        raise ChartError(f"spread is 'range' or 'std', not {spread!r}")
    x = _values(values)
    labels = np.asarray(groups)
    if labels.shape != x.shape:
        raise ChartError(f"{len(labels)} subgroup labels for {len(x)} values")
    base = _mask(baseline, len(x))
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(x) else np.array([])
    bounds = list(zip(starts, [*starts[1:], len(x)], strict=True))
    bounds = [(a, b) for a, b in bounds if b - a >= 2]
    if not bounds:
        raise ChartError("no subgroup has two or more values")
    sizes = np.array([b - a for a, b in bounds])
    if spread == "range" and sizes.max() > 25:
        raise ChartError(
            f"a subgroup of {sizes.max()} values: ranges are for subgroups of at most 25; "
            "use the standard deviation"
        )
    means = np.array([x[a:b].mean() for a, b in bounds])
    spreads = np.array(
        [np.ptp(x[a:b]) if spread == "range" else x[a:b].std(ddof=1) for a, b in bounds]
    )
    in_base = np.array([base[a:b].all() for a, b in bounds])
    if not in_base.any():
        raise ChartError("no subgroup lies wholly in the baseline")
    unbias = np.array([d2(n) if spread == "range" else c4(n) for n in sizes])
    sigma = float((spreads[in_base] / unbias[in_base]).mean())
    center = float(np.average(means[in_base], weights=sizes[in_base]))
    s_mean = sigma / np.sqrt(sizes)
    mean_chart = Chart(
        "mean",
        means,
        np.full(len(means), center),
        center - 3 * s_mean,
        center + 3 * s_mean,
        s_mean,
        sizes,
    )
    middle = unbias * sigma
    if spread == "range":
        wide = np.array([d3(n) for n in sizes]) * sigma
    else:
        wide = np.sqrt(1.0 - unbias**2) * sigma
    spread_chart = Chart(
        "range" if spread == "range" else "standard deviation",
        spreads,
        middle,
        np.maximum(0.0, middle - 3 * wide),
        middle + 3 * wide,
        wide,
        sizes,
    )
    return mean_chart, spread_chart
