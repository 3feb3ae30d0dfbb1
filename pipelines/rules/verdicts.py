"""Verdicts kept in the engine: one ``curve_verdicts`` row per curve and rule version.

Two writers, one judging code (:func:`pipelines.rules.judge.judge_set`):

* at commit, :func:`batch_verdicts` judges each batch the store stages by the project's current
  rules, and the store attaches the rows with the curves (``pipelines.store``): an import, a
  demo run or a live micro-batch commits its verdicts atomically, and a failed one leaves none;
* over history, :func:`judge_history` judges a rule version's stored curves that have no
  verdict of it yet, a chunk at a time, reporting (judged, total) after each chunk. Run again
  (after a restart, or while curves arrive) it judges only what is still missing.

A rule version never changes once it judged, so a row is final: writing it twice leaves the
same row (the table is a ReplacingMergeTree on (rule, version, curve)), and every reader here
asks questions duplicates cannot change. Which verdict counts for a curve and a rule is the
newest version of the rule that judged it (:func:`pipelines.views.verdict_sql`), so while a new
version works through history, curves it has not reached keep the previous version's verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from models.identifiers import identifier
from pipelines.batch import CurveBatch
from pipelines.fetch import fetch_samples
from pipelines.frames import id_chunks, query_frame
from pipelines.prefetch import overlapped
from pipelines.rules.judge import (
    CHUNK_SAMPLES,
    judge_set,
    no_verdicts,
    sample_chunks,
    subset,
)
from pipelines.rules.spec import Rule
from pipelines.samples import CurveSet
from pipelines.schema import STORED_ORDER
from pipelines.views import VERDICT_TABLE

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

TABLE = VERDICT_TABLE
# What judging a curve needs of its metadata (the scope's columns and the reason's units).
JUDGED_COLUMNS = ("curve_id", "dataset_id", "program", "station", "x_unit", "y_unit")
# Per rule judged together, (curves judged so far, curves to judge), after each chunk.
Progress = Callable[[list[tuple[int, int]]], None]
ORDER_COLUMNS = ("plant", "line", "started_at")  # of it, what JUDGED_COLUMNS lacks


def verdict_rows(
    verdicts: pd.DataFrame,
    *,
    project: str,
    process: Sequence[str],
    dataset_id: Sequence[str],
    judged_at: pd.Timestamp,
) -> pa.Table:
    """Rows for ``curve_verdicts`` from :func:`judge_set`'s frame; ``process`` and
    ``dataset_id`` one per verdict row."""
    n = len(verdicts)
    return pa.table(
        {
            "project": pa.array([project] * n, pa.string()),
            "process": pa.array([str(p) for p in process], pa.string()),
            "rule_id": pa.array(verdicts["rule_id"].to_numpy(np.uint64)),
            "rule_version": pa.array(verdicts["rule_version"].to_numpy(np.uint32)),
            "curve_id": pa.array(verdicts["curve_id"].to_numpy(np.uint64)),
            "dataset_id": pa.array([str(d) for d in dataset_id], pa.string()),
            "passed": pa.array(verdicts["passed"].to_numpy(bool)),
            "code": pa.array(verdicts["code"].astype(str).tolist(), pa.string()),
            "reason": pa.array(verdicts["reason"].astype(str).tolist(), pa.string()),
            "x": pa.array(verdicts["x"].to_numpy(np.float64)),
            "y": pa.array(verdicts["y"].to_numpy(np.float64)),
            "judged_at": pa.array(
                np.full(
                    n, judged_at.tz_convert("UTC").tz_localize(None).floor("ms").to_datetime64()
                ),
                pa.timestamp("ms"),
            ),
        }
    )


def coded(batch: CurveBatch, ids: np.ndarray) -> CurveSet:
    """The batch's curves as their codes and steps, with ``curve_id``: the kernels read a value
    as ``code * step`` in float64, as every reader of the store decodes it."""
    meta = batch.meta.reset_index(drop=True).assign(curve_id=np.asarray(ids, dtype=np.uint64))
    steps = (meta[c].to_numpy(np.float64) for c in ("x_step", "y_step"))
    return CurveSet(meta, batch.offsets, batch.x, batch.y, *steps)


def batch_verdicts(
    batch: CurveBatch,
    ids: np.ndarray,
    rules: Sequence[Rule],
    *,
    project: str,
    dataset_id: str,
    judged_at: pd.Timestamp,
) -> pa.Table | None:
    """The verdicts of ``rules`` (saved ones: with a rule id) on a batch about to be stored
    under ``ids``, as ``curve_verdicts`` rows; None when no rule covers any of its curves."""
    rules = [r for r in rules if r.rule_id is not None and r.scope.project == project]
    if not rules or not len(batch):
        return None
    curves = coded(batch, ids)
    verdicts = judge_set(curves, rules)
    if verdicts.empty:
        return None
    process = dict(zip(curves.meta["curve_id"].tolist(), curves.meta["process"], strict=True))
    return verdict_rows(
        verdicts,
        project=project,
        process=[process[c] for c in verdicts["curve_id"].tolist()],
        dataset_id=[dataset_id] * len(verdicts),
        judged_at=judged_at,
    )


# --- over history -------------------------------------------------------------------------------


def _scope_sql(rule: Rule, tag: str = "") -> tuple[str, dict]:
    """What narrows a rule to some of its process's curves (programs, stations), as SQL over
    ``curves`` (``1`` when nothing does) and its parameters, their names ending in ``tag``."""
    scope, sql, params = rule.scope, [], {}
    if scope.programs:
        sql.append(f"program IN {{programs{tag}:Array(String)}}")
        params[f"programs{tag}"] = list(scope.programs)
    if scope.stations:
        sql.append(f"station IN {{stations{tag}:Array(String)}}")
        params[f"stations{tag}"] = list(scope.stations)
    return " AND ".join(sql) or "1", params


def _version(rule: Rule) -> tuple[int, int]:
    if rule.rule_id is None:
        raise ValueError(f"rule {rule.name!r} is not saved: only saved versions keep verdicts")
    return int(rule.rule_id), int(rule.version)


@dataclass(frozen=True)
class RunCount:
    """How far a rule version is through its process's stored curves."""

    judged: int  # covered curves with a verdict of this version
    total: int  # committed curves the version covers

    @property
    def done(self) -> bool:
        return self.judged >= self.total


