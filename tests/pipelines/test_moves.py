import uuid
from dataclasses import replace

import pytest

from pipelines import moves
from pipelines.curves import Curves
from pipelines.store import CurveStore, DatasetSpec

pytestmark = pytest.mark.integration

PROJECT = "line7"


@pytest.fixture
def new_store(request, embedded_provider):
    """Make stores in fresh databases, on the built-in engine or on the session's cluster node
    (``new_store("node")``); every database is dropped and every client closed after."""
    made = []

    def make(where: str = "built-in") -> CurveStore:
        if where == "node":
            from providers.engines import get_engine

            client = get_engine("server", url=request.getfixturevalue("node_url")).client()
        else:
            client = embedded_provider.client()
        store = CurveStore.open(client, f"t_{uuid.uuid4().hex[:12]}", sweep_stale_after=0)
        made.append(store)
        return store

    yield make
    for store in made:
        store.client.command(f"DROP DATABASE IF EXISTS {store.db}")
        store.client.close()


@pytest.fixture
def source(new_store, demo_batches):
    """Two datasets of the project (a demo run and an import) and one of another project."""
    store = new_store()
    store.write(demo_batches[:1], DatasetSpec(PROJECT, "demo", "demo seed=5"))
    store.write(demo_batches[1:], DatasetSpec(PROJECT, "import", "batch", source="b.csv"))
    store.write(demo_batches[:1], DatasetSpec("other", "import", "elsewhere"))
    return store


def curves_of(store, project=PROJECT) -> int:
    return Curves(store.client, store.database, projects=(project,)).count()


def duplicate_ids(store) -> int:
    return store.client.query(
        f"SELECT count() - uniqExact(curve_id) FROM {store.db}.curves"
    ).result_rows[0][0]


def staging_tables(store) -> list[str]:
    return [
        r[0]
        for r in store.client.query(
            "SELECT name FROM system.tables WHERE database = {d:String} "
            "AND startsWith(name, '_staging_')",
            parameters={"d": store.database},
        ).result_rows
    ]


def rows_of(store, dataset_id) -> int:
    return store.client.query(
        f"SELECT (SELECT count() FROM {store.db}.curves WHERE dataset_id = {{d:UUID}}) + "
        f"(SELECT count() FROM {store.db}.curve_samples WHERE dataset_id = {{d:UUID}})",
        parameters={"d": dataset_id},
    ).result_rows[0][0]


def first_curve(store) -> int:
    return store.client.query(
        f"SELECT min(curve_id) FROM {store.db}.curves WHERE project = {{p:String}}",
        parameters={"p": PROJECT},
    ).result_rows[0][0]


# -- tally and compare ---------------------------------------------------------------------


def test_tally_counts_each_committed_dataset_of_the_project(source, demo_batches):
    tallies = moves.tally(source, PROJECT)
    assert len(tallies) == 2
    by_name = {dict(t.record[0])["name"]: t for t in tallies.values()}
    demo, batch = by_name["demo seed=5"], by_name["batch"]
    assert (demo.curves, demo.samples) == (len(demo_batches[0]),) * 2
    assert demo.points == demo.sample_points == demo_batches[0].point_count
    assert batch.curves == sum(len(b) for b in demo_batches[1:])
    assert batch.sample_points == sum(b.point_count for b in demo_batches[1:])
    assert demo.curves_checksum and demo.samples_checksum
    assert dict(batch.record[0])["source"] == "b.csv"
    assert demo.name.startswith("'demo seed=5' (")
    assert moves.totals(tallies) == {
        "curves": sum(len(b) for b in demo_batches),
        "points": sum(b.point_count for b in demo_batches),
        "samples": sum(len(b) for b in demo_batches),
        "sample_points": sum(b.point_count for b in demo_batches),
        "datasets": 2,
    }


def test_the_checksum_does_not_depend_on_physical_types(new_store):
    store = new_store()
    c, db = store.client, store.db
    c.command(
        f"CREATE TABLE {db}.a (k UInt32, s LowCardinality(String), e Enum8('A' = 1, 'B' = 2), "
        "n Nullable(Int64), t DateTime64(3, 'UTC'), x Array(Int32)) ENGINE = MergeTree ORDER BY k"
    )
    c.command(
        f"CREATE TABLE {db}.b (x Array(Int32), t DateTime64(3, 'Europe/Berlin'), n Int64, "
        "e Enum16('A' = 1, 'B' = 2), s String, k UInt64) ENGINE = MergeTree ORDER BY k"
    )
    rows = "(1, 'p', 'A', 5, '2026-01-02 03:04:05.678', [1, -2]), (2, 'q', 'B', 0, 0, [])"
    c.command(f"INSERT INTO {db}.a VALUES {rows}")
    c.command(f"INSERT INTO {db}.b (k, s, e, n, t, x) SELECT k, s, e, n, t, x FROM {db}.a")

    def checksum(table):
        expr = moves.row_hash(store, table)
        return c.query(f"SELECT sumWithOverflow({expr}) FROM {db}.{table}").result_rows[0][0]

    assert checksum("a") == checksum("b")
    # A NULL is not hidden from the sum, and differs from the type's default.
    c.command(f"ALTER TABLE {db}.a UPDATE n = NULL WHERE k = 2", settings={"mutations_sync": 2})
    assert checksum("a") != checksum("b")


