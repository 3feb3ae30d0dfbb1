"""Verdicts: every rule on every curve it covers, pass or fail, with the reason in words.

:func:`judge_set` judges curves already in memory (a :class:`~pipelines.samples.CurveSet`);
:func:`judge` judges a project's stored curves through a :class:`~pipelines.curves.Curves`
reader, fetching whole curves a chunk at a time so memory stays bounded by
:data:`CHUNK_SAMPLES`, not by the project. The kernels (:mod:`pipelines.kernels.rules`) decide;
this module only chooses the curves, calls them and words the result.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipelines.features import Configured
from pipelines.fetch import fetch_samples, select
from pipelines.kernels import rules as K
from pipelines.kernels.features import FEATURES, curve_features
from pipelines.prefetch import overlapped
from pipelines.rules.reasons import reasons
from pipelines.rules.spec import (
    DIRECTIONS,
    SIDES,
    WINDOW_MODES,
    Envelope,
    FeatureLimits,
    NoPassLine,
    Rule,
    Threshold,
    Window,
)
from pipelines.samples import CurveSet

if TYPE_CHECKING:
    from pipelines.curves import Curves

VERDICT_COLUMNS = (
    "curve_id",
    "rule_id",
    "rule_version",
    "rule",
    "passed",
    "code",
    "reason",
    "x",
    "y",
)
CODE_NAMES = {
    K.PASS: "pass",
    K.EMPTY: "empty",
    K.NEVER_REACHED: "never_reached",
    K.STARTED_INSIDE: "started_inside",
    K.WRONG_ENTRY: "wrong_entry",
    K.ENDED_INSIDE: "ended_inside",
    K.GAP_INSIDE: "gap_inside",
    K.WRONG_EXIT: "wrong_exit",
    K.REENTERED: "reentered",
    K.TOUCHED: "touched",
    K.CROSSED: "crossed",
    K.ABOVE: "above",
    K.BELOW: "below",
    K.NOT_IN_RANGE: "not_in_range",
    K.NEVER_CROSSED: "never_reached_level",
    K.OUTSIDE_LIMITS: "outside_limits",
    K.NO_VALUE: "no_value",
}
# Samples fetched at once when judging stored curves (about 16 bytes each in memory).
CHUNK_SAMPLES = 4_000_000


def covered(rule: Rule, meta: pd.DataFrame) -> np.ndarray:
    """Which curves of ``meta`` the rule's scope covers. Columns the frame lacks (a
    :class:`Curves` fetch has no project or process: :func:`judge` selects by them) are not
    tested."""
    mask = np.ones(len(meta), dtype=bool)
    scope = rule.scope
    wanted = {"project": (scope.project,), "process": (scope.process,)}
    wanted |= {"program": scope.programs, "station": scope.stations}
    for column, values in wanted.items():
        if values and column in meta.columns:
            mask &= meta[column].astype(str).isin(values).to_numpy()
    return mask


def subset(curves: CurveSet, rows: np.ndarray) -> CurveSet:
    """The curves at ``rows``, with their samples (and steps) gathered (no copy when all are
    kept)."""
    if len(rows) == len(curves):
        return curves
    starts, stops = curves.offsets[rows], curves.offsets[rows + 1]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(stops - starts, out=offsets[1:])
    # Sample k of the new layout comes from its curve's old start plus its place in the curve.
    take = np.repeat(starts - offsets[:-1], stops - starts) + np.arange(offsets[-1])
    meta = curves.meta.iloc[rows].reset_index(drop=True)
    steps = {}
    if curves.x_step is not None:
        steps = {"x_step": curves.x_step[rows], "y_step": curves.y_step[rows]}
    return CurveSet(meta, offsets, curves.x[take], curves.y[take], **steps)


def _run(rule: Rule, curves: CurveSet) -> dict[str, np.ndarray]:
    """The rule's kernel over the curves: ``codes``, the reason's ``points`` and extras."""
    check = rule.check
    if curves.x_step is None:  # float values
        x = np.ascontiguousarray(curves.x, dtype=np.float64)
        y = np.ascontiguousarray(curves.y, dtype=np.float64)
    else:  # the store's codes, as they are
        x, y = np.ascontiguousarray(curves.x), np.ascontiguousarray(curves.y)
    offsets = np.ascontiguousarray(curves.offsets, dtype=np.int64)
    xs, ys = curves.steps()
    if isinstance(check, Window):
        box = np.array([check.x0, check.x1, check.y0, check.y1])
        mode = WINDOW_MODES[check.mode]
        codes, sides, points = K.judge_window(
            x, y, offsets, xs, ys, box, mode, SIDES[check.entry], SIDES[check.exit]
        )
        return {"codes": codes, "sides": sides, "points": points}
    if isinstance(check, NoPassLine):
        line = np.array([check.x0, check.y0, check.x1, check.y1])
        codes, points = K.judge_line(x, y, offsets, xs, ys, line)
        return {"codes": codes, "points": points}
    if isinstance(check, Envelope):
        lower, upper = np.array(check.lower), np.array(check.upper)
        codes, points, worst = K.judge_envelope(
            x,
            y,
            offsets,
            xs,
            ys,
            np.array([check.x_min, check.x_max]),
            np.ascontiguousarray(lower[:, 0]),
            np.ascontiguousarray(lower[:, 1]),
            np.ascontiguousarray(upper[:, 0]),
            np.ascontiguousarray(upper[:, 1]),
        )
        return {"codes": codes, "points": points, "worst": worst}
    if isinstance(check, Threshold):
        a, b, a_step, b_step = (y, x, ys, xs) if check.axis == "x" else (x, y, xs, ys)
        codes, points, how = K.judge_threshold(
            a,
            b,
            offsets,
            a_step,
            b_step,
            check.level,
            DIRECTIONS[check.direction],
            check.low,
            check.high,
        )
        if check.axis == "x":
            points = points[:, ::-1]
        return {"codes": codes, "points": np.ascontiguousarray(points), "how": how}
    if isinstance(check, FeatureLimits):
        return _feature_limits(check, x, y, offsets, xs, ys)
    raise TypeError(f"no kernel for {check!r}")


def _feature_limits(
    check: FeatureLimits,
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray,
    x_step: np.ndarray,
    y_step: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each curve's value of the feature against the limits; the point is the one the value
    is read at where there is one (the peak, the crossing)."""
    points = np.full((len(offsets) - 1, 2), np.nan)
    if check.feature in FEATURES:
        fixed = curve_features(x, y, offsets, x_step, y_step)
        value = fixed[FEATURES.index(check.feature)]
        if check.feature in ("peak_y", "peak_x"):
            points[:, 0], points[:, 1] = fixed[FEATURES.index("peak_x")], fixed[0]
        elif check.feature in ("final_x", "final_y"):
            points[:, 0] = fixed[FEATURES.index("final_x")]
            points[:, 1] = fixed[FEATURES.index("final_y")]
    else:
        measure = Configured(0, "", check.feature, check.a, check.b)
        value = measure.values(x, y, offsets, x_step, y_step)
        if check.feature == "y_at_x":
            points[:, 0], points[:, 1] = check.a, value
        elif check.feature == "x_at_y":
            points[:, 0], points[:, 1] = value, check.a
    codes = np.where(
        np.isnan(value),
        K.NO_VALUE,
        np.where(value > check.high, K.ABOVE, np.where(value < check.low, K.BELOW, K.PASS)),
    ).astype(np.int64)
    if np.issubdtype(x.dtype, np.integer):  # codes: every sample is finite
        codes[offsets[1:] == offsets[:-1]] = K.EMPTY
    else:
        finite = np.concatenate([[0], np.cumsum(np.isfinite(x) & np.isfinite(y))])
        codes[finite[offsets[1:]] == finite[offsets[:-1]]] = K.EMPTY  # no finite sample
    return {"codes": codes, "points": points, "value": value}


