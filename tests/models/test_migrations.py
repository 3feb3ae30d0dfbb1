"""Alembic revisions on SQLite and PostgreSQL: fresh stores, older stores with rows, newer ones."""

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from models.store import (
    MetadataVersionError,
    alembic_config,
    current_revision,
    head_revision,
    migrate,
)
from models.tables import AuditEvent, Base, Cluster, ClusterEvent, ClusterStatus, ProjectMove

MONDAY = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def insert(connection: sa.Connection, table: str, **values: object) -> int:
    """Plain SQL, as an older Curvehouse would have left the row; returns the new id."""
    types = {datetime: sa.DateTime(timezone=True), dict: sa.JSON()}
    params = [sa.bindparam(k, v, type_=types.get(type(v))) for k, v in values.items()]
    statement = sa.text(
        f"INSERT INTO {table} ({', '.join(values)}) "
        f"VALUES ({', '.join(':' + name for name in values)}) RETURNING id"
    ).bindparams(*params)
    return connection.execute(statement).scalar_one()


def test_revisions_form_one_numbered_chain():
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert scripts.get_heads() == [head_revision()] == [revisions[-1]]
    assert revisions == [f"{n:04d}" for n in range(1, len(revisions) + 1)]
    for script in scripts.walk_revisions():
        assert script.path.rsplit("/", 1)[-1].startswith(script.revision + "_")


def test_fresh_database_migrates_to_exactly_the_models(engine):
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    # Alembic does not compare CHECK constraints; they carry the vocabularies and limits.
    inspector = sa.inspect(engine)
    for table in Base.metadata.sorted_tables:
        expected = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert found == expected, table.name


def test_older_database_keeps_its_rows(engine):
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant A", created_at=MONDAY)
        project = insert(
            connection,
            "projects",
            organisation_id=organisation,
            name="Press line 3",
            created_at=MONDAY,
        )
        cluster = insert(
            connection,
            "clusters",
            project_id=project,
            name="line3-dev",
            type_key="development",
            provider="embedded",
            nodes=1,
            vcpu_per_node=4,
            memory_gb_per_node=16,
            storage_gb=100,
            status="running",
            provider_config={"database": "line3_dev"},
            created_at=MONDAY,
            updated_at=MONDAY,
        )
        for from_state, to_state in ((None, "provisioning"), ("provisioning", "running")):
            insert(
                connection,
                "cluster_events",
                cluster_id=cluster,
                at=MONDAY,
                from_state=from_state,
                to_state=to_state,
                action="create",
                detail="",
            )
        insert(
            connection,
            "datasets",
            project_id=project,
            name="January",
            clickhouse_database="line3",
            created_at=MONDAY,
        )
        insert(
            connection,
            "audit_events",
            at=MONDAY,
            actor="ana@plant.example",
            action="cluster.create",
            target_type="cluster",
            target_id=str(cluster),
            detail={"type": "development"},
            ip="10.0.0.7",
        )

    migrate(engine)

    assert current_revision(engine) == head_revision()
    with Session(engine) as session:
        stored = session.get(Cluster, cluster)
        assert (stored.name, stored.status, stored.provider_config) == (
            "line3-dev",
            ClusterStatus.RUNNING,
            {"database": "line3_dev"},
        )
        assert stored.created_at == MONDAY
        assert (stored.nodes, stored.vcpu_per_node, stored.memory_gib_per_node) == (1, 4, 16)
        assert [(e.from_state, e.to_state, e.actor) for e in stored.events] == [
            (None, ClusterStatus.PROVISIONING, "unrecorded"),
            (ClusterStatus.PROVISIONING, ClusterStatus.RUNNING, "unrecorded"),
        ]
        stored.events.append(
            ClusterEvent(
                from_state=ClusterStatus.RUNNING,
                to_state=ClusterStatus.STOPPING,
                action="stop",
                actor="ana@plant.example",
            )
        )
        session.commit()
        assert [e.actor for e in stored.events][-1] == "ana@plant.example"
        assert session.scalars(sa.select(AuditEvent.ip)).one() == "10.0.0.7"
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes("cluster_events")}
    assert indexes == {"ix_cluster_events_cluster_id_at"}
    inspector = sa.inspect(engine)
    assert "datasets" not in inspector.get_table_names()  # never used: 0006 dropped it
    assert "storage_gb" not in {c["name"] for c in inspector.get_columns("clusters")}


def test_downgrade_and_upgrade_keep_rows(engine):
    migrate(engine)
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant B", created_at=MONDAY)
        command.downgrade(alembic_config(connection), "0001")
    assert current_revision(engine) == "0001"
    migrate(engine)
    with engine.connect() as connection:
        names = connection.execute(sa.text("SELECT id, name FROM organisations")).all()
    assert names == [(organisation, "Plant B")]


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Alembic's downgrade, with SQLite's foreign keys off as ``migrate`` has them: rebuilding a
    parent table must not cascade into its children."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.commit()
        try:
            with connection.begin():
                command.downgrade(alembic_config(connection), revision)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                connection.commit()


