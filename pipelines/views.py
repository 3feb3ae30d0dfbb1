"""What the user asked to see: a filter over curves and a view (ranges and canvas size).

SQL is built here as text plus bound parameters: every value travels as a parameter, and the
only names placed in the text come from fixed whitelists (:data:`FILTER_COLUMNS`,
:data:`COLOR_COLUMNS`). Builders are pure functions, tested as strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from models.identifiers import identifier
from models.times import TimeInputError, check_years, parse_time
from pipelines.kernels.features import FEATURES

# Verdicts of evaluation rules a filter can ask for (see CurveFilter).
VERDICTS = ("pass", "fail")
VERDICT_TABLE = "curve_verdicts"
CONFIGURED = re.compile(r"feature_(\d+)")  # a configured feature's name
# Filterable metadata columns: equality (one value or any of several).
FILTER_COLUMNS = ("project", "plant", "line", "station", "process", "program", "shift", "result")
# Columns a density can be split by (colour-by).
COLOR_COLUMNS = ("result", "station", "program", "line", "plant", "shift", "defect", "process")
# Colouring by the verdicts of evaluation rules (View.verdict_rules): one of these per curve.
BY_VERDICT = "verdict"
VERDICT_CATEGORIES = ("failed", "passed", "not judged")
# What a drawing needs of each curve: who it is, how its axes are labelled, where it lies.
META_COLUMNS = ("curve_id", "curve_key", "part_serial", "station", "program", "result", "defect")
AXIS_COLUMNS = ("x_name", "x_unit", "y_name", "y_unit")
# What decides how a curve's samples leave the engine for a view, and as which integers
# (``pipelines.fetch``).
EXTENT_COLUMNS = ("point_count", "x_min", "x_max", "x_step", "y_min", "y_max", "y_step")
# The parts listed for a pick, and the newest curves on the Overview.
PICK_COLUMNS = (
    "curve_id",
    "curve_key",
    "part_serial",
    "plant",
    "line",
    "station",
    "program",
    "result",
    "defect",
    "started_at",
    "project",
)
NEWEST_COLUMNS = (
    "started_at",
    "project",
    "part_serial",
    "line",
    "station",
    "program",
    "result",
    "defect",
    "point_count",
)
# A summary of curves per plant, line and station (the Overview's table).
BREAKDOWN_COLUMNS = (
    "project",
    "plant",
    "line",
    "station",
    "process",
    "curves",
    "ok",
    "nok",
    "nok_rate",
    "points",
)
# Share of the data range added around an automatic fit, so edge curves are not on the border.
FIT_PADDING = 0.02


class FilterError(ValueError):
    """A filter or view the store cannot answer; the message names the field."""


def _values(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class CurveFilter:
    """Which curves: equality on metadata, a serial search, a time window (UTC), and the
    verdicts of evaluation rules.

    ``verdict`` "fail": a curve one of ``rules`` (rule ids) failed; "pass": judged by one of
    them and failed by none; "" with rules: judged by one of them. For each rule the newest
    version that judged the curve decides (see :mod:`pipelines.rules.verdicts`). Verdicts live
    in the engine beside the curves, so the filter must know the database: ``verdicts_in``,
    which :attr:`pipelines.curves.Curves.selection` sets."""

    equals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    serial: str = ""
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    verdict: str = ""
    rules: tuple[int, ...] = ()
    verdicts_in: str = ""
    # A feature's value within [low, high] (either open): a fixed feature or feature_<id>.
    feature: str = ""
    feature_range: tuple[float | None, float | None] = (None, None)

    @property
    def judged(self) -> bool:
        """Whether verdicts or features narrow this filter: they live in the engine's own
        tables (``verdicts_in`` names their database), so only the engine can answer it."""
        return bool(self.verdict or self.rules or self.feature)

    @classmethod
    def of(
        cls,
        *,
        serial: str = "",
        start: Any = None,
        end: Any = None,
        verdict: str | None = None,
        rules: Any = (),
        feature: str | None = None,
        feature_min: float | None = None,
        feature_max: float | None = None,
        **equals: str | list[str] | None,
    ) -> CurveFilter:
        unknown = sorted(set(equals) - set(FILTER_COLUMNS))
        if unknown:
            raise FilterError(
                f"cannot filter on {', '.join(unknown)}; filters are {', '.join(FILTER_COLUMNS)}, "
                "serial, start and end"
            )
        chosen = {k: _values(v) for k, v in equals.items() if _values(v)}
        if "result" in chosen:
            bad = [r for r in chosen["result"] if r not in ("OK", "NOK", "UNKNOWN")]
            if bad:
                raise FilterError(f"result must be OK, NOK or UNKNOWN, not {bad[0]!r}")
        start = _timestamp("start", start)
        end = _timestamp("end", end)
        if start is not None and end is not None and start >= end:
            raise FilterError(f"start ({start}) must be before end ({end})")
        verdict = verdict or ""
        if verdict not in ("", *VERDICTS):
            raise FilterError(f"verdict must be pass or fail, not {verdict!r}")
        bounds = _feature_range(feature or "", feature_min, feature_max)
        return cls(
            chosen, serial.strip(), start, end, verdict, _rule_ids(rules), "", feature or "", bounds
        )

    def within(self, projects: tuple[str, ...] | None) -> CurveFilter:
        """The same filter, kept inside ``projects`` (the ones a person may see; None: all).

        A chosen project outside them, or no project allowed at all, matches no curve.
        """
        if projects is None:
            return self
        chosen = self.equals.get("project") or projects
        allowed = tuple(p for p in chosen if p in projects)
        return replace(self, equals={**self.equals, "project": allowed})

    def narrows(self, wider: CurveFilter) -> bool:
        """Every curve this filter matches, ``wider`` matches too, and :meth:`matching` can
        pick them out of ``wider``'s curves. A serial search is left to the engine (its case
        folding is the engine's own), and so is anything narrower than a time window."""
        if self.serial or wider.serial or wider.start is not None or wider.end is not None:
            return False
        if self.judged or wider.judged:
            return False
        return all(
            column in self.equals and set(self.equals[column]) <= set(values)
            for column, values in wider.equals.items()
        )

    def matching(self, meta: pd.DataFrame) -> np.ndarray:
        """Which rows of ``meta`` (curves' metadata: the filter columns and ``started_at``)
        this filter matches, as :meth:`where` does in the engine; no serial search."""
        if self.serial:
            raise FilterError("a serial search is answered by the engine")
        if self.judged:
            raise FilterError("a verdict filter is answered by the engine")
        mask = np.ones(len(meta), dtype=bool)
        for column, values in self.equals.items():
            mask &= meta[column].isin(values).to_numpy()
        started = meta["started_at"]
        naive = started.dt.tz is None  # the engine's UTC, as a reader may give it
        if self.start is not None:
            mask &= (started >= _millisecond(self.start, naive)).to_numpy()
        if self.end is not None:
            mask &= (started < _millisecond(self.end, naive)).to_numpy()
        return mask

    def where(self, alias: str = "") -> tuple[str, dict[str, Any]]:
        """A ``WHERE`` body over the curves table and its parameters."""
        prefix = f"{alias}." if alias else ""
        clauses, params = [], {}
        for i, (column, values) in enumerate(sorted(self.equals.items())):
            if column not in FILTER_COLUMNS:  # constructed without .of(): check again
                raise FilterError(f"cannot filter on {column}")
            if not values:  # an empty set of allowed values matches no curve
                clauses.append("0")
                continue
            name = f"f{i}"
            clauses.append(f"{prefix}{column} IN {{{name}:Array(String)}}")
            params[name] = list(values)
        if self.serial:
            clauses.append(f"positionCaseInsensitive({prefix}part_serial, {{serial:String}}) > 0")
            params["serial"] = self.serial
        if self.start is not None:
            clauses.append(f"{prefix}started_at >= {{start:DateTime64(3, 'UTC')}}")
            params["start"] = self.start.to_pydatetime()
        if self.end is not None:
            clauses.append(f"{prefix}started_at < {{end:DateTime64(3, 'UTC')}}")
            params["end"] = self.end.to_pydatetime()
        if self.judged and not self.verdicts_in:
            raise FilterError("a verdict or feature filter needs the database they are in")
        if self.verdict or self.rules:
            clause, extra = verdict_sql(
                self.verdicts_in, self.verdict, self.rules, f"{prefix}curve_id"
            )
            clauses.append(clause)
            params.update(extra)
        if self.feature:
            clause, extra = feature_sql(
                self.verdicts_in, self.feature, self.feature_range, f"{prefix}curve_id"
            )
            clauses.append(clause)
            params.update(extra)
        return (" AND ".join(clauses) or "1"), params


