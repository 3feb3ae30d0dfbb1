"""Curve storage layouts in the embedded engine: ingest rate, bytes per point, scan speed.

The chosen layout (one row per curve, ``Array(Int32)`` sensor codes, ``T64, ZSTD``) is written
through the product's own atomic path (``CurveStore.write``). The alternatives are what a user
would otherwise build: ``Float32`` arrays, or the obvious one row per sample. The baseline for
ratios is one row per sample in ``Float32``. All run on the same generated demo curves.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
import pyarrow as pa
import pytest

from benchmarks.conftest import compressed_bytes, report, size
from pipelines.batch import CurveBatch
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

CURVES = size(toy=150, full=10_000)
ROUNDS = 2  # each layout's fastest of two writes (three took 25 s more of `make bench`)
RESULTS: dict[str, dict] = {}


@pytest.fixture(scope="module")
def bench_client(embedded_provider):
    """One client for the module, closed at its end: a test in a later module may open the
    embedded engine at another home (one chDB path per process while clients are open)."""
    client = embedded_provider.client()
    client.command("CREATE DATABASE IF NOT EXISTS bench")
    yield client
    client.command("DROP DATABASE IF EXISTS bench")
    client.close()


@pytest.fixture(scope="module")
def batches() -> list[CurveBatch]:
    return list(generate_demo(DemoSpec(curves=CURVES, seed=7)))


def _arrays(batch: CurveBatch, kind: str) -> pa.Table:
    offsets = pa.array(batch.offsets.astype(np.int32))
    xs = np.repeat(batch.meta["x_step"].to_numpy(), batch.counts())
    ys = np.repeat(batch.meta["y_step"].to_numpy(), batch.counts())
    if kind == "codes":
        x, y = batch.x, batch.y
    else:
        x, y = (batch.x * xs).astype(np.float32), (batch.y * ys).astype(np.float32)
    ids = np.arange(len(batch), dtype=np.uint64) + int(batch.offsets[-1])  # unique per batch
    return pa.table(
        {
            "curve_id": pa.array(ids),
            "x": pa.ListArray.from_arrays(offsets, pa.array(x)),
            "y": pa.ListArray.from_arrays(offsets, pa.array(y)),
        }
    )


def _long(batch: CurveBatch, kind: str) -> pa.Table:
    counts = batch.counts()
    ids = np.repeat(np.arange(len(batch), dtype=np.uint64) + int(batch.offsets[-1]), counts)
    index = np.arange(batch.point_count, dtype=np.uint32) - np.repeat(
        batch.offsets[:-1], counts
    ).astype(np.uint32)
    if kind == "codes":
        x, y = batch.x, batch.y
    else:
        x = (batch.x * np.repeat(batch.meta["x_step"].to_numpy(), counts)).astype(np.float32)
        y = (batch.y * np.repeat(batch.meta["y_step"].to_numpy(), counts)).astype(np.float32)
    return pa.table({"curve_id": ids, "i": index, "x": x, "y": y})


# name -> (DDL columns and settings, arrow builder, columns a full scan reads)
ALTERNATIVES = {
    "array Float32 ZSTD": (
        "curve_id UInt64, x Array(Float32) CODEC(ZSTD(1)), y Array(Float32) CODEC(ZSTD(1))",
        lambda b: _arrays(b, "float"),
        "x, y",
    ),
    "array Int32 T64 ZSTD (raw insert)": (
        "curve_id UInt64, x Array(Int32) CODEC(T64, ZSTD(1)), y Array(Int32) CODEC(T64, ZSTD(1))",
        lambda b: _arrays(b, "codes"),
        "x, y",
    ),
    "array Int32 Delta ZSTD": (
        "curve_id UInt64, x Array(Int32) CODEC(Delta, ZSTD(1)), "
        "y Array(Int32) CODEC(Delta, ZSTD(1))",
        lambda b: _arrays(b, "codes"),
        "x, y",
    ),
    "array Int32 DoubleDelta ZSTD": (
        "curve_id UInt64, x Array(Int32) CODEC(DoubleDelta, ZSTD(1)), "
        "y Array(Int32) CODEC(DoubleDelta, ZSTD(1))",
        lambda b: _arrays(b, "codes"),
        "x, y",
    ),
    "long rows Float32 ZSTD (baseline)": (
        "curve_id UInt64 CODEC(Delta, ZSTD(1)), i UInt32 CODEC(Delta, ZSTD(1)), "
        "x Float32 CODEC(ZSTD(1)), y Float32 CODEC(ZSTD(1))",
        lambda b: _long(b, "float"),
        "curve_id, x, y",
    ),
    "long rows Int32 Delta ZSTD": (
        "curve_id UInt64 CODEC(Delta, ZSTD(1)), i UInt32 CODEC(Delta, ZSTD(1)), "
        "x Int32 CODEC(Delta, ZSTD(1)), y Int32 CODEC(Delta, ZSTD(1))",
        lambda b: _long(b, "codes"),
        "curve_id, x, y",
    ),
}
CHOSEN = "array Int32 T64 ZSTD (chosen)"


def _scan(client, sql: str) -> float:
    """Seconds to pull every sample into NumPy (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        table = client.query_arrow(sql)
        for name in table.column_names:
            column = table.column(name).combine_chunks()
            if pa.types.is_list(column.type):
                column.flatten().to_numpy()
            else:
                column.to_numpy()
        best = min(best, time.perf_counter() - started)
    return best


def _engine_scan(client, table: str, long: bool) -> float:
    """Seconds for the engine to decode every sample (best of three), no transfer."""
    sql = (
        f"SELECT sum(x), sum(y) FROM {table}"
        if long
        else f"SELECT sum(arraySum(x)), sum(arraySum(y)) FROM {table}"
    )
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        client.query(sql)
        best = min(best, time.perf_counter() - started)
    return best


def _record(name, points, seconds, stored_bytes, scan_seconds, engine_seconds):
    RESULTS[name] = {
        "layout": name,
        "ingest Mpt/s": f"{points / seconds / 1e6:.1f}",
        "B/point": f"{stored_bytes / points:.2f}",
        "engine scan Mpt/s": f"{points / engine_seconds / 1e6:.0f}",
        "to NumPy Mpt/s": f"{points / scan_seconds / 1e6:.0f}",
        "_ingest": points / seconds,
        "_bytes": stored_bytes / points,
        "_engine": points / engine_seconds,
        "_scan": points / scan_seconds,
    }


@pytest.mark.benchmark(group="storage-ingest")
def test_chosen_layout_through_the_product_path(benchmark, bench_client, batches):
    points = sum(b.point_count for b in batches)
    state = {}

    def setup():
        if "db" in state:  # one database at a time: drop the previous round's
            bench_client.command(f"DROP DATABASE IF EXISTS `{state['db']}`")
        state["db"] = f"bench_{uuid.uuid4().hex[:8]}"
        state["store"] = CurveStore.open(bench_client, state["db"])
        return (), {}

    def write():
        started = time.perf_counter()
        state["store"].write(batches, DatasetSpec(project="bench", kind="demo", name="bench"))
        state["seconds"] = time.perf_counter() - started

    benchmark.pedantic(write, setup=setup, rounds=ROUNDS, iterations=1)
    db = state["db"]
    stored = compressed_bytes(bench_client, db, "curve_samples")
    scan = _scan(bench_client, f"SELECT x, y FROM `{db}`.curve_samples")
    engine = _engine_scan(bench_client, f"`{db}`.curve_samples", long=False)
    seconds = benchmark.stats.stats.min if benchmark.enabled else state["seconds"]
    _record(CHOSEN, points, seconds, stored, scan, engine)
    benchmark.extra_info.update({k: v for k, v in RESULTS[CHOSEN].items() if k[0] != "_"})
    bench_client.command(f"DROP DATABASE `{db}`")
    assert RESULTS[CHOSEN]["_bytes"] <= 3.0


@pytest.mark.benchmark(group="storage-ingest")
@pytest.mark.parametrize("name", list(ALTERNATIVES))
def test_alternative_layouts(benchmark, bench_client, batches, name):
    columns, build, scan_columns = ALTERNATIVES[name]
    tables = [build(b) for b in batches]  # conversion is not part of the timed ingest
    points = sum(b.point_count for b in batches)
    table = f"bench.`alt_{uuid.uuid4().hex[:8]}`"
    state = {}

    def setup():
        bench_client.command(f"DROP TABLE IF EXISTS {table}")
        bench_client.command(
            f"CREATE TABLE {table} ({columns}) ENGINE = MergeTree ORDER BY curve_id"
        )
        return (), {}

    def write():
        started = time.perf_counter()
        for arrow in tables:
            bench_client.insert_arrow(table, arrow)
        state["seconds"] = time.perf_counter() - started

    benchmark.pedantic(write, setup=setup, rounds=ROUNDS, iterations=1)
    stored = compressed_bytes(bench_client, "bench", table.split(".")[1].strip("`"))
    scan = _scan(bench_client, f"SELECT {scan_columns} FROM {table}")
    engine = _engine_scan(bench_client, table, long=name.startswith("long"))
    seconds = benchmark.stats.stats.min if benchmark.enabled else state["seconds"]
    _record(name, points, seconds, stored, scan, engine)
    benchmark.extra_info.update({k: v for k, v in RESULTS[name].items() if k[0] != "_"})
    bench_client.command(f"DROP TABLE {table}")


@pytest.mark.benchmark(group="storage-demo")
def test_demo_generation_end_to_end(benchmark, bench_client):
    """What `curvehouse demo` does: generate and store, overlapped with a prefetch thread."""
    from pipelines.prefetch import prefetch

    spec = DemoSpec(curves=CURVES, seed=7)
    state = {}

    def setup():
        state["store"] = CurveStore.open(bench_client, f"bench_{uuid.uuid4().hex[:8]}")
        return (), {}

    def run():
        started = time.perf_counter()
        result = state["store"].write(
            prefetch(generate_demo(spec)), DatasetSpec(project="demo", kind="demo", name="d")
        )
        state["rate"] = result.points_added / (time.perf_counter() - started)
        bench_client.command(f"DROP DATABASE {state['store'].db}")

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1)
    benchmark.extra_info["generate+store Mpt/s"] = round(state["rate"] / 1e6, 1)
    print(f"\ndemo generate+store: {state['rate'] / 1e6:.1f} M points/s ({CURVES:,} curves)")


def test_report_storage_table():
    """Print every layout side by side, with ratios against the long-row baseline."""
    if CHOSEN not in RESULTS:
        pytest.skip("storage benchmarks did not run")
    base = RESULTS.get("long rows Float32 ZSTD (baseline)")
    rows = []
    for row in RESULTS.values():
        row = dict(row)
        if base:
            row["ingest ×"] = f"{row['_ingest'] / base['_ingest']:.1f}"
            row["size ×"] = f"{row['_bytes'] / base['_bytes']:.2f}"
            row["engine scan ×"] = f"{row['_engine'] / base['_engine']:.1f}"
            row["to NumPy ×"] = f"{row['_scan'] / base['_scan']:.1f}"
        rows.append(row)
    report(
        f"Storage layouts, {CURVES:,} demo curves",
        rows,
        [
            "layout",
            "ingest Mpt/s",
            "B/point",
            "engine scan Mpt/s",
            "to NumPy Mpt/s",
            "ingest ×",
            "size ×",
            "engine scan ×",
            "to NumPy ×",
        ],
    )
