"""Re-running rules over history (issue 19 §3): stored verdicts of a new rule version over
every stored curve of a process, in the embedded engine.

The demo's curves (10,000 at full size, about 29 M samples) are stored as one process, so one
rule covers all of them: the issue's "one rule over 10,000 curves / 30 M samples" (target
≤ 1 s), for each kind alone, and "all of a process's rules" (five rules, one of each kind,
target ≤ 2 s), both as separate runs (one per rule made or changed) and together as the server
runs them (:meth:`pipelines.rules.runs.RuleRuns.start_together`: each chunk read once).
Baseline: :func:`pipelines.rules.judge` over the same curves, which reads and judges the same
samples but answers its verdicts instead of storing them; the ratio says what storing costs.
Each round judges a version not seen before, so every round judges every curve.
"""

from __future__ import annotations

import itertools
import statistics
import time
import uuid

import numpy as np
import pytest

from benchmarks.conftest import FULL, report
from models.identifiers import identifier
from pipelines.curves import Curves
from pipelines.rules import (
    Envelope,
    FeatureLimits,
    NoPassLine,
    Rule,
    Scope,
    Threshold,
    Window,
    judge,
)
from pipelines.rules.runs import DONE, RuleRuns
from pipelines.rules.verdicts import judge_history, run_count
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

CURVES = 10_000 if FULL else 120
ROUNDS = 3 if FULL else 1
RESULTS: list[dict] = []
_versions = itertools.count(1)


def one_process(spec: DemoSpec):
    for batch in generate_demo(spec):
        batch.meta["process"] = "line"
        yield batch


@pytest.fixture(scope="module")
def stored(embedded_provider):
    client = embedded_provider.client()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    store = CurveStore.open(client, database)
    store.write(one_process(DemoSpec(curves=CURVES, seed=3)), DatasetSpec("bench", "demo", "b"))
    x_max, y_max, samples = client.query(
        f"SELECT max(x_max), max(y_max), sum(point_count) FROM {identifier(database)}.curves"
    ).result_rows[0]
    yield client, database, float(x_max), float(y_max), int(samples), embedded_provider
    client.command(f"DROP DATABASE {identifier(database)}")
    client.close()


def checks(x_max: float, y_max: float) -> list:
    band = ((0.0, -y_max), (x_max, -y_max * 0.5)), ((0.0, y_max * 0.6), (x_max, y_max * 1.1))
    return [
        Window(0.2 * x_max, 0.6 * x_max, 0.0, 0.5 * y_max, entry="left", exit="any"),
        NoPassLine(0.7 * x_max, 0.9 * y_max, 0.9 * x_max, 0.9 * y_max),
        Envelope(0.0, x_max, *band),
        Threshold(0.5 * y_max, 0.1 * x_max, 0.8 * x_max),
        FeatureLimits("y_at_x", 0.1 * y_max, 0.9 * y_max, a=0.5 * x_max),
    ]


def rules_of(checks_: list) -> list[Rule]:
    """Each check as a saved rule's version never judged before."""
    version = next(_versions)
    scope = Scope("bench", "line")
    return [Rule(c.kind, scope, c, rule_id=n + 1, version=version) for n, c in enumerate(checks_)]