def test_compare_says_which_dataset_differs_and_how():
    record = ((("dataset_id", "d1"), ("name", "line 7")),)
    here = {"d1": moves.DatasetTally("d1", curves=1204, samples=1204, record=record)}
    there = {"d1": moves.DatasetTally("d1", curves=1203, samples=1204, record=record)}
    (mismatch,) = moves.compare(here, there)
    assert mismatch.dataset_id == "d1"
    assert mismatch.words == "dataset 'line 7' (d1): 1,204 curves here, 1,203 there"
    (gone,) = moves.compare(here, {}, labels=("on the old home", "on the new home"))
    assert (
        gone.words
        == "dataset 'line 7' (d1): 1,204 curves on the old home, not stored on the new home"
    )
    assert moves.compare(here, dict(here)) == []
    one = {"d1": moves.DatasetTally("d1", curves=1, samples=9, record=record)}
    (single,) = moves.compare(one, {})
    assert single.words == "dataset 'line 7' (d1): 1 curve here, not stored there"
    (fewer,) = moves.compare(
        one, {"d1": moves.DatasetTally("d1", curves=2, samples=9, record=record)}
    )
    assert fewer.words == "dataset 'line 7' (d1): 1 curve here, 2 there"


# -- copying between two databases of one engine ---------------------------------------------


def test_a_copy_makes_both_tallies_equal_and_leaves_other_projects(source, new_store):
    target = new_store()
    seen = []
    copied = moves.copy_project(source, target, PROJECT, progress=lambda c, s: seen.append((c, s)))
    assert sorted(copied) == sorted(moves.tally(source, PROJECT))
    assert moves.compare(moves.tally(source, PROJECT), moves.tally(target, PROJECT)) == []
    assert moves.tally(target, "other") == {}
    assert curves_of(target) == curves_of(source)
    assert seen[-1] == (curves_of(source),) * 2
    assert staging_tables(target) == []


def test_levels_are_made_again_from_the_copied_samples(source, new_store):
    target = new_store()
    moves.copy_project(source, target, PROJECT)

    def levels(store):
        return store.client.query(
            f"SELECT curve_id, level, x, y, toString(dataset_id) FROM {store.db}.curve_levels "
            "WHERE project = {p:String} ORDER BY level, curve_id",
            parameters={"p": PROJECT},
        ).result_rows

    assert levels(source) and levels(target) == levels(source)


def verdict_rows(store) -> list[tuple]:
    return sorted(
        store.client.query(
            f"SELECT curve_id, rule_id, rule_version, passed, code, reason, toString(dataset_id) "
            f"FROM {store.db}.curve_verdicts WHERE project = {{p:String}}",
            parameters={"p": PROJECT},
        ).result_rows
    )


