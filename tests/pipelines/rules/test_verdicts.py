"""Verdicts kept in the engine: written at commit by the store's rules (an import, a live
micro-batch) and over history by a rule's run, equal to :func:`judge` in memory, idempotent,
read back as a filter."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.hot import HotCache
from pipelines.live.commit import Arrival, commit_batch
from pipelines.rules import NoPassLine, Rule, Scope, Window, judge
from pipelines.rules.runs import DONE, RuleRuns
from pipelines.rules.verdicts import curve_verdicts, judge_history, run_count
from pipelines.sources import EngineSamples, MemorySamples
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, FilterError, View, verdict_category_sql, verdict_sql

COMPARED = ["curve_id", "rule_id", "rule_version", "passed", "code", "reason"]


def window(rule_id: int = 1, version: int = 1, y_share: float = 0.5) -> Rule:
    """A window most demo press curves leave through different sides (some pass, some fail)."""
    return Rule(
        "press-in",
        Scope("a", "press-fit"),
        Window(3.0, 9.0, 0.0, y_share * 30.0),
        rule_id=rule_id,
        version=version,
    )


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    types = {"curve_id": "uint64", "rule_id": "int64", "rule_version": "int64", "passed": bool}
    return frame.astype({**types, "code": object, "reason": object}).reset_index(drop=True)


def stored(store: CurveStore) -> pd.DataFrame:
    frame = store.client.query_df(
        f"SELECT curve_id, rule_id, rule_version, passed, code, reason "
        f"FROM {store.db}.curve_verdicts FINAL ORDER BY rule_id, rule_version, curve_id"
    )
    return frame if frame.empty else plain(frame)


def expected(store: CurveStore, rules: list[Rule]) -> pd.DataFrame:
    frame = judge(Curves(store.client, store.database), rules)[COMPARED]
    return plain(frame.sort_values(["rule_id", "rule_version", "curve_id"]))


def test_verdicts_at_commit_and_over_history_equal_judge_in_memory(store):
    asked = []

    def source(project, processes):
        asked.append((project, tuple(processes)))
        return [window()] if "press-fit" in processes else []

    store.rules = source
    store.write(generate_demo(DemoSpec(curves=40, seed=4)), DatasetSpec("a", "demo", "a"))
    assert asked and all(p == "a" for p, _ in asked)  # asked once per process of the import
    assert len({q for _, qs in asked for q in qs}) == sum(len(qs) for _, qs in asked)
    at_commit = stored(store)
    assert not at_commit.empty and set(at_commit["passed"]) == {True, False}
    pd.testing.assert_frame_equal(at_commit, expected(store, [window()]))
    assert run_count(store.client, store.database, window()).done

    # A new version judges history, in chunks, reporting progress; a second run adds nothing.
    second = window(version=2, y_share=0.7)
    seen = []
    judged = judge_history(
        store.client,
        store.database,
        second,
        chunk_samples=20_000,
        progress=lambda counts: seen.append(counts[0]),
    )
    count = run_count(store.client, store.database, second)
    assert judged == count.total == count.judged > 0
    assert seen[0] == (0, count.total) and seen[-1] == (count.total, count.total)
    assert len(seen) > 2  # several chunks
    assert judge_history(store.client, store.database, second) == 0
    store.client.command(f"OPTIMIZE TABLE {store.db}.curve_verdicts FINAL")
    pd.testing.assert_frame_equal(stored(store), expected(store, [window(), second]))

    # Judging again after losing some rows writes back exactly those (idempotent, resumable).
    store.client.command(
        f"ALTER TABLE {store.db}.curve_verdicts DELETE WHERE rule_version = 2 AND curve_id % 3 = 0",
        settings={"mutations_sync": 2},
    )
    assert not run_count(store.client, store.database, second).done
    assert judge_history(store.client, store.database, second) > 0
    pd.testing.assert_frame_equal(stored(store), expected(store, [window(), second]))

    # The filter: the newest version that judged a curve decides.
    curves = Curves(store.client, store.database, projects=("a",))
    newest = expected(store, [second]).set_index("curve_id")
    failed = set(newest.index[~newest["passed"]])
    for verdict, ids in (("fail", failed), ("pass", set(newest.index) - failed)):
        chosen = curves.filter(verdict=verdict, rules=[1])
        got = set(chosen.metadata(None, columns=["curve_id"])["curve_id"].tolist())
        assert got == ids and chosen.count() == len(ids)
    judged_by = curves.filter(rules=[1]).count()
    assert judged_by == len(newest) < curves.count()  # the weld curves are not judged
    assert curves.filter(verdict="fail", rules=[99]).count() == 0
    # ... and a picture of the failed ones counts exactly them.
    assert curves.filter(verdict="fail", rules=[1]).density(width=64, height=32).curves == len(
        failed
    )

    # Coloured by verdict: the same split, the weld curves "not judged", whether the source
    # reads the engine or holds the curves in memory (verdicts are read from the engine).
    split = {
        "failed": len(failed),
        "passed": len(newest) - len(failed),
        "not judged": curves.count() - len(newest),
    }
    for source in (EngineSamples(), MemorySamples(HotCache(1 << 26))):
        held = Curves(store.client, store.database, projects=("a",), source=source)
        image = held.density(width=64, height=32, color_by="verdict", verdict_rules=[1])
        assert image.category_curves == split
        assert image.categories == sorted(split)
        # Each category's counts are its curves' own picture.
        for name, verdict in (("failed", "fail"), ("passed", "pass")):
            plain_view = View(image.view.x_range, image.view.y_range, 64, 32)
            alone = held.filter(verdict=verdict, rules=[1]).density(plain_view)
            np.testing.assert_array_equal(
                image.counts[:, :, image.categories.index(name)], alone.counts
            )

    read = curve_verdicts(store.client, store.database, sorted(failed)[:3], [1])
    assert (read["rule_version"] == 2).all() and not read["passed"].any()
    assert read["reason"].str.len().gt(0).all()

    # Several rules together read each chunk's samples once and write what each one lacks.
    third = window(version=3, y_share=0.3)
    line = Rule("line", Scope("a", "press-fit"), NoPassLine(4, 0, 4, 30), rule_id=2, version=1)
    written = judge_history(store.client, store.database, [third, line], chunk_samples=20_000)
    assert written == 2 * count.total
    store.client.command(f"OPTIMIZE TABLE {store.db}.curve_verdicts FINAL")
    everything = [window(), second, third, line]
    pd.testing.assert_frame_equal(stored(store), expected(store, everything))

    # Together, rules narrowed differently (one station, one program, all of the process)
    # each judge only their own curves, counted apart.
    press = store.client.query_df(
        f"SELECT station, program FROM {store.db}.curves WHERE process = 'press-fit'"
    )
    station, program = press["station"].iloc[0], press["program"].iloc[-1]
    narrow = [
        Rule(name, Scope("a", "press-fit", **only), NoPassLine(k, 0, k, 30), rule_id=k, version=1)
        for k, (name, only) in enumerate(
            (("st", {"stations": (station,)}), ("pg", {"programs": (program,)})), start=3
        )
    ]
    fourth = window(version=4)
    sizes = [(press["station"] == station).sum(), (press["program"] == program).sum()]
    assert min(sizes) > 0 and max(sizes) < count.total
    seen = []
    written = judge_history(store.client, store.database, [*narrow, fourth], progress=seen.append)
    assert written == sum(sizes) + count.total
    done = [(n, n) for n in sizes] + [(count.total, count.total)]
    assert seen[-1] == done
    assert [
        (c.judged, c.total)
        for c in (run_count(store.client, store.database, r) for r in (*narrow, fourth))
    ] == done
    store.client.command(f"OPTIMIZE TABLE {store.db}.curve_verdicts FINAL")
    everything += [*narrow, fourth]
    pd.testing.assert_frame_equal(stored(store), expected(store, everything))

    # Deleting the dataset deletes its verdicts.
    dataset = curves.datasets()["dataset_id"].astype(str).tolist()
    store.delete_datasets(dataset)
    assert stored(store).empty


def test_a_run_in_the_background_reports_and_a_failed_write_leaves_no_verdicts(store):
    store.write(generate_demo(DemoSpec(curves=20, seed=5)), DatasetSpec("a", "demo", "a"))
    runs = RuleRuns()
    rule = window(rule_id=7)

    def unreachable() -> CurveStore:
        raise ConnectionError("the home does not answer")

    run = runs.start(rule, unreachable)
    assert run.wait(30) and run.state == "failed" and "does not answer" in run.error
    run = runs.start(rule, lambda: _Borrowed(store))
    assert run.wait(60) and run.state == DONE, run.error
    assert run.judged == run.total == run_count(store.client, store.database, rule).total > 0
    assert runs.get("a", 7) is run

    # An import that fails after staging leaves none of its verdicts.
    def broken():
        yield from generate_demo(
            DemoSpec(curves=5, seed=9, start=pd.Timestamp("2026-12-01", tz="UTC"))
        )
        raise RuntimeError("the file ended early")

    before = stored(store)
    store.rules = lambda project, processes: [window(rule_id=8)]
    with pytest.raises(RuntimeError):
        store.write(broken(), DatasetSpec("a", "import", "broken"))
    assert store.rules is not None  # it was asked, judged, staged, then dropped
    pd.testing.assert_frame_equal(stored(store), before)


class _Borrowed(CurveStore):
    """The test's store on its own client, whose closing the run must not do."""

    def __init__(self, store: CurveStore) -> None:
        super().__init__(_Unclosed(store.client), store.database)


