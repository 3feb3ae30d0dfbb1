"""A probe reading keeps what the probe itself added to the engine's query counter, so the query
rate leaves Curvehouse's own probes out. Older readings keep NULL (their probes ran two queries).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cluster_probes") as batch:
        batch.add_column(sa.Column("probe_queries", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cluster_probes") as batch:
        batch.drop_column("probe_queries")
