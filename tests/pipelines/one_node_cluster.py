"""Run the cluster layout on a real ClickHouse engine: chDB configured as a one-node cluster.

Run as ``python -m tests.pipelines.one_node_cluster <directory>``; prints one JSON object of what
it observed, for ``test_schema_cluster.py`` to check. It needs its own process because chDB
runs one engine, with one configuration, per process.

What chDB can and cannot show, stated so nobody reads more into a green test:

* It has no distributed-DDL worker (``ON CLUSTER`` is refused), so the rendered statements run
  here with that clause removed; the test checks separately that every DDL carries it.
* Its replicated tables stay read-only (no replication threads run), so replicated tables are
  created and registered but never written, and a migration's ``ALTER`` cannot run on them
  (counted as ``alters_refused_read_only``; it runs on the one-server layout's tests). The
  read path is shown on ``MergeTree`` copies of a real store behind the same ``Distributed``
  tables the schema renders.
* With one node, every shard is local: sharding and replication traffic between nodes are not
  exercised. That needs ``CURVEHOUSE_TEST_CLICKHOUSE_URL`` and ``..._CLUSTER`` on a real cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import traceback
from pathlib import Path

CLUSTER = "plant"
CONFIG = f"""<clickhouse>
  <zookeeper><implementation>testkeeper</implementation></zookeeper>
  <macros><shard>s1</shard><replica>r1</replica></macros>
  <tcp_port>9000</tcp_port>
  <remote_servers>
    <{CLUSTER}><shard><replica><host>localhost</host><port>9000</port></replica></shard></{CLUSTER}>
  </remote_servers>
