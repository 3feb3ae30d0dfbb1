"""Latency probes of running clusters are kept, so p50/p95 over recent minutes survive a restart.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_probes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("queries_total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name="fk_cluster_probes_cluster_id_clusters",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cluster_probes"),
    )
    op.create_index("ix_cluster_probes_cluster_id_at", "cluster_probes", ["cluster_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_cluster_probes_cluster_id_at", table_name="cluster_probes")
    op.drop_table("cluster_probes")
