"""Broker feeds: a plant broker's topic mapped to a project, read with its owner's login.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broker_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("login", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_broker_feeds_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broker_feeds")),
    )
    op.create_index(op.f("ix_broker_feeds_project_id"), "broker_feeds", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_broker_feeds_project_id"), table_name="broker_feeds")
    op.drop_table("broker_feeds")
