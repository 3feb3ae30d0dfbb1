"""Cluster events record who acted, and the timeline reads by (cluster, time).

Events written before this revision have no known actor; they are filled with ``unrecorded``
before the column becomes required, so no row is lost or left NULL.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UNRECORDED = "unrecorded"


def upgrade() -> None:
    with op.batch_alter_table("cluster_events") as batch:
        batch.add_column(sa.Column("actor", sa.String(320), nullable=True))
    events = sa.table("cluster_events", sa.column("actor", sa.String))
    op.execute(events.update().where(events.c.actor.is_(None)).values(actor=UNRECORDED))
    with op.batch_alter_table("cluster_events") as batch:
        batch.alter_column("actor", existing_type=sa.String(320), nullable=False)
        batch.drop_index("ix_cluster_events_cluster_id")
        batch.create_index("ix_cluster_events_cluster_id_at", ["cluster_id", "at"])


def downgrade() -> None:
    with op.batch_alter_table("cluster_events") as batch:
        batch.drop_index("ix_cluster_events_cluster_id_at")
        batch.create_index("ix_cluster_events_cluster_id", ["cluster_id"])
        batch.drop_column("actor")
