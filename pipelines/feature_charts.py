"""A feature of chosen curves as control charts: which chart, subgroups, the baseline period,
run rules and capability, from rows of :meth:`pipelines.curves.Curves.features`. The one place
the API and the Quality page turn features into charts (:mod:`pipelines.spc` does the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from pipelines.frames import in_period
from pipelines.spc import (
    Capability,
    Chart,
    Violation,
    capability,
    individuals,
    subgroups,
    violations,
)
from pipelines.spc.runs import NELSON, WESTERN_ELECTRIC

CHARTS = ("individuals", "mean-range", "mean-std")
RULE_SETS = {"nelson": NELSON, "western-electric": WESTERN_ELECTRIC}


@dataclass(frozen=True)
class Plotted:
    """One chart with, per point, when its (first) part started (UTC, naive as the engine
    gives it) and the parts behind it, and the run rules it breaks."""

    chart: Chart
    at: pd.Series
    curve_ids: list[list[int]]
    violations: list[Violation]


@dataclass(frozen=True)
class FeatureCharts:
    feature: str
    parts: int  # with a value of the feature
    charts: list[Plotted]  # the location chart, then the spread chart
    capability: Capability | None


def chart_feature(
    features: pd.DataFrame,
    feature: str,
    *,
    chart: str = "individuals",
    subgroup: int = 5,
    per_hour: bool = False,
    baseline: tuple | None = None,
    lower: float | None = None,
    upper: float | None = None,
    rules: str = "nelson",
) -> FeatureCharts:
    """The charts of ``feature`` over ``features`` in time order. ``baseline`` is (from,
    until), either None for open; its parts set the limits. Raises ``ValueError`` (a
    :class:`pipelines.spc.charts.ChartError` among them) with words for a person."""
    if chart not in CHARTS:
        raise ValueError(f"chart is one of {', '.join(CHARTS)}, not {chart!r}")
    if rules not in RULE_SETS:
        raise ValueError(f"rules are {' or '.join(RULE_SETS)}, not {rules!r}")
    rows = features[np.isfinite(features[feature].to_numpy(np.float64))]
    rows = rows.sort_values(["started_at", "curve_id"])
    values = rows[feature].to_numpy(np.float64)
    started = pd.to_datetime(rows["started_at"]).reset_index(drop=True)
    ids = rows["curve_id"].to_numpy()
    base = in_period(started, baseline)
    if chart == "individuals":
        made = individuals(values, base)
        at = [started, started.iloc[1:]]
        behind = [[[int(i)] for i in ids], [[int(p), int(n)] for p, n in pairwise(ids)]]
    else:
        labels = (
            started.dt.floor("h").to_numpy() if per_hour else np.arange(len(values)) // subgroup
        )
        spread = "range" if chart == "mean-range" else "std"
        made = subgroups(values, labels, base, spread=spread)
        groups = _groups(labels)
        at = [started.iloc[[a for a, _ in groups]]] * 2
        behind = [[[int(i) for i in ids[a:b]] for a, b in groups]] * 2
    # σ of one part: the I chart's, or a mean's times the root of its subgroup's size.
    within = float(made[0].sigma[0] * np.sqrt(made[0].sizes[0]))
    fit = None
    if lower is not None or upper is not None:
        fit = capability(values, lower=lower, upper=upper, sigma_within=within)
    plotted = [
        Plotted(c, t, b, violations(c, RULE_SETS[rules]))
        for c, t, b in zip(made, at, behind, strict=True)
    ]
    return FeatureCharts(feature, len(values), plotted, fit)


def _groups(labels: np.ndarray) -> list[tuple[int, int]]:
    """The subgroups the charts kept: runs of equal labels of two or more parts."""
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = [*starts[1:], len(labels)]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= 2]