def test_memory_in_gib_keeps_its_values_down_and_up(engine):
    """0006 renames memory_gb_per_node (which held GiB) to memory_gib_per_node; the values, the
    events and the unique index on live names survive both ways."""
    migrate(engine)
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant D", created_at=MONDAY)
        project = insert(
            connection, "projects", organisation_id=organisation, name="Line 7", created_at=MONDAY
        )
        clusters = {
            status: insert(
                connection,
                "clusters",
                project_id=project,
                name="line7",  # a deleted cluster's name, reused by a live one
                type_key="manufacturing_analytics",
                provider="embedded",
                nodes=3,
                vcpu_per_node=8,
                memory_gib_per_node=memory,
                status=status,
                provider_config={},
                created_at=MONDAY,
                updated_at=MONDAY,
            )
            for status, memory in (("deleted", 64), ("running", 128))
        }
        insert(
            connection,
            "cluster_events",
            cluster_id=clusters["running"],
            at=MONDAY,
            to_state="provisioning",
            action="create",
            detail="",
            actor="ana@plant.example",
        )

    downgrade(engine, "0005")
    assert current_revision(engine) == "0005"
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, memory_gb_per_node, storage_gb FROM clusters ORDER BY id")
        ).all()
    assert rows == [(clusters["deleted"], 64, 0), (clusters["running"], 128, 0)]
    assert "datasets" in sa.inspect(engine).get_table_names()

    migrate(engine)
    with Session(engine) as session:
        stored = {c.status: c for c in session.scalars(sa.select(Cluster))}
        assert {s: c.memory_gib_per_node for s, c in stored.items()} == {
            ClusterStatus.DELETED: 64,
            ClusterStatus.RUNNING: 128,
        }
        assert [e.actor for e in stored[ClusterStatus.RUNNING].events] == ["ana@plant.example"]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE clusters SET status = 'running' WHERE id = :id"),
            {"id": clusters["deleted"]},
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text("UPDATE clusters SET memory_gib_per_node = 0"))


def test_newer_database_is_refused(engine):
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0999_future'"))
    with pytest.raises(MetadataVersionError, match="upgrade Curvehouse") as refused:
        migrate(engine.url.render_as_string(hide_password=False))  # as at start, from a URL
    assert "0999_future" in str(refused.value)
    assert head_revision() in str(refused.value)
    assert current_revision(engine) == "0999_future"


def test_migrating_twice_changes_nothing(engine):
    migrate(engine)
    with engine.begin() as connection:
        insert(connection, "organisations", name="Plant C", created_at=MONDAY)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        migrate(engine)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    writes = [s for s in statements if re.match(r"\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)", s)]
    assert writes == []
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM organisations")).scalar() == 1


def test_project_homes_start_on_the_built_in_engine_and_go_down_and_up(engine):
    """0007: existing projects live on the built-in engine (NULL home, no pin); going down drops
    the homes, residency and moves but keeps projects and clusters."""
    migrate(engine, "0006")
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant E", created_at=MONDAY)
        project = insert(
            connection, "projects", organisation_id=organisation, name="Line 8", created_at=MONDAY
        )
        cluster = insert(
            connection,
            "clusters",
            project_id=project,
            name="line8",
            type_key="development",
            provider="cloud",
            region="aws/eu-west-1",
            nodes=1,
            vcpu_per_node=2,
            memory_gib_per_node=8,
            status="running",
            provider_config={},
            created_at=MONDAY,
            updated_at=MONDAY,
        )
    migrate(engine)
    with engine.begin() as connection:
        home = connection.execute(sa.text("SELECT home_cluster_id, residency FROM projects"))
        assert home.all() == [(None, None)]
        connection.execute(
            sa.text("UPDATE projects SET home_cluster_id = :c, residency = 'eu'"), {"c": cluster}
        )
    with Session(engine) as session:
        session.add(
            ProjectMove(
                project_id=project, to_cluster_id=cluster, state="copying", requested_by="x"
            )
        )
        session.commit()
    downgrade(engine, "0006")
    inspector = sa.inspect(engine)
    assert "project_moves" not in inspector.get_table_names()
    assert {c["name"] for c in inspector.get_columns("projects")} == {
        "id",
        "organisation_id",
        "name",
        "created_at",
    }
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id FROM clusters")).scalars().all() == [cluster]
    migrate(engine)
    with engine.connect() as connection:
        home = connection.execute(sa.text("SELECT id, home_cluster_id FROM projects"))
        assert home.all() == [(project, None)]
