"""The curve schema's cluster layout: ON CLUSTER DDL, replicated shards behind Distributed tables.

The layout runs on a real engine in ``one_node_cluster.py`` (chDB configured as a one-node
cluster; its docstring says what that can and cannot show). Against a real multi-node cluster it
runs in ``tests/providers/clusters/test_server.py`` when ``CURVEHOUSE_TEST_CLICKHOUSE_CLUSTER``
is set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.identifiers import InvalidIdentifierError
from pipelines.schema import _LEDGER, MIGRATIONS, SHARD_PATH, Migration, Table

ROOT = Path(__file__).resolve().parents[2]


def cluster_statements(cluster: str = "plant") -> list[str]:
    db = "`curvehouse`"
    return [
        *_LEDGER.statements(db, cluster),
        *(s for m in MIGRATIONS for s in m.render(db, cluster)),
    ]


def test_every_statement_on_a_cluster_reaches_every_node():
    statements = cluster_statements()
    assert statements
    for statement in statements:
        assert statement.count(" ON CLUSTER `plant`") == 1, statement


def test_curves_and_samples_are_sharded_by_curve_behind_distributed_tables():
    text = "\n".join(cluster_statements())
    for table in ("curves", "curve_samples", "curve_features", "curve_levels"):
        assert f"`curvehouse`.`{table}_local` ON CLUSTER `plant`" in text
        assert (
            f"`curvehouse`.`{table}` ON CLUSTER `plant` AS `curvehouse`.`{table}_local`\n"
            f"ENGINE = Distributed(`plant`, `curvehouse`, `{table}_local`, cityHash64(curve_id))"
        ) in text
    assert text.count(f"ReplicatedMergeTree('{SHARD_PATH}', '{{replica}}')") == 4
    # The commit record and the ledger are whole on every node: queries join them locally.
    assert text.count("'{shard}_{replica}'") == 2
    assert "`datasets_local`" not in text and "`schema_migrations_local`" not in text


def test_one_server_keeps_plain_merge_trees():
    statements = [*_LEDGER.statements("`c`", None), *MIGRATIONS[0].render("`c`", None)]
    assert len(statements) == 4
    for statement in statements:
        assert "ENGINE = MergeTree" in statement
        assert "ON CLUSTER" not in statement and "Replicated" not in statement


def test_cluster_names_are_validated():
    with pytest.raises(InvalidIdentifierError):
        Table("t", "a UInt8", "a").statements("`db`", "plant` ON CLUSTER x; --")


def test_template_migrations_get_the_cluster_clause():
    migration = Migration(2, "x", ("ALTER TABLE {db}.curves_local{on_cluster} ADD COLUMN a UInt8",))
    assert migration.render("`d`", "plant") == [
        "ALTER TABLE `d`.curves_local ON CLUSTER `plant` ADD COLUMN a UInt8"
    ]
    assert migration.render("`d`", None) == ["ALTER TABLE `d`.curves_local ADD COLUMN a UInt8"]


@pytest.fixture(scope="module")
def one_node_cluster(tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("one_node_cluster")
    done = subprocess.run(
        [sys.executable, "-m", "tests.pipelines.one_node_cluster", str(directory)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.integration
def test_the_engine_takes_the_cluster_layout(one_node_cluster):
    seen = one_node_cluster
    assert seen["engines"] == {
        "curves": "Distributed",
        "curve_samples": "Distributed",
        "curves_local": "ReplicatedMergeTree",
        "curve_samples_local": "ReplicatedMergeTree",
        "curve_features": "Distributed",
        "curve_features_local": "ReplicatedMergeTree",
        "curve_verdicts": "Distributed",
        "curve_verdicts_local": "ReplicatedReplacingMergeTree",
        "curve_feature_values": "Distributed",
        "curve_feature_values_local": "ReplicatedReplacingMergeTree",
        "curve_levels": "Distributed",
        "curve_levels_local": "ReplicatedMergeTree",
        "datasets": "ReplicatedMergeTree",
        "schema_migrations": "ReplicatedMergeTree",
    }
    # Macros expanded by the engine: one path per shard, one replica name per node.
    assert seen["replicas"]["curves_local"] == [
        "/clickhouse/tables/s1/replicated/curves_local",
        "r1",
    ]
    assert seen["replicas"]["datasets"] == ["/clickhouse/tables/all/replicated/datasets", "s1_r1"]
    assert seen["distributed_count"] == 0
    # Migration 2's ALTER parsed and reached the replicated table, which chDB keeps read-only.
    assert seen["alters_refused_read_only"] == 1


@pytest.mark.integration
def test_reads_through_distributed_tables_equal_one_server(one_node_cluster):
    reads = one_node_cluster["reads"]
    assert reads["single"]["count"] == 60 and reads["single"]["drawn"] > 0
    assert reads["single"]["hot"][1] == reads["single"]["nok"] > 0
    assert reads["single"]["features"][0] == reads["single"]["nok"]
    assert reads["spread"] == reads["single"]


@pytest.mark.integration
def test_a_cluster_database_is_read_only_with_a_clear_error(one_node_cluster):
    seen = one_node_cluster
    assert seen["distributed"] == [False, True]
    assert "spans a ClickHouse cluster" in seen["write"]
    assert "all-or-nothing across shards" in seen["write"]
    assert seen["curves_after_refused_write"] == 60
    assert seen["reopen_without_cluster"] == []


@pytest.mark.integration
def test_a_layout_mismatch_is_refused_before_any_change(one_node_cluster):
    seen = one_node_cluster
    assert "name the cluster (CURVEHOUSE_CLICKHOUSE_CLUSTER)" in seen["mismatch_spread"]
    assert "made for a single server, not for cluster plant" in seen["mismatch_single"]


@pytest.mark.integration
def test_storage_is_summed_over_the_clusters_nodes(one_node_cluster):
    rows, tables, nodes = one_node_cluster["storage"]
    assert (rows, nodes) == (one_node_cluster["local_rows"], 1) and tables == 6