def no_verdicts() -> pd.DataFrame:
    """An empty frame of :data:`VERDICT_COLUMNS` with their types, to concatenate with."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DTYPES.items()})


_DTYPES = {
    "curve_id": "uint64",
    "rule_id": "Int64",
    "rule_version": "int64",
    "rule": "object",
    "passed": "bool",
    "code": "object",
    "reason": "object",
    "x": "float64",
    "y": "float64",
}


def judge_set(curves: CurveSet, rules: Sequence[Rule]) -> pd.DataFrame:
    """One row per (curve, rule) the rule's scope covers: :data:`VERDICT_COLUMNS`. ``x`` and
    ``y`` are the point the reason names (NaN when it names none); units in the reasons come
    from the curves' ``x_unit`` and ``y_unit`` metadata when present."""
    frames = []
    for rule in rules:
        rows = np.flatnonzero(covered(rule, curves.meta))
        if not len(rows):
            continue
        chosen = subset(curves, rows)
        out = _run(rule, chosen)
        codes = out["codes"]
        points = out["points"]
        point = points[:, 0, :] if points.ndim == 3 else points
        if isinstance(rule.check, Window):  # the point the failure is about
            slot = np.where(np.isin(codes, [K.WRONG_EXIT, K.ENDED_INSIDE, K.GAP_INSIDE]), 1, 0)
            slot = np.where(codes == K.REENTERED, 2, slot)
            point = points[np.arange(len(codes)), slot, :]
        meta = chosen.meta
        frames.append(
            pd.DataFrame(
                {
                    "curve_id": meta["curve_id"].to_numpy(dtype=np.uint64),
                    "rule_id": pd.array([rule.rule_id] * len(rows), dtype="Int64"),
                    "rule_version": np.full(len(rows), rule.version, dtype=np.int64),
                    "rule": rule.name,
                    "passed": codes == K.PASS,
                    "code": [CODE_NAMES[int(c)] for c in codes],
                    "reason": reasons(rule, out, _units(meta, "x_unit"), _units(meta, "y_unit")),
                    "x": point[:, 0],
                    "y": point[:, 1],
                }
            )
        )
    if not frames:
        return no_verdicts()
    return pd.concat(frames, ignore_index=True)


