"""Memory is called GiB, as it is counted; the unused ``datasets`` table and ``storage_gb`` go.

``clusters.memory_gb_per_node`` always held GiB (the cluster types and ClickHouse Cloud size
memory in GiB), so it is renamed ``memory_gib_per_node`` and its values stay. Nothing ever wrote
``clusters.storage_gb`` (a cluster's storage is read from ``system.parts``) or the metadata
``datasets`` table (datasets live in each project's ClickHouse database), so both are dropped.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CAPACITY = "ck_clusters_capacity"  # given with op.f(): as in the store, not renamed again


def upgrade() -> None:
    with op.batch_alter_table("clusters") as batch:
        batch.drop_constraint(op.f(CAPACITY), type_="check")
        batch.drop_column("storage_gb")
        batch.alter_column(
            "memory_gb_per_node",
            new_column_name="memory_gib_per_node",
            existing_type=sa.Integer(),
            existing_nullable=False,
        )
        batch.create_check_constraint(op.f(CAPACITY), "memory_gib_per_node >= 1")
    op.drop_table("datasets")


def downgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("clickhouse_database", sa.String(length=63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_datasets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_datasets_project_id_name")),
    )
    with op.batch_alter_table("clusters") as batch:
        batch.drop_constraint(op.f(CAPACITY), type_="check")
        batch.alter_column(
            "memory_gib_per_node",
            new_column_name="memory_gb_per_node",
            existing_type=sa.Integer(),
            existing_nullable=False,
        )
        batch.add_column(sa.Column("storage_gb", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("clusters") as batch:
        batch.alter_column("storage_gb", existing_type=sa.Integer(), server_default=None)
        batch.create_check_constraint(op.f(CAPACITY), "memory_gb_per_node >= 1 AND storage_gb >= 0")