</clickhouse>
"""


_KEEP: list = []


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def without_on_cluster(statement: str) -> str:
    return re.sub(rf" ON CLUSTER `{CLUSTER}`", "", statement)


def main(directory: Path) -> dict:
    import clickhouse_connect
    import numpy as np

    from models.identifiers import identifier
    from pipelines.hot import HotCache
    from pipelines.notebook import Curves
    from pipelines.schema import _LEDGER, MIGRATIONS, SchemaError, ensure_schema
    from pipelines.sources import MemorySamples
    from pipelines.store import ClusterWriteError, CurveStore, DatasetSpec
    from pipelines.synthetic import DemoSpec, generate_demo
    from pipelines.views import CurveFilter, View
    from providers.clusters import Connection

    config = directory / "config.xml"
    config.write_text(CONFIG)
    client = clickhouse_connect.get_client(
        interface="chdb", path=f"{directory / 'engine'}?config-file={config}"
    )
    _KEEP.append(client)  # closing chDB with replicated tables hangs; the process exits instead
    seen: dict = {}

    # 1. The rendered cluster DDL, as the engine takes it.
    db = identifier("replicated")
    client.command(f"CREATE DATABASE {db}")
    statements = _LEDGER.statements(db, CLUSTER) + tuple(
        s for m in MIGRATIONS for s in m.render(db, CLUSTER)
    )
    seen["alters_refused_read_only"] = 0
    for statement in statements:
        try:
            client.command(without_on_cluster(statement))
        except Exception as exc:  # chDB's replicated tables are read-only: no ALTER runs there
            if not (statement.startswith("ALTER TABLE") and "TABLE_IS_READ_ONLY" in str(exc)):
                raise
            seen["alters_refused_read_only"] += 1
    seen["engines"] = dict(
        client.query(
            "SELECT name, engine FROM system.tables WHERE database = 'replicated'"
        ).result_rows
    )
    seen["replicas"] = {
        table: [path, name]
        for table, path, name in client.query(
            "SELECT table, zookeeper_path, replica_name FROM system.replicas "
            "WHERE database = 'replicated'"
        ).result_rows
    }
    seen["distributed_count"] = client.query(f"SELECT count() FROM {db}.curves").result_rows[0][0]

    # 2. Reads through the Distributed tables: a real store, copied under the cluster layout.
    single = CurveStore.open(client, "single")
    single.write(
        generate_demo(DemoSpec(curves=60, seed=11, batch_points=80_000)),
        DatasetSpec(project="p", kind="demo", name="demo"),
    )
    spread = identifier("spread")
    client.command(f"CREATE DATABASE {spread}")
    for table in (
        "curves",
        "curve_samples",
        "curve_levels",
        "curve_features",
        "curve_verdicts",
        "curve_feature_values",
    ):
        local = identifier(f"{table}_local")
        client.command(f"CREATE TABLE {spread}.{local} AS single.{table}")
        client.command(f"INSERT INTO {spread}.{local} SELECT * FROM single.{table}")
    for table in ("datasets", "schema_migrations"):
        client.command(f"CREATE TABLE {spread}.{table} AS single.{table}")
        client.command(f"INSERT INTO {spread}.{table} SELECT * FROM single.{table}")
    for statement in [s for s in statements if "ENGINE = Distributed" in s]:
        client.command(without_on_cluster(statement.replace(db, spread)))

    nok = CurveFilter.of(result="NOK")
    answers = {}
    for name in ("single", "spread"):
        curves = Curves(client, name, CurveFilter())
        view = View(width=300, height=150, color_by="station")
        image = curves.density(view)
        hot = Curves(client, name, nok, source=MemorySamples(HotCache(64 << 20))).density(view)
        samples = curves.samples()
        answers[name] = {
            "count": curves.count(),
            "nok": Curves(client, name, nok).count(),
            "metadata": digest(curves.metadata().sort_values("curve_id").astype(str).to_csv()),
            "samples": [float(np.nansum(samples.x)), float(np.nansum(samples.y)), len(samples.x)],
            "density": image.counts.tobytes().hex(),
            "drawn": int(image.counts.sum()),
            "hot": [hot.samples, hot.curves, hot.counts.tobytes().hex()],
            "features": [
                len(features := Curves(client, name, nok).features()),
                digest(features.astype(str).to_csv()),
            ],
        }
    seen["reads"] = answers

    store = CurveStore(client, "spread")
    seen["distributed"] = [CurveStore(client, "single").distributed, store.distributed]
    try:
        store.write(
            generate_demo(DemoSpec(curves=2, seed=1)), DatasetSpec("p", "import", "refused")
        )
        seen["write"] = "accepted"
    except ClusterWriteError as exc:
        seen["write"] = str(exc)
    seen["curves_after_refused_write"] = Curves(client, "spread", CurveFilter()).count()
    seen["reopen_without_cluster"] = ensure_schema(client, "spread")
    for name, cluster in (("spread", None), ("single", CLUSTER)):
        pending = (
            *MIGRATIONS,
            type(MIGRATIONS[0])(99, "future", ("SELECT 1",)),
        )
        try:
            ensure_schema(client, name, pending if cluster is None else MIGRATIONS, cluster=cluster)
            seen[f"mismatch_{name}"] = "accepted"
        except SchemaError as exc:
            seen[f"mismatch_{name}"] = str(exc)

    # 3. Storage summed over the cluster's nodes, as the dashboard reads it.
    connection = Connection("localhost", 0, "default", "", "spread", cluster=CLUSTER)
    seen["storage"] = list(
        client.query(
            "SELECT sum(rows), uniqExact(table), uniqExact(hostName()) "
            f"FROM {connection.system_table('parts')} WHERE active AND database = 'spread'"
        ).result_rows[0]
    )
    seen["local_rows"] = client.query(
        "SELECT sum(rows) FROM system.parts WHERE active AND database = 'spread'"
    ).result_rows[0][0]
    return seen


if __name__ == "__main__":
    try:
        print(json.dumps(main(Path(sys.argv[1])), default=str), flush=True)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)  # chDB's teardown can hang at interpreter exit; the answer is out
