"""A project has a home: the cluster its curves live on, a residency group, and its moves.

``projects.home_cluster_id`` NULL means the built-in engine, where every project's curves lived
until now, so no row changes. ``projects.residency`` names a group of ``models/residency.json``
(NULL: no pin). ``project_moves`` records each move between homes; at most one per project is
open, enforced by a partial unique index like ``uq_clusters_project_id_name_live``.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

HOME_FK = "fk_projects_home_cluster_id_clusters"
HOME_INDEX = "ix_projects_home_cluster_id"
OPEN = "state IN ('waiting', 'copying', 'checking', 'switched', 'cleaning')"
STATES = ("waiting", "copying", "checking", "switched", "cleaning", "done", "failed", "cancelled")


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("home_cluster_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("residency", sa.String(length=40), nullable=True))
        batch.create_index(op.f(HOME_INDEX), ["home_cluster_id"], unique=False)
        batch.create_foreign_key(
            op.f(HOME_FK), "clusters", ["home_cluster_id"], ["id"], ondelete="RESTRICT"
        )
    op.create_table(
        "project_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("from_cluster_id", sa.Integer(), nullable=True),
        sa.Column("to_cluster_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(*STATES, name="state", native_enum=False, create_constraint=True, length=20),
            nullable=False,
        ),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("datasets_total", sa.BigInteger(), nullable=False),
        sa.Column("datasets_done", sa.BigInteger(), nullable=False),
        sa.Column("curves_total", sa.BigInteger(), nullable=False),
        sa.Column("curves_done", sa.BigInteger(), nullable=False),
        sa.Column("samples_total", sa.BigInteger(), nullable=False),
        sa.Column("samples_done", sa.BigInteger(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_moves_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["from_cluster_id"],
            ["clusters.id"],
            name=op.f("fk_project_moves_from_cluster_id_clusters"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["to_cluster_id"],
            ["clusters.id"],
            name=op.f("fk_project_moves_to_cluster_id_clusters"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_moves")),
    )
    op.create_index(
        op.f("ix_project_moves_project_id"), "project_moves", ["project_id"], unique=False
    )
    op.create_index(
        "uq_project_moves_project_id_open",
        "project_moves",
        ["project_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_project_moves_project_id_open", table_name="project_moves")
    op.drop_index(op.f("ix_project_moves_project_id"), table_name="project_moves")
    op.drop_table("project_moves")
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint(op.f(HOME_FK), type_="foreignkey")
        batch.drop_index(op.f(HOME_INDEX))
        batch.drop_column("residency")
        batch.drop_column("home_cluster_id")
