"""Report schedules: a shift report mailed per shift, day or week to a list of recipients.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("plant", sa.String(length=100), nullable=False),
        sa.Column("shifts", sa.JSON(), nullable=False),
        sa.Column("cadence", sa.String(length=10), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("panels", sa.JSON(), nullable=False),
        sa.Column("mailed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_report_schedules_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedules")),
    )
    op.create_index(
        op.f("ix_report_schedules_project_id"), "report_schedules", ["project_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_report_schedules_project_id"), table_name="report_schedules")
    op.drop_table("report_schedules")