class _Unclosed:
    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def close(self) -> None:
        pass


def test_verdict_sql_and_filter_words():
    sql, params = verdict_sql("db", "fail", (3, 1), "c.curve_id")
    assert sql.startswith("c.curve_id IN (SELECT curve_id FROM (SELECT curve_id, argMax(")
    assert "WHERE NOT ok" in sql and params == {"verdict_rules": [3, 1]}
    assert verdict_sql("db", "pass", (), "curve_id") == ("0", {})
    category, join, params = verdict_category_sql("db", (3, 1), "c.curve_id")
    assert (category + join).count("curve_verdicts") == 1  # one pass over the verdicts
    assert params["category_rules"] == [3, 1]
    category, join, _ = verdict_category_sql("db", (), "c.curve_id")
    assert (category, join) == ("{category_none:String}", "")
    assert View(color_by="verdict").judged and not View(color_by="station").judged
    where = CurveFilter.of(verdict="pass", rules=["4", 2, 4], station="S1")
    assert where.rules == (2, 4) and where.judged and not where.narrows(CurveFilter())
    with pytest.raises(FilterError, match="needs the database"):
        where.where()
    with pytest.raises(FilterError, match="verdict must be pass or fail"):
        CurveFilter.of(verdict="maybe")
    with pytest.raises(FilterError, match="rule must be a rule's id"):
        CurveFilter.of(rules=["press-in"])
    with pytest.raises(FilterError, match="answered by the engine"):
        where.matching(pd.DataFrame({"station": ["S1"], "started_at": pd.to_datetime([0])}))
    assert np.all(
        CurveFilter.of(station="S1").matching(
            pd.DataFrame({"station": ["S1"], "started_at": pd.to_datetime([0])})
        )
    )