def _feature_range(
    feature: str, low: float | None, high: float | None
) -> tuple[float | None, float | None]:
    if not feature:
        if low is not None or high is not None:
            raise FilterError("feature_min and feature_max need the feature they bound")
        return (None, None)
    if feature not in FEATURES and not CONFIGURED.fullmatch(feature):
        raise FilterError(
            f"feature is one of {', '.join(FEATURES)} or feature_<id> (a configured feature), "
            f"not {feature!r}"
        )
    if low is None and high is None:
        raise FilterError(f"a feature filter needs feature_min or feature_max for {feature}")
    bounds = tuple(None if v is None else float(v) for v in (low, high))
    if any(v is not None and not np.isfinite(v) for v in bounds):
        raise FilterError("feature_min and feature_max are finite numbers")
    if None not in bounds and bounds[0] > bounds[1]:
        raise FilterError(f"feature_min ({bounds[0]:g}) is above feature_max ({bounds[1]:g})")
    return bounds  # type: ignore[return-value]


def feature_sql(
    database: str, feature: str, bounds: tuple[float | None, float | None], column: str
) -> tuple[str, dict]:
    """A condition on ``column`` (a curve id): the curve's ``feature`` (a fixed one, or
    ``feature_<id>``) lies within ``bounds`` (inclusive; None: open)."""
    db = identifier(database)
    configured = CONFIGURED.fullmatch(feature)
    if configured:
        value, params = "value", {"feature_id": int(configured.group(1))}
        source = f"{db}.curve_feature_values WHERE feature_id = {{feature_id:UInt32}}"
    elif feature in FEATURES:
        value, params, source = identifier(feature), {}, f"{db}.curve_features WHERE 1"
    else:
        raise FilterError(f"no feature {feature!r}")
    for name, sign, bound in (("feature_min", ">=", bounds[0]), ("feature_max", "<=", bounds[1])):
        if bound is not None:
            source += f" AND {value} {sign} {{{name}:Float64}}"
            params[name] = bound
    return f"{column} IN (SELECT curve_id FROM {source})", params


