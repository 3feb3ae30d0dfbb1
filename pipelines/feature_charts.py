"""A feature of chosen curves as control charts: which chart, subgroups, the baseline period,
run rules and capability, from rows of :meth:`pipelines.curves.Curves.features`. The one place
the API and the Quality page turn features into charts (:mod:`pipelines.spc` does the numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
class PartsBehind(Sequence):
    """The curve ids behind each point of a chart (point k: ``ids[starts[k]:ends[k]]``), made
    into lists only when asked: 100,000 points' lists cost 0.15 s of every redraw."""

    ids: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        return self.ids[self.starts[k] : self.ends[k]].tolist()


@dataclass(frozen=True)
class Plotted:
    """One chart with, per point, when its (first) part started (UTC, naive as the engine
    gives it) and the parts behind it, and the run rules it breaks."""

    chart: Chart
    at: pd.Series
    curve_ids: Sequence[list[int]]
    violations: list[Violation]


@dataclass(frozen=True)
class Distribution:
    """The parts' values as a histogram, with the normal of their mean and overall σ scaled to
    the same counts (what capability assumes), drawn beside the indices."""

    edges: np.ndarray  # bins + 1
    counts: np.ndarray  # parts per bin
    x: np.ndarray  # where the normal is drawn
    fitted: np.ndarray  # its expected parts per bin width there
    mean: float
    sigma: float


@dataclass(frozen=True)
class FeatureCharts:
    feature: str
    parts: int  # with a value of the feature
    charts: list[Plotted]  # the location chart, then the spread chart
    capability: Capability | None
    distribution: Distribution | None = None


