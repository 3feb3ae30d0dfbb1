"""Kiosk links: read-only, revocable links to one project's station board.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosk_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_kiosk_links_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_kiosk_links_token_hash")),
    )
    op.create_index(op.f("ix_kiosk_links_project_id"), "kiosk_links", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_kiosk_links_project_id"), table_name="kiosk_links")
    op.drop_table("kiosk_links")