def _units(meta: pd.DataFrame, column: str) -> list[str]:
    if column not in meta.columns:
        return [""] * len(meta)
    return meta[column].astype(object).fillna("").astype(str).tolist()


def sample_chunks(meta: pd.DataFrame, limit: int) -> Iterator[pd.DataFrame]:
    """``meta`` in runs of at most ``limit`` samples (a longer curve alone)."""
    counts = meta["point_count"].to_numpy(dtype=np.int64)
    start, total = 0, 0
    for i, count in enumerate(counts):
        if i > start and total + count > limit:
            yield meta.iloc[start:i]
            start, total = i, 0
        total += count
    if start < len(meta):
        yield meta.iloc[start:]


def _covered_parts(
    meta: pd.DataFrame, rules: Sequence[Rule], chunk_samples: int
) -> Iterator[pd.DataFrame]:
    """:func:`sample_chunks` of ``meta``, keeping the curves some rule covers."""
    for part in sample_chunks(meta, chunk_samples):
        wanted = np.zeros(len(part), dtype=bool)
        for rule in rules:
            wanted |= covered(rule, part)
        if wanted.any():
            yield part[wanted]


def _judge_group(group: list[tuple[int, Rule]], samples: CurveSet) -> list[pd.DataFrame]:
    return [judge_set(samples, [rule]).assign(_order=n) for n, rule in group]


def judge(curves: Curves, rules: Sequence[Rule], *, chunk_samples: int = CHUNK_SAMPLES):
    """Judge the stored curves ``curves`` selects (kept inside its projects) against
    ``rules``; each rule sees only its own project and process (and programs, stations). Whole
    curves are fetched from the engine at most ``chunk_samples`` samples at a time.

    Returns :func:`judge_set`'s frame, ordered by rule, then curve id."""
    frames = []
    groups: dict[tuple[str, str], list[tuple[int, Rule]]] = {}
    for n, rule in enumerate(rules):
        groups.setdefault((rule.scope.project, rule.scope.process), []).append((n, rule))
    for (project, process), group in groups.items():
        narrowed = curves.filter(project=project, process=process)
        meta = select(
            narrowed.client, narrowed.database, narrowed.selection, None, stored_order=True
        )
        if meta.empty:
            continue
        overlapped(
            _covered_parts(meta, [rule for _, rule in group], chunk_samples),
            partial(fetch_samples, narrowed.client, narrowed.database, view=None, coded=True),
            partial(_judge_group, group),
            frames.extend,
        )
    frames = [f for f in frames if not f.empty]
    if not frames:
        return no_verdicts()
    verdicts = pd.concat(frames, ignore_index=True)
    verdicts = verdicts.sort_values(["_order", "curve_id"], kind="stable")
    return verdicts.drop(columns="_order").reset_index(drop=True)