def verdict_sql(
    database: str, verdict: str, rules: Sequence[int], column: str, name: str = "verdict_rules"
) -> tuple[str, dict]:
    """A condition on ``column`` (a curve id) and its parameters: the curve's verdict by
    ``rules`` (rule ids) is ``verdict`` (pass: judged by one of them and failed none of them;
    fail: failed one of them; "": judged by one of them), each rule's newest version that
    judged the curve deciding for that rule. ``name``: the rules' parameter's."""
    if verdict not in ("", *VERDICTS):
        raise FilterError(f"verdict must be pass or fail, not {verdict!r}")
    if not rules:
        return "0", {}
    table = f"{identifier(database)}.{VERDICT_TABLE}"
    params = {name: [int(r) for r in rules]}
    latest = _latest_verdicts(database, name)
    if verdict == "fail":
        inner = f"SELECT curve_id FROM ({latest}) WHERE NOT ok"
    elif verdict == "pass":
        inner = f"SELECT curve_id FROM ({latest}) GROUP BY curve_id HAVING min(ok)"
    else:
        inner = f"SELECT curve_id FROM {table} WHERE rule_id IN {{{name}:Array(UInt64)}}"
    return f"{column} IN ({inner})", params


def _latest_verdicts(database: str, name: str) -> str:
    """Each curve's verdict ``ok`` per rule among the rules in parameter ``name``: the newest
    version that judged the curve decides for its rule."""
    return (
        f"SELECT curve_id, argMax(passed, rule_version) AS ok "
        f"FROM {identifier(database)}.{VERDICT_TABLE} "
        f"WHERE rule_id IN {{{name}:Array(UInt64)}} GROUP BY curve_id, rule_id"
    )