class _OneProjectSink:
    """Live ingest's sink for one project whose store judges by ``rules``."""

    def __init__(self, store: CurveStore) -> None:
        self.store = store

    def project_id(self, name: str) -> int | None:
        return 1 if name == "a" else None

    def store_for(self, project: str) -> CurveStore:
        return self.store

    def release(self, store: CurveStore) -> None:
        pass

    def record(self, notes) -> None:
        raise AssertionError(notes)

    def answers(self, project: str) -> bool:
        return True


def test_curves_arriving_live_are_judged_in_their_commit(store):
    rule = Rule("rise", Scope("a", "press"), NoPassLine(0.5, 0.3, 0.5, 1.0), rule_id=9)
    store.rules = lambda project, processes: [rule] if "press" in processes else []
    x = np.linspace(0, 1, 21)
    messages = [
        {"curve_key": key, "x": x.tolist(), "y": (scale * x).tolist(), "process": "press"}
        for key, scale in (("low", 0.5), ("high", 1.5))
    ]
    arrivals = [Arrival("curvehouse/a/curves", json.dumps(m).encode()) for m in messages]
    outcome = commit_batch(
        arrivals, sink=_OneProjectSink(store), prefix="curvehouse", max_bytes=1 << 20
    )
    assert outcome.committed == 2
    curves = Curves(store.client, store.database, projects=("a",))
    failed = curves.filter(verdict="fail", rules=[9]).metadata(None, columns=["curve_key"])
    assert failed["curve_key"].tolist() == ["high"]  # 1.5 x crosses the line at x = 0.5
    pd.testing.assert_frame_equal(stored(store), expected(store, [rule]))