def _covered(database: str, rules: Sequence[Rule]) -> tuple[list[str], list[str], str, dict]:
    """The committed curves rule versions of one project and process cover, as SQL over
    ``curves``: per rule, whether it covers a curve and whether its version judged it
    (expressions); the ``FROM … WHERE`` body of the curves any of them covers; and the
    parameters."""
    db = identifier(database)
    first = rules[0].scope
    params: dict = {"project": first.project, "process": first.process}
    covers, judged = [], []
    for k, rule in enumerate(rules):
        sql, narrowing = _scope_sql(rule, f"_{k}")
        params |= narrowing
        params[f"rule_id_{k}"], params[f"rule_version_{k}"] = _version(rule)
        covers.append(f"({sql})")
        judged.append(
            f"curve_id IN (SELECT curve_id FROM {db}.{TABLE} WHERE rule_id = "
            f"{{rule_id_{k}:UInt64}} AND rule_version = {{rule_version_{k}:UInt32}})"
        )
    body = (
        f"{db}.curves WHERE project = {{project:String}} AND process = {{process:String}} "
        f"AND dataset_id IN (SELECT dataset_id FROM {db}.datasets) AND ({' OR '.join(covers)})"
    )
    return covers, judged, body, params


def run_count(client: Client, database: str, rule: Rule) -> RunCount:
    """Covered committed curves, and how many of them this rule version has judged: read from
    the engine, so it is right after a restart and whoever wrote the verdicts."""
    _, judged, body, params = _covered(database, [rule])
    row = client.query(
        f"SELECT count(), countIf({judged[0]}) FROM {body}", parameters=params
    ).result_rows[0]
    return RunCount(judged=int(row[1]), total=int(row[0]))


def coverage(client: Client, database: str, rules: Sequence[Rule]) -> pd.DataFrame:
    """Metadata (:data:`JUDGED_COLUMNS`, ``point_count`` and :data:`ORDER_COLUMNS`) of the
    committed curves any of ``rules`` (of one project and process) covers, in the order the
    samples are stored (:data:`STORED_ORDER`), and per rule ``k`` two flags: ``covers_k``, and
    ``judged_k`` (its version judged the curve). One query for all the rules run together (a
    query each took 35-70 ms, before any sample was read)."""
    covers, judged, body, params = _covered(database, rules)
    columns = [*JUDGED_COLUMNS, "point_count", *ORDER_COLUMNS]
    flags = [f"covers_{k}" for k in range(len(rules))] + [f"judged_{k}" for k in range(len(rules))]
    expressions = [f"{sql} AS {name}" for sql, name in zip(covers + judged, flags, strict=True)]
    frame = query_frame(
        client,
        f"SELECT {', '.join(columns + expressions)} FROM {body} ORDER BY {STORED_ORDER}",
        [*columns, *flags],
        params,
    )
    return frame.astype(dict.fromkeys(flags, bool))