def verdict_category_sql(database: str, rules: Sequence[int], column: str) -> tuple[str, str, dict]:
    """An expression naming each curve's :data:`VERDICT_CATEGORIES` by ``rules``, as
    :func:`verdict_sql` judges them, the join it reads (the verdicts are read once, not once
    per category) and their parameters."""
    names = dict(zip(("failed", "passed", "none"), VERDICT_CATEGORIES, strict=True))
    params: dict = {f"category_{k}": v for k, v in names.items()}
    if not rules:
        return "{category_none:String}", "", params
    params["category_rules"] = [int(r) for r in rules]
    join = (
        "LEFT JOIN (SELECT curve_id, min(ok) AS all_passed, toUInt8(1) AS judged "
        f"FROM ({_latest_verdicts(database, 'category_rules')}) GROUP BY curve_id) "
        f"AS verdicts ON verdicts.curve_id = {column}"
    )
    # Unjudged curves join no row: 0 or NULL, whichever join_use_nulls the server sets.
    sql = (
        "multiIf(verdicts.judged = 1 AND verdicts.all_passed, {category_passed:String}, "
        "verdicts.judged = 1, {category_failed:String}, {category_none:String})"
    )
    return sql, join, params


def _rule_ids(rules: Any) -> tuple[int, ...]:
    """Rule ids as whole numbers, each once, sorted; a refusal names the bad one."""
    if rules is None or rules == "":
        return ()
    if isinstance(rules, (int, str)):
        rules = (rules,)
    ids = set()
    for rule in rules:
        try:
            number = int(rule)
        except (TypeError, ValueError):
            raise FilterError(f"rule must be a rule's id (a whole number), not {rule!r}") from None
        if number < 1:
            raise FilterError(f"rule must be a rule's id (a whole number), not {rule!r}")
        ids.add(number)
    return tuple(sorted(ids))


def _millisecond(stamp: pd.Timestamp, naive: bool) -> pd.Timestamp:
    """``stamp`` as the engine reads it into a ``DateTime64(3, 'UTC')`` parameter (``naive``:
    written without its zone, UTC all the same)."""
    utc = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return utc.floor("ms").tz_localize(None) if naive else utc.floor("ms")


def _timestamp(name: str, value: Any) -> pd.Timestamp | None:
    """Text through the one strict reader (:func:`models.times.parse_time`: ISO 8601, no offset
    means UTC), so the explorer, the API and notebooks read ``11.12.2026`` alike: refused. A
    typed value (``datetime``, ``Timestamp``, ``datetime64``) is taken as it is (naive: UTC)."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str):
            return pd.Timestamp(parse_time(value))
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            stamp = pd.NaT
        if pd.isna(stamp):
            raise TimeInputError(f"{value!r} is not a date and time")
        return pd.Timestamp(check_years(stamp))
    except TimeInputError as exc:
        raise FilterError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class View:
    """A canvas over data coordinates. ``x_range``/``y_range`` None: fit the selected curves."""

    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    width: int = 800
    height: int = 400
    color_by: str | None = None
    # With color_by "verdict": the rule ids whose verdicts colour (a curve one of them failed
    # is "failed"; judged by one and failed none, "passed"; else "not judged").
    verdict_rules: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not (1 <= self.width <= 8192 and 1 <= self.height <= 8192):
            raise FilterError(
                f"canvas must be 1..8192 pixels a side, not {self.width}x{self.height}"
            )
        for name, bounds in (("x_range", self.x_range), ("y_range", self.y_range)):
            if bounds is not None and not bounds[0] < bounds[1]:
                raise FilterError(f"{name} must be (low, high) with low < high, not {bounds}")
        if self.color_by is not None and self.color_by not in (*COLOR_COLUMNS, BY_VERDICT):
            raise FilterError(
                f"cannot colour by {self.color_by!r}; choose one of "
                f"{', '.join((*COLOR_COLUMNS, BY_VERDICT))}"
            )
        object.__setattr__(self, "verdict_rules", _rule_ids(self.verdict_rules))

    @property
    def judged(self) -> bool:
        """Whether verdicts colour this view (then only the engine can draw it)."""
        return self.color_by == BY_VERDICT

    def zoomed(self, x_range, y_range) -> View:
        return replace(self, x_range=tuple(x_range), y_range=tuple(y_range))

    def fitted(self, x_extent: tuple[float, float], y_extent: tuple[float, float]) -> View:
        """The view with missing ranges set to these data extents, padded."""
        return self.zoomed(self.x_range or padded(*x_extent), self.y_range or padded(*y_extent))


def padded(lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)`` widened by :data:`FIT_PADDING` of its span (by at least 1 if it has none)."""
    pad = (hi - lo) * FIT_PADDING or max(abs(lo) * FIT_PADDING, 1.0)
    return (float(lo - pad), float(hi + pad))
