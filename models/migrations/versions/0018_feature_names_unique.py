"""Configured features: one working feature of a name per project and process, kept by the store.

``create_feature`` checked the name in Python only, so two engineers defining the same name at
the same instant could both succeed. Retired features keep their names (a retired name is free
again), so the index is partial: working rows only, on SQLite and PostgreSQL alike.

A store may already hold such twins. The oldest keeps its name; each later one is renamed
``name (2)``, ``name (3)``, … (cut to fit 100 characters), and the rename is written to the
audit trail as ``feature.rename`` by ``migration 0018``. Its values are kept by id, so nothing
computed changes. Going down drops the index and keeps the new names.

Revision ID: 0018
Revises: 0017
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

INDEX = "uq_feature_definitions_project_id_process_name_working"
WORKING = "retired_at IS NULL"
LONGEST = 100  # feature_definitions.name is String(100)
ACTOR = "migration 0018"

features = sa.table(
    "feature_definitions",
    sa.column("id", sa.Integer),
    sa.column("project_id", sa.Integer),
    sa.column("process", sa.String),
    sa.column("name", sa.String),
    sa.column("retired_at", sa.DateTime(timezone=True)),
)
events = sa.table(
    "audit_events",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("target_type", sa.String),
    sa.column("target_id", sa.String),
    sa.column("detail", sa.JSON),
)


def free_name(name: str, taken: set[str]) -> str:
    """``name (k)`` for the first k ≥ 2 not in ``taken``, the name cut to fit ``LONGEST``."""
    k = 2
    while True:
        suffix = f" ({k})"
        candidate = name[: LONGEST - len(suffix)].rstrip() + suffix
        if candidate not in taken:
            return candidate
        k += 1


def rename_twins(connection: sa.Connection) -> None:
    """Every working feature whose project, process and name an older working one has gets a
    free name of its own, audited."""
    rows = connection.execute(
        sa.select(features.c.id, features.c.project_id, features.c.process, features.c.name)
        .where(features.c.retired_at.is_(None))
        .order_by(features.c.id)
    ).all()
    taken: dict[tuple[int, str], set[str]] = {}
    for row in rows:
        taken.setdefault((row.project_id, row.process), set()).add(row.name)
    seen: set[tuple[int, str, str]] = set()
    now = datetime.now(UTC)
    for row in rows:
        key = (row.project_id, row.process, row.name)
        if key not in seen:
            seen.add(key)
            continue
        names = taken[(row.project_id, row.process)]
        new = free_name(row.name, names)
        names.add(new)
        connection.execute(features.update().where(features.c.id == row.id).values(name=new))
        connection.execute(
            events.insert().values(
                at=now,
                actor=ACTOR,
                action="feature.rename",
                target_type="project",
                target_id=str(row.project_id),
                detail={
                    "feature": row.id,
                    "process": row.process,
                    "before": row.name,
                    "after": new,
                    "why": "an older working feature of the process has the same name",
                },
            )
        )


def upgrade() -> None:
    rename_twins(op.get_bind())
    op.create_index(
        INDEX,
        "feature_definitions",
        ["project_id", "process", "name"],
        unique=True,
        sqlite_where=sa.text(WORKING),
        postgresql_where=sa.text(WORKING),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="feature_definitions")
