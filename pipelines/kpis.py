"""Key figures of a selection of curves per group and time bucket: parts, results, first-pass
yield, NOK rate, defect mix (Pareto), throughput and cycle time.

Every figure is an aggregation in the engine, on the curves a :class:`~pipelines.curves.Curves`
reader may see (its :attr:`~pipelines.curves.Curves.selection`: the filter kept inside its
projects); only one row per group comes back. Groups are any of :data:`GROUPS` (a whitelist:
column names never come from a caller) and a time bucket of :data:`BUCKETS`.

What the figures mean, exactly:

- A **part** is a ``part_serial`` within its project (:data:`pipelines.curves.PART_KEY`, as the
  Overview counts them); a curve without a serial is a part of its own. A part has one curve per
  station it passed, and more when a station tried it again (a re-press, a re-tightening). A
  part counts in every group where it has a curve: in the line's row and in each of its
  stations' rows, and in two hours when its stations straddle the hour. Sums of ``parts`` over
  groups can therefore exceed the parts of the whole selection.
- **OK / NOK / unknown parts** (within a group): NOK when any of its curves there is NOK; OK
  when every one is OK; unknown otherwise (no NOK, but a curve with result UNKNOWN, e.g. an
  import without results). ``ok_parts + nok_parts + unknown_parts == parts``.
- **First-pass yield** = ``ok_parts / (ok_parts + nok_parts)``: the share of the judged parts
  that no station ever rejected. A rework after a NOK (a second curve, OK) does not make a part
  first-pass: its first NOK already counts; a repeated OK measurement does not fail it. Parts
  whose result is unknown are left out rather than counted as passed; None when no part is
  judged. On data without UNKNOWN results this is the Overview's figure (``1 - rejected /
  parts``).
- **NOK rate** = NOK curves / judged (OK or NOK) curves; None without judged curves.
- **Defect mix**: curves with a named ``defect`` (not empty) per defect, most first (ties by
  name), with each one's share of the group's named defects and the cumulative share: a Pareto.
  In the demo a defect is named exactly on NOK curves; NOK curves without a named defect are not
  in the mix.
- **Cycle time**: a curve's ``ended_at - started_at`` in seconds (how long its station held the
  part for that step); median and 90th percentile per group, exact, interpolated linearly
  (``quantilesExactInclusive``, numpy's default method). An import without ``ended_at`` stores
  ``started_at`` there, so its cycle times are 0.
- **Throughput** = parts / hours covered. The covered period runs from the filter's ``start``
  (else the selection's first curve start) to its ``end`` (else the selection's last curve end);
  a bucketed row covers its bucket clipped to that period. None when it covers no time.

Buckets are on the plant's clocks (:mod:`models.plants`): ``hour``, ``day`` (local midnight to
midnight: 23 or 25 hours across a DST change) and ``week`` (from Monday 00:00) in the plant's
zone; ``shift`` from one of the plant's shift starts to the next, on the clocks its shifts are
kept by. A plant missing from ``plants.json`` is on UTC with the default shifts. Each row gives
its bucket's start and end in UTC. Limit: a shift start inside a DST gap (02:00-03:00 on the
spring night in Europe) is placed by the engine, which may differ from
:func:`models.times.relative_window` by the hour the clocks skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.identifiers import identifier
from models.plants import PlantBook, Shifts, load_plants
from pipelines.curves import PART_KEY
from pipelines.frames import engine_time, query_frame
from pipelines.views import FilterError

if TYPE_CHECKING:
    from pipelines.curves import Curves

# What KPIs may be grouped by: curve columns, placed in SQL text only from this list.
GROUPS = ("plant", "line", "station", "program", "shift", "process")
BUCKETS = ("hour", "shift", "day", "week")
# One row per group: its columns (and ``bucket``, ``bucket_end`` when bucketed), then these.
FIGURES = (
    "curves",
    "ok_curves",
    "nok_curves",
    "unknown_curves",
    "parts",
    "ok_parts",
    "nok_parts",
    "unknown_parts",
    "first_pass_yield",
    "nok_rate",
    "hours",
    "parts_per_hour",
    "cycle_median_s",
    "cycle_p90_s",
    "first_start",
    "last_end",
)
PARETO = ("defect", "curves", "share", "cumulative_share")
_COUNTS = (
    "curves",
    "ok_curves",
    "nok_curves",
    "unknown_curves",
    "parts",
    "nok_parts",
    "not_ok_parts",
    "cycle",
    "first_start",
    "last_end",
)


class KpiError(FilterError):
    """A grouping or bucket KPIs cannot be computed by; the message names the choices."""


@dataclass(frozen=True)
class Kpis:
    """The figures of one grouping: ``figures`` has one row per group (and bucket), ordered by
    them; ``pareto`` the defect mix of each, most first. Without groups or a bucket,
    ``figures`` has exactly one row, also when nothing matched (zeros, None for rates)."""

    by: tuple[str, ...]
    bucket: str | None
    figures: pd.DataFrame
    pareto: pd.DataFrame

    @property
    def keys(self) -> tuple[str, ...]:
        """The columns that name a row: the groups, then ``bucket``."""
        return (*self.by, "bucket") if self.bucket else self.by


def checked_grouping(by: Sequence[str] | str, bucket: str | None) -> tuple[tuple[str, ...], str]:
    """``by`` (names of :data:`GROUPS`, repeats dropped) and ``bucket`` (one of
    :data:`BUCKETS`, or None/"" for none) checked; :class:`KpiError` names what is wrong."""
    names = (by,) if isinstance(by, str) else tuple(by)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise KpiError(f"cannot group KPIs by {unknown[0]!r}; choose any of {', '.join(GROUPS)}")
    if bucket and bucket not in BUCKETS:
        raise KpiError(f"no time bucket {bucket!r}; choose one of {', '.join(BUCKETS)}")
    return tuple(dict.fromkeys(names)), bucket or ""


def kpis(
    curves: Curves,
    by: Sequence[str] | str = (),
    bucket: str | None = None,
    *,
    plants: PlantBook | None = None,
) -> Kpis:
    """The KPIs of ``curves``' selection per ``by`` (columns of :data:`GROUPS`) and ``bucket``
    (one of :data:`BUCKETS`), computed in the engine: one aggregation for the figures and one
    for the defect mix. ``plants``: the plant book for zones and shifts (default: the packaged
    ``plants.json``)."""
    groups, bucket = checked_grouping(by, bucket)
    book = plants or load_plants()
    sql, params = curves.selection.where()
    inner, bucket_params = _inner(curves, groups, bucket, sql, book)
    params.update(bucket_params)
    keys = [identifier(g) for g in groups] + (["bucket"] if bucket else [])
    figures = _figures(curves, groups, bucket, keys, inner, params)
    pareto = _pareto(curves, groups, bucket, keys, inner, params)
    return Kpis(groups, bucket or None, figures, pareto)


def _inner(
    curves: Curves, groups: tuple[str, ...], bucket: str, where: str, book: PlantBook
) -> tuple[str, dict[str, Any]]:
    """The selected curves with what the aggregations need, and their bucket (UTC)."""
    columns = [identifier(g) for g in groups]
    columns += ["project", "part_serial", "curve_id", "result", "defect", "started_at", "ended_at"]
    params: dict[str, Any] = {}
    if bucket:
        start, end, params = _bucket_sql(bucket, book)
        columns += [
            f"toDateTime({start}, 'UTC') AS bucket",
            f"toDateTime({end}, 'UTC') AS bucket_stop",
        ]
    return (
        f"SELECT {', '.join(columns)} FROM {identifier(curves.database)}.curves WHERE {where}",
        params,
    )


def _bucket_sql(bucket: str, book: PlantBook) -> tuple[str, str, dict[str, Any]]:
    """The bucket's start and end of each curve as Unix seconds: one branch per plant of the
    book (its zone and shifts) and a last one for every other plant (UTC, default shifts). Zones
    and shift starts are bound parameters."""
    params: dict[str, Any] = {}
    branches: list[tuple[str, str, str]] = []  # (condition, start, end)
    sides = [(p.key, p.zone, book.shifts_of(p.key)) for p in book.plants]
    sides.append(("", "UTC", book.shifts))
    for i, (plant, zone, shifts) in enumerate(sides):
        if bucket == "shift":
            start, end = _shift_sql(i, shifts, params)
        else:
            params[f"z{i}"] = zone
            start, end = _calendar_sql(bucket, f"{{z{i}:String}}")
        condition = ""
        if plant:
            params[f"plant{i}"] = plant
            condition = f"plant = {{plant{i}:String}}"
        branches.append((condition, start, end))

    def pick(which: int) -> str:
        *known, (_, *other) = branches
        parts = [f"{c}, toUnixTimestamp({b[which]})" for c, *b in known]
        return f"multiIf({', '.join([*parts, f'toUnixTimestamp({other[which]})'])})"

    return pick(0), pick(1), params


def _calendar_sql(bucket: str, zone: str) -> tuple[str, str]:
    if bucket == "hour":
        start = f"toStartOfHour(started_at, {zone})"
        return start, f"addHours({start}, 1)"
    day = f"toDate(started_at, {zone})" if bucket == "day" else f"toMonday(started_at, {zone})"
    days = 1 if bucket == "day" else 7
    return f"toDateTime({day}, {zone})", f"toDateTime({day} + {days}, {zone})"


def _shift_sql(i: int, shifts: Shifts, params: dict[str, Any]) -> tuple[str, str]:
    """A curve's shift: from the latest shift start at or before it, on the shifts' clocks, to
    the next start (the day's first start after its last)."""
    zone = f"{{sz{i}:String}}"
    params[f"sz{i}"] = shifts.zone
    minutes = sorted(c.hour * 60 + c.minute for c in shifts.clock.values())
    params[f"starts{i}"] = minutes
    starts = f"{{starts{i}:Array(UInt16)}}"
    local_day = f"toDate(started_at, {zone})"
    into = f"(toHour(started_at, {zone}) * 60 + toMinute(started_at, {zone}))"
    k = f"arrayCount(s -> s <= {into}, {starts})"  # starts passed today; 0: yesterday's last

    def wall(day: str, minute: str) -> str:
        return (
            f"makeDateTime(toYear({day}), toMonth({day}), toDayOfMonth({day}), "
            f"intDiv({minute}, 60), {minute} % 60, 0, {zone})"
        )

    n = len(minutes)
    start = (
        f"if({k} = 0, {wall(f'({local_day} - 1)', f'{starts}[{n}]')}, "
        f"{wall(local_day, f'{starts}[{k}]')})"
    )
    end = (
        f"if({k} = {n}, {wall(f'({local_day} + 1)', f'{starts}[1]')}, "
        f"{wall(local_day, f'{starts}[{k} + 1]')})"
    )
    return start, end


def _figures(
    curves: Curves,
    groups: tuple[str, ...],
    bucket: str,
    keys: list[str],
    inner: str,
    params: dict[str, Any],
) -> pd.DataFrame:
    by = ", ".join(keys)
    head = f"{by}, " if by else ""
    if bucket:
        head += "max(bucket_stop) AS bucket_end, "
    query = (
        f"SELECT {head}count() AS curves, countIf(result = 'OK') AS ok_curves, "
        "countIf(result = 'NOK') AS nok_curves, countIf(result = 'UNKNOWN') AS unknown_curves, "
        f"uniqExact({PART_KEY}) AS parts, uniqExactIf({PART_KEY}, result = 'NOK') AS nok_parts, "
        f"uniqExactIf({PART_KEY}, result != 'OK') AS not_ok_parts, "
        "quantilesExactInclusive(0.5, 0.9)("
        "(toUnixTimestamp64Milli(ended_at) - toUnixTimestamp64Milli(started_at)) / 1000) AS cycle, "
        "min(started_at) AS first_start, max(ended_at) AS last_end "
        f"FROM ({inner})"
    )
    if by:
        query += f" GROUP BY {by} ORDER BY {by}"
    names = [*groups, *(("bucket", "bucket_end") if bucket else ()), *_COUNTS]
    frame = query_frame(curves.client, query, names, params)
    if frame.empty and not by:  # an engine that sends no row for an empty total
        frame = pd.DataFrame([[0] * 7 + [[np.nan, np.nan], None, None]], columns=names)
    return _derived(frame, groups, bucket, curves.selection)


def _derived(frame: pd.DataFrame, groups: tuple[str, ...], bucket: str, where) -> pd.DataFrame:
    """Rates, throughput and cycle times from the engine's counts (one row per group)."""
    out = frame[[*groups]].copy() if groups else pd.DataFrame(index=frame.index)
    for name in groups:
        out[name] = out[name].astype(str)
    counts = {c: frame[c].astype("int64") for c in _COUNTS[:7]}
    for name in ("curves", "ok_curves", "nok_curves", "unknown_curves", "parts", "nok_parts"):
        out[name] = counts[name]
    out["ok_parts"] = counts["parts"] - counts["not_ok_parts"]
    out["unknown_parts"] = counts["not_ok_parts"] - counts["nok_parts"]
    out["first_pass_yield"] = _share(out["ok_parts"], out["ok_parts"] + out["nok_parts"])
    judged = out["ok_curves"] + out["nok_curves"]
    out["nok_rate"] = _share(out["nok_curves"], judged)
    empty = counts["curves"] == 0
    first = pd.Series(
        [engine_time(t) for t in frame["first_start"]], index=frame.index, dtype=object
    )
    last = pd.Series([engine_time(t) for t in frame["last_end"]], index=frame.index, dtype=object)
    first[empty], last[empty] = None, None
    begin, end = engine_time(where.start), engine_time(where.end)
    if begin is None and first.notna().any():
        begin = first.dropna().min()
    if end is None and last.notna().any():
        end = last.dropna().max()
    if bucket:
        out.insert(len(groups), "bucket", [engine_time(t) for t in frame["bucket"]])
        out.insert(len(groups) + 1, "bucket_end", [engine_time(t) for t in frame["bucket_end"]])
        hours = [
            _hours(max(b, begin), min(e, end))
            for b, e in zip(out["bucket"], out["bucket_end"], strict=True)
        ]
    else:
        hours = [_hours(begin, end)] * len(out)
    out["hours"] = pd.Series(hours, index=out.index, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = out["parts"] / out["hours"].where(out["hours"] > 0)
    out["parts_per_hour"] = rate.where(~empty)
    cycle = [list(c) if c is not None else [np.nan, np.nan] for c in frame["cycle"]]
    cycle_times = np.array(cycle, dtype="float64").reshape(-1, 2)
    cycle_times[empty.to_numpy()] = np.nan
    out["cycle_median_s"] = cycle_times[:, 0]
    out["cycle_p90_s"] = cycle_times[:, 1]
    out["first_start"], out["last_end"] = first, last
    keys = [*groups, *(("bucket", "bucket_end") if bucket else ())]
    return out[[*keys, *FIGURES]].reset_index(drop=True)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    """``part / whole`` as float, NaN where ``whole`` is 0."""
    return (part / whole.where(whole > 0)).astype("float64")


def _hours(begin: pd.Timestamp | None, end: pd.Timestamp | None) -> float:
    if begin is None or end is None or end <= begin:
        return np.nan
    return (end - begin).total_seconds() / 3600


def _pareto(
    curves: Curves,
    groups: tuple[str, ...],
    bucket: str,
    keys: list[str],
    inner: str,
    params: dict[str, Any],
) -> pd.DataFrame:
    by = ", ".join(keys)
    partition = f"PARTITION BY {by}" if by else ""
    query = (
        f"SELECT {by + ', ' if by else ''}defect, count() AS curves, "
        f"count() / sum(count()) OVER ({partition}) AS share, "
        f"sum(count()) OVER ({partition} ORDER BY count() DESC, defect "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
        f"/ sum(count()) OVER ({partition}) AS cumulative_share "
        f"FROM ({inner}) WHERE defect != '' GROUP BY {by + ', ' if by else ''}defect "
        f"ORDER BY {by + ', ' if by else ''}curves DESC, defect"
    )
    names = [*groups, *(("bucket",) if bucket else ()), *PARETO]
    frame = query_frame(curves.client, query, names, params)
    for name in groups:
        frame[name] = frame[name].astype(str)
    if bucket:
        frame["bucket"] = [engine_time(t) for t in frame["bucket"]]
    frame["defect"] = frame["defect"].astype(str)
    frame["curves"] = frame["curves"].astype("int64")
    for name in ("share", "cumulative_share"):
        frame[name] = frame[name].astype("float64")
    return frame[names].reset_index(drop=True)