@pytest.mark.parametrize("where", ["built-in", "node"])
def test_verdicts_travel_with_their_curves(source, new_store, where):
    """Stored verdicts of every version, older ones too, arrive with their datasets: a move
    needs no run to judge again, and a version's history stays where its curves go."""
    from pipelines.rules import Rule, Scope, Threshold
    from pipelines.rules.verdicts import judge_history, run_count

    peaks = sorted(
        r[0]
        for r in source.client.query(
            f"SELECT y_max FROM {source.db}.curves WHERE project = {{p:String}} "
            "AND process = 'press-fit'",
            parameters={"p": PROJECT},
        ).result_rows
    )
    scope = Scope(PROJECT, "press-fit")
    versions = [  # the lower half never reaches the level: failed
        Rule("peak", scope, Threshold(level, -1e9, 1e9), rule_id=3, version=v)
        for v, level in ((1, peaks[len(peaks) // 2]), (2, peaks[len(peaks) // 3]))
    ]
    for rule in versions:
        assert judge_history(source.client, source.database, rule)
    before = verdict_rows(source)
    assert {r[3] for r in before} == {True, False} and {r[2] for r in before} == {1, 2}
    target = new_store(where)
    moves.copy_project(source, target, PROJECT, batch_bytes=100_000)
    assert verdict_rows(target) == before
    assert all(run_count(target.client, target.database, r).done for r in versions)


def test_copying_twice_adds_nothing(source, new_store, snapshot):
    target = new_store()
    moves.copy_project(source, target, PROJECT)
    before = snapshot(target)
    assert moves.copy_project(source, target, PROJECT) == []
    some = next(iter(moves.tally(source, PROJECT)))
    assert moves.copy_dataset(source, target, PROJECT, some) is False
    assert snapshot(target) == before
    assert duplicate_ids(target) == 0


def test_a_copy_in_many_chunks_keeps_every_byte(source, new_store):
    target = new_store()
    chunks = []
    moves.copy_project(
        source, target, PROJECT, batch_bytes=20_000, progress=lambda c, s: chunks.append(c)
    )
    assert len(chunks) > 10
    assert moves.compare(moves.tally(source, PROJECT), moves.tally(target, PROJECT)) == []


def test_an_interrupted_copy_leaves_nothing_and_a_rerun_completes(source, new_store):
    target = new_store()
    dataset = moves.committed(source, PROJECT)[1]
    calls = []

    def crash(curves, samples):
        calls.append(curves)
        assert curves_of(target) == 0  # staged rows are not visible
        # Named by the dataset, as an import's: a sweep in another process then spares the
        # copy's attached rows until its commit record lands.
        tag = uuid.UUID(dataset).hex
        assert sorted(staging_tables(target)) == [
            f"_staging_{tag}_curves",
            f"_staging_{tag}_feature_values",
            f"_staging_{tag}_features",
            f"_staging_{tag}_levels",
            f"_staging_{tag}_samples",
            f"_staging_{tag}_verdicts",
        ]
        if len(calls) == 2:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        moves.copy_dataset(source, target, PROJECT, dataset, batch_bytes=150_000, progress=crash)
    assert calls[-1] > 0
    assert moves.tally(target, PROJECT) == {}
    assert (rows_of(target, dataset), staging_tables(target)) == (0, [])
    assert moves.copy_dataset(source, target, PROJECT, dataset, batch_bytes=20_000)
    assert moves.tally(target, PROJECT)[dataset] == moves.tally(source, PROJECT)[dataset]


def test_a_resume_clears_what_a_killed_copy_left(source, new_store):
    """A process killed after attaching leaves uncommitted rows and staging tables named by
    the dataset; the next copy removes both before it starts."""
    target = new_store()
    dataset = moves.committed(source, PROJECT)[0]
    tag = uuid.UUID(dataset).hex
    for table in ("curves", "curve_samples"):
        target.client.command(
            f"INSERT INTO {target.db}.{table} SELECT * FROM {source.db}.{table} "
            "WHERE dataset_id = {d:UUID} LIMIT 3",
            parameters={"d": dataset},
        )
    target.client.command(f"CREATE TABLE {target.db}._staging_{tag}_curves AS {target.db}.curves")
    assert moves.copy_dataset(source, target, PROJECT, dataset)
    assert moves.tally(target, PROJECT)[dataset] == moves.tally(source, PROJECT)[dataset]
    assert (duplicate_ids(target), staging_tables(target)) == (0, [])


def test_a_sweep_during_a_copy_spares_it(source, new_store):
    target = new_store()
    moves.copy_project(
        source,
        target,
        PROJECT,
        batch_bytes=50_000,
        progress=lambda c, s: target.sweep(older_than_seconds=0),
    )
    assert moves.compare(moves.tally(source, PROJECT), moves.tally(target, PROJECT)) == []


def test_delete_extra_makes_the_target_equal_to_the_source(source, new_store, demo_batches):
    target = new_store()
    moves.copy_project(source, target, PROJECT)
    batch = demo_batches[0]
    renamed = replace(batch, meta=batch.meta.assign(curve_key=batch.meta["curve_key"] + "-late"))
    late = target.write([renamed], DatasetSpec(PROJECT, "import", "late"))
    (extra,) = moves.compare(moves.tally(source, PROJECT), moves.tally(target, PROJECT))
    assert extra.dataset_id == late.dataset_id
    assert "not stored here" in extra.words and "'late'" in extra.words
    keep = set(moves.tally(source, PROJECT))
    assert moves.delete_extra(target, PROJECT, keep) == [late.dataset_id]
    assert moves.compare(moves.tally(source, PROJECT), moves.tally(target, PROJECT)) == []
    assert sorted(moves.delete_extra(target, PROJECT, set())) == sorted(keep)
    assert moves.tally(target, PROJECT) == {}


def test_a_copy_refuses_what_it_cannot_copy(source, new_store):
    with pytest.raises(ValueError, match="same database"):
        moves.copy_dataset(source, source, PROJECT, moves.committed(source, PROJECT)[0])
    with pytest.raises(ValueError, match="not committed"):
        moves.copy_dataset(source, new_store(), PROJECT, str(uuid.uuid4()))
    other = moves.committed(source, "other")[0]
    with pytest.raises(ValueError, match="not committed in project 'line7'"):
        moves.copy_dataset(source, new_store(), PROJECT, other)


def test_compare_finds_a_changed_sample_and_a_duplicated_row(source, new_store):
    target = new_store()
    moves.copy_project(source, target, PROJECT)
    changed = first_curve(target)
    target.client.command(
        f"ALTER TABLE {target.db}.curve_samples UPDATE y = arrayMap(v -> v + 1, y) "
        "WHERE curve_id = {c:UInt64}",
        parameters={"c": changed},
        settings={"mutations_sync": 2},
    )
    dataset = target.client.query(
        f"SELECT toString(dataset_id) FROM {target.db}.curves WHERE curve_id = {{c:UInt64}}",
        parameters={"c": changed},
    ).result_rows[0][0]
    (mismatch,) = moves.compare(moves.tally(source, PROJECT), moves.tally(target, PROJECT))
    assert mismatch.dataset_id == dataset
    assert mismatch.words.endswith(": the samples differ")
    assert mismatch.name in mismatch.words

    moves.delete_extra(target, PROJECT, set())
    moves.copy_project(source, target, PROJECT)
    target.client.command(
        f"INSERT INTO {target.db}.curves SELECT * FROM {target.db}.curves "
        "WHERE curve_id = {c:UInt64}",
        parameters={"c": changed},
    )
    (mismatch,) = moves.compare(moves.tally(source, PROJECT), moves.tally(target, PROJECT))
    assert mismatch.dataset_id == dataset
    n = moves.tally(source, PROJECT)[dataset].curves
    assert f"{n:,} curves here, {n + 1:,} there" in mismatch.words


def test_chunks_are_neighbours_of_about_the_batch_size(source):
    dataset = moves.committed(source, PROJECT)[1]
    ids = source.client.query(
        f"SELECT curve_id FROM {source.db}.curves WHERE dataset_id = {{d:UUID}} "
        "ORDER BY plant, line, station, started_at, curve_id",
        parameters={"d": dataset},
    ).result_rows
    chunks = moves.plan_chunks(source, PROJECT, dataset, 100_000)
    assert [i for chunk in chunks for i in chunk] == [r[0] for r in ids]
    assert len(chunks) > 3
    for chunk in chunks:
        sent = sum(
            len(
                source.client.raw_query(
                    f"SELECT * FROM {source.db}.{table} WHERE curve_id IN {{ids:Array(UInt64)}}",
                    parameters={"ids": chunk},
                    fmt="Native",
                )
            )
            for table in ("curves", "curve_samples")
        )
        assert sent <= 100_000 or len(chunk) == 1
    assert moves.plan_chunks(source, PROJECT, str(uuid.uuid4()), 100_000) == []
    with pytest.raises(ValueError):
        moves.plan_chunks(source, PROJECT, dataset, 0)


# -- through a cluster node ------------------------------------------------------------------


def test_a_project_moves_to_a_node_and_back(source, new_store):
    node = new_store("node")
    seen = []
    moves.copy_project(
        source, node, PROJECT, batch_bytes=100_000, progress=lambda c, s: seen.append(c)
    )
    assert len(seen) > 2
    assert moves.compare(moves.tally(source, PROJECT), moves.tally(node, PROJECT)) == []
    back = new_store()
    moves.copy_project(node, back, PROJECT, batch_bytes=100_000)
    assert moves.compare(moves.tally(node, PROJECT), moves.tally(back, PROJECT)) == []
    assert moves.tally(back, PROJECT) == moves.tally(source, PROJECT)


def test_a_node_copy_is_checked_and_resumed(source, new_store):
    node = new_store("node")
    dataset = moves.committed(source, PROJECT)[1]
    visible = []

    def stop(curves, samples):
        visible.append(curves_of(node))
        if len(visible) == 3:
            raise RuntimeError("lost the lease")

    with pytest.raises(RuntimeError, match="lost the lease"):
        moves.copy_dataset(source, node, PROJECT, dataset, batch_bytes=20_000, progress=stop)
    assert visible == [0, 0, 0]
    assert (moves.tally(node, PROJECT), rows_of(node, dataset)) == ({}, 0)
    moves.copy_project(source, node, PROJECT)
    assert moves.compare(moves.tally(source, PROJECT), moves.tally(node, PROJECT)) == []
    node.client.command(
        f"ALTER TABLE {node.db}.curves UPDATE y_max = y_max + 1 WHERE curve_id = {{c:UInt64}}",
        parameters={"c": first_curve(node)},
        settings={"mutations_sync": 2},
    )
    (mismatch,) = moves.compare(
        moves.tally(source, PROJECT), moves.tally(node, PROJECT), labels=("before", "after")
    )
    assert "the curves' contents differ" in mismatch.words