def distribution(values: np.ndarray, bins: int = 40, points: int = 200) -> Distribution | None:
    """The histogram of ``values`` (finite) and its normal fit; None for fewer than two values
    or no spread."""
    values = np.asarray(values, np.float64)
    sigma = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    if not sigma > 0:
        return None
    mean = float(values.mean())
    counts, edges = np.histogram(values, bins=bins)
    low, high = min(edges[0], mean - 4 * sigma), max(edges[-1], mean + 4 * sigma)
    x = np.linspace(low, high, points)
    width = edges[1] - edges[0]
    pdf = np.exp(-0.5 * ((x - mean) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return Distribution(edges, counts, x, len(values) * width * pdf, mean, sigma)


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
    started = pd.to_datetime(rows["started_at"]).reset_index(drop=True)
    ids = rows["curve_id"].to_numpy()
    # In time order (NumPy's sort of two integer keys: a fifth of pandas' at 100,000 rows).
    order = np.lexsort((ids, started.to_numpy("datetime64[ns]").view(np.int64)))
    values, ids = rows[feature].to_numpy(np.float64)[order], ids[order]
    started = started.iloc[order].reset_index(drop=True)
    base = in_period(started, baseline)
    if chart == "individuals":
        made = individuals(values, base)
        at = [started, started.iloc[1:]]
        each = np.arange(len(ids))
        behind = [PartsBehind(ids, each, each + 1), PartsBehind(ids, each[:-1], each[:-1] + 2)]
    else:
        labels = (
            started.dt.floor("h").to_numpy() if per_hour else np.arange(len(values)) // subgroup
        )
        spread = "range" if chart == "mean-range" else "std"
        made = subgroups(values, labels, base, spread=spread)
        starts, ends = _groups(labels)
        at = [started.iloc[starts]] * 2
        behind = [PartsBehind(ids, starts, ends)] * 2
    # σ of one part: the I chart's, or a mean's times the root of its subgroup's size.
    within = float(made[0].sigma[0] * np.sqrt(made[0].sizes[0]))
    fit = None
    if lower is not None or upper is not None:
        fit = capability(values, lower=lower, upper=upper, sigma_within=within)
    plotted = [
        Plotted(c, t, b, violations(c, RULE_SETS[rules]))
        for c, t, b in zip(made, at, behind, strict=True)
    ]
    return FeatureCharts(feature, len(values), plotted, fit, distribution(values))


def _groups(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The subgroups the charts kept, as their first and past-the-last rows: runs of equal
    labels of two or more parts."""
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], len(labels)]
    kept = ends - starts >= 2
    return starts[kept], ends[kept]


# A chart of more points than this draws them as counts per cell (:func:`count_points`), not
# one glyph each: measured in benchmarks/test_spc.py, where Bokeh's scatter starts to cost
# more than the raster's fixed price.
DENSE_POINTS = 5_000


def count_points(
    x: np.ndarray,
    y: np.ndarray,
    x_range: tuple,
    y_range: tuple[float, float],
    shape: tuple[int, int],
) -> np.ndarray:
    """Points per cell of a grid of ``shape`` (height, width) over the ranges, row 0 at the
    lowest y: so a chart of 100,000 parts crosses to the browser as a few hundred kB, whatever
    its size. Cells are half-open, [edge, next edge), except the last row and column, which
    hold their upper edge too (as :func:`numpy.histogram2d`); points outside are left out. ``x``
    are times (``datetime64``; the range's ends anything :class:`pandas.Timestamp` reads),
    counted in whole nanoseconds from the range's start."""
    height, width = shape
    x0, x1 = (_ns(v) for v in x_range)
    y0, y1 = (float(v) for v in y_range)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"a grid needs ranges that are not empty; got {x_range}, {y_range}")
    # Offsets in integer ns before floats: 2026 in ns is past float64's 2**53 exact integers.
    dx = (_ns_array(x) - x0).astype(np.float64)
    yy = np.asarray(y, np.float64)
    inside = (dx >= 0) & (dx <= x1 - x0) & (yy >= y0) & (yy <= y1)
    dx, yy = dx[inside], yy[inside]
    column = np.minimum((dx * (width / (x1 - x0))).astype(np.int64), width - 1)
    row = np.minimum(((yy - y0) * (height / (y1 - y0))).astype(np.int64), height - 1)
    cells = np.bincount(row * width + column, minlength=height * width)
    return cells.reshape(height, width).astype(np.uint32)


def bends(values: np.ndarray) -> np.ndarray:
    """Indices of the points a polyline through ``values`` needs (the ends, and each point
    that differs from a neighbour): a limit that stays put over 100,000 points is drawn with
    two, the same line."""
    v = np.asarray(values)
    if len(v) <= 2:
        return np.arange(len(v))
    differs = v[1:] != v[:-1]
    keep = np.r_[True, differs] | np.r_[differs, True]
    return np.flatnonzero(keep)


# A pause in production the line through a chart's points is not drawn across: longer than this
# and than GAP_SPACINGS of the chart's median time between parts.
GAP_MIN = pd.Timedelta(hours=1)
GAP_SPACINGS = 20


def broken_at_pauses(at: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``at`` (times, in order) and ``values`` with a NaN value put in each pause in production,
    midway: a line drawn through them breaks there, so a weekend, or the demo's two idle weeks
    between its history and the live parts, is not drawn as a slope between two parts."""
    times = _ns_array(at)
    if len(times) < 3:
        return np.asarray(at), np.asarray(values, dtype=np.float64)
    steps = np.diff(times)
    limit = max(GAP_MIN.value, GAP_SPACINGS * float(np.median(steps)))
    cut = np.flatnonzero(steps > limit) + 1  # the first point after each pause
    return _broken(times, values, cut, times[cut - 1] + steps[cut - 1] // 2)


def broken_at_empty_buckets(
    starts: np.ndarray, ends: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Buckets' ``starts`` and ``values`` (in order; ``ends``: where each bucket stops) with a
    NaN value put where a bucket without parts lies between two (at the end of the one
    before): a line drawn through them breaks there, as it does at a pause in production."""
    first, last = _ns_array(starts), _ns_array(ends)
    cut = np.flatnonzero(last[:-1] < first[1:]) + 1  # the first bucket after a gap
    return _broken(first, values, cut, last[cut - 1])


def _broken(
    times: np.ndarray, values: np.ndarray, cut: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``times`` (ns) and ``values`` with a NaN value at ``at`` before each index of ``cut``."""
    broken_at = np.insert(times, cut, at).view("datetime64[ns]")
    return broken_at, np.insert(np.asarray(values, dtype=np.float64), cut, np.nan)


def _ns(value) -> int:
    return int(pd.Timestamp(value).as_unit("ns").value)


def _ns_array(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype("datetime64[ns]").view(np.int64)