def median(fn) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@pytest.mark.benchmark(group="rule-runs")
def test_one_rule_and_all_rules_over_history(stored):
    client, database, x_max, y_max, samples, provider = stored
    made = checks(x_max, y_max)
    curves = Curves(client, database, projects=("bench",))
    judge(curves, rules_of(made))  # compile every kernel first

    def one_by_one(check_list) -> None:  # what a run per rule made or changed does
        for rule in rules_of(check_list):
            judged = judge_history(client, database, rule)
            assert judged == CURVES and run_count(client, database, rule).done

    def together(check_list) -> None:  # as the server's runs do it, on a thread of their own
        rules = rules_of(check_list)
        runs = RuleRuns().start_together(rules, lambda: CurveStore(provider.client(), database))
        for run in runs:
            assert run.wait(600) and run.state == DONE, run.error
            assert run.judged == run.total == CURVES

    alones = []
    for check in made:
        alone = median(lambda check=check: one_by_one([check]))
        alones.append(alone)
        plain = median(lambda check=check: judge(curves, rules_of([check])))
        RESULTS.append(
            {
                "rules": check.kind,
                "curves": f"{CURVES:,}",
                "samples": f"{samples / 1e6:.1f} M",
                "stored verdicts s": f"{alone:.2f}",
                "judge() s": f"{plain:.2f}",
                "stored/judge()": f"{alone / plain:.2f}",
            }
        )
    # One run per rule is the rows above one after another: their sum, not a second
    # measurement of the same work (three rounds of it took 14 s of `make bench`).
    every = sum(alones)
    joint = median(lambda: together(made))
    plain_all = median(lambda: judge(curves, rules_of(made)))
    for what, took in (
        (f"all {len(made)}, one run each (the rows above summed)", every),
        (f"all {len(made)}, one run", joint),
    ):
        RESULTS.append(
            {
                "rules": what,
                "curves": f"{CURVES:,}",
                "samples": f"{samples / 1e6:.1f} M",
                "stored verdicts s": f"{took:.2f}",
                "judge() s": f"{plain_all:.2f}",
                "stored/judge()": f"{took / plain_all:.2f}",
            }
        )


# The "numba over the stored codes, or in the engine, whichever measures faster": a
# threshold, the kind SQL expresses most directly, answered inside the engine (the crossing's x
# by the kernel's interpolation, from the same codes) against judge(), which reads the samples
# out and judges them with numba. The SQL gives no reason in words and treats no gap (the
# demo's curves have none); it is a baseline here, not a path of the product.
THRESHOLD_SQL = """
SELECT s.curve_id AS curve_id,
  arrayFirstIndex(v -> v * s.y_step >= {level:Float64}, s.y) AS i,
  if(i = 0, nan, if(i = 1, s.x[1] * s.x_step,
     s.x[i - 1] * s.x_step + ({level:Float64} - s.y[i - 1] * s.y_step)
       / (s.y[i] * s.y_step - s.y[i - 1] * s.y_step)
       * (s.x[i] * s.x_step - s.x[i - 1] * s.x_step))) AS x,
  i > 0 AND x BETWEEN {low:Float64} AND {high:Float64} AS passed
FROM {db:Identifier}.curve_samples AS s
ORDER BY curve_id
"""


@pytest.mark.benchmark(group="rule-runs")
def test_a_threshold_in_the_engine_against_numba(stored):
    client, database, x_max, y_max, samples, _ = stored
    check = checks(x_max, y_max)[3]
    assert isinstance(check, Threshold)
    params = {"level": check.level, "low": check.low, "high": check.high, "db": database}
    curves = Curves(client, database, projects=("bench",))

    def in_engine():
        return client.query_df(THRESHOLD_SQL, parameters=params)

    def with_numba():
        return judge(curves, rules_of([check]))

    engine, numba = in_engine(), with_numba()  # warm both; then the same verdicts
    assert len(engine) == len(numba) == CURVES
    np.testing.assert_array_equal(engine["curve_id"], numba["curve_id"])
    np.testing.assert_array_equal(engine["passed"].astype(bool), numba["passed"])
    np.testing.assert_allclose(engine["x"], numba["x"], rtol=1e-12, equal_nan=True)
    sql_s, numba_s = median(in_engine), median(with_numba)
    RESULTS.append(
        {
            "rules": "threshold: in the engine (SQL, no reasons) / judge() with numba",
            "curves": f"{CURVES:,}",
            "samples": f"{samples / 1e6:.1f} M",
            "stored verdicts s": "",
            "judge() s": f"{sql_s:.2f} / {numba_s:.2f}",
            "stored/judge()": f"numba {numba_s / sql_s:.1f}× the engine's time",
        }
    )


def teardown_module() -> None:
    if RESULTS:
        report("Rules re-run over history", RESULTS, list(RESULTS[0]))