def judge_history(
    client: Client,
    database: str,
    rules: Rule | Sequence[Rule],
    *,
    progress: Progress | None = None,
    chunk_samples: int = CHUNK_SAMPLES,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Judge the stored curves each saved rule version covers and has not judged yet, writing
    their verdicts a chunk of at most ``chunk_samples`` samples at a time; return how many
    verdicts were written. Several rules (of one project and process) read each chunk's
    samples once. ``progress([(judged, total), ...])`` follows each chunk, a pair per rule,
    counting the curves judged before this run too; ``stop()`` is asked between chunks.

    A curve deleted while its chunk is judged can leave a row whose dataset is gone: the
    store's sweep removes it, as it does a feature row."""
    rules = [rules] if isinstance(rules, Rule) else list(rules)
    if len({(r.scope.project, r.scope.process) for r in rules}) > 1:
        raise ValueError("rules judged together must be of one project and process")
    if not rules:
        return 0
    db = identifier(database)
    covered = coverage(client, database, rules)  # in stored order
    ids = covered["curve_id"]
    todo = [covered[f"covers_{k}"] & ~covered[f"judged_{k}"] for k in range(len(rules))]
    totals = [int(covered[f"covers_{k}"].sum()) for k in range(len(rules))]
    judged = [total - int(left.sum()) for total, left in zip(totals, todo, strict=True)]
    wanted = [set(ids[left].tolist()) for left in todo]
    already = sum(judged)

    def report() -> None:
        if progress is not None:
            progress(list(zip(judged, totals, strict=True)))

    report()
    union = covered[np.logical_or.reduce([left.to_numpy() for left in todo])]
    if not len(union):
        return 0
    union = union.drop(columns=[c for c in union.columns if c.startswith(("covers_", "judged_"))])
    datasets = dict(zip(union["curve_id"].tolist(), union["dataset_id"], strict=True))

    def read(part: pd.DataFrame) -> CurveSet:
        return fetch_samples(client, database, part, None, coded=True)

    def work(curves: CurveSet) -> list[pd.DataFrame]:
        ids = curves.meta["curve_id"]
        frames = []
        for rule, ids_wanted in zip(rules, wanted, strict=True):
            rows = np.flatnonzero(ids.isin(ids_wanted).to_numpy())
            frames.append(judge_set(subset(curves, rows), [rule]) if len(rows) else no_verdicts())
        return frames

    def keep(frames: list[pd.DataFrame]) -> None:
        for i, frame in enumerate(frames):
            judged[i] += len(frame)
        verdicts = pd.concat(
            [f for f in frames if not f.empty] or [no_verdicts()], ignore_index=True
        )
        if len(verdicts):
            client.insert_arrow(
                f"{db}.{TABLE}",
                verdict_rows(
                    verdicts,
                    project=rules[0].scope.project,
                    process=[rules[0].scope.process] * len(verdicts),
                    dataset_id=[datasets[c] for c in verdicts["curve_id"].tolist()],
                    judged_at=pd.Timestamp.now(tz="UTC"),
                ),
            )
        report()

    overlapped(
        sample_chunks(union.reset_index(drop=True), chunk_samples), read, work, keep, stop=stop
    )
    return sum(judged) - already


# --- reading ------------------------------------------------------------------------------------


VERDICT_READ = ("curve_id", "rule_id", "rule_version", "passed", "code", "reason", "x", "y")


def curve_verdicts(
    client: Client, database: str, ids: Sequence[int], rules: Sequence[int]
) -> pd.DataFrame:
    """Each curve's verdict by each of ``rules`` (the newest version of the rule that judged
    it): :data:`VERDICT_READ`, by curve id then rule id; curves a rule never judged have no
    row for it."""
    if not ids or not rules:
        return pd.DataFrame(columns=list(VERDICT_READ))
    table = f"{identifier(database)}.{TABLE}"
    frames = [
        query_frame(
            client,
            "SELECT curve_id, rule_id, v.1 AS rule_version, v.2 AS passed, v.3 AS code, "
            "v.4 AS reason, v.5 AS x, v.6 AS y FROM (SELECT curve_id, rule_id, "
            "argMax((rule_version, passed, code, reason, x, y), rule_version) AS v "
            f"FROM {table} "
            "WHERE rule_id IN {rules:Array(UInt64)} AND curve_id IN {ids:Array(UInt64)} "
            "GROUP BY curve_id, rule_id) ORDER BY curve_id, rule_id",
            VERDICT_READ,
            {"rules": [int(r) for r in rules], "ids": chunk},
        )
        for chunk in id_chunks([int(i) for i in ids])
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(VERDICT_READ))
    return pd.concat(frames, ignore_index=True)


def failures_in_words(verdicts: pd.DataFrame, names: dict[int, str]) -> dict[int, str]:
    """Per curve id, what failed and why ("press-in: entered through the top at x = 4.21
    mm"; several failed rules joined by "; "), or "passed" when every rule judging it
    passed. ``names``: rule id to the rule's name."""
    said: dict[int, str] = {}
    for curve_id, rows in verdicts.groupby("curve_id", sort=False):
        failed = rows[~rows["passed"].astype(bool)]
        said[int(curve_id)] = (
            "; ".join(
                f"{names.get(int(r.rule_id), f'rule {int(r.rule_id)}')}: {r.reason}"
                for r in failed.itertuples()
            )
            if len(failed)
            else "passed"
        )
    return said
