"""The initial metadata store: organisations, users, teams, projects, clusters, datasets, audit.

Revision ID: 0001
Revises: none
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies as this revision created them.
ROLES = ("owner", "admin", "engineer", "viewer")
PROVIDERS = ("embedded", "server", "cloud")
STATUSES = (
    "provisioning",
    "running",
    "stopping",
    "stopped",
    "starting",
    "degraded",
    "failed",
    "deleting",
    "deleted",
)


def vocabulary(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def timestamp(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, **kw)


def key(name: str, table: str, on_delete: str = "CASCADE", **kw) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey(f"{table}.id", ondelete=on_delete), **kw)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        timestamp("created_at"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        timestamp("created_at"),
    )
    for table in ("teams", "projects"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer, primary_key=True),
            key("organisation_id", "organisations", nullable=False),
            sa.Column("name", sa.String(100), nullable=False),
            timestamp("created_at"),
            sa.UniqueConstraint("organisation_id", "name"),
        )
    op.create_table(
        "team_members",
        key("team_id", "teams", primary_key=True),
        key("user_id", "users", primary_key=True, index=True),
        sa.Column("role", vocabulary("role", ROLES), nullable=False),
        timestamp("created_at"),
    )
    op.create_table(
        "project_members",
        sa.Column("id", sa.Integer, primary_key=True),
        key("project_id", "projects", nullable=False),
        key("user_id", "users", nullable=True, index=True),
        key("team_id", "teams", nullable=True, index=True),
        sa.Column("role", vocabulary("role", ROLES), nullable=False),
        timestamp("created_at"),
        sa.CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        sa.UniqueConstraint("project_id", "user_id"),
        sa.UniqueConstraint("project_id", "team_id"),
    )
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer, primary_key=True),
        key("project_id", "projects", on_delete="RESTRICT", nullable=False, index=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("type_key", sa.String(40), nullable=False),
        sa.Column("provider", vocabulary("provider", PROVIDERS), nullable=False),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("nodes", sa.Integer, nullable=False),
        sa.Column("vcpu_per_node", sa.Integer, nullable=False),
        sa.Column("memory_gb_per_node", sa.Integer, nullable=False),
        sa.Column("storage_gb", sa.Integer, nullable=False),
        sa.Column("status", vocabulary("status", STATUSES), nullable=False),
        sa.Column("provider_config", sa.JSON, nullable=False),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.CheckConstraint("nodes >= 1 AND vcpu_per_node >= 1", name="compute"),
        sa.CheckConstraint("memory_gb_per_node >= 1 AND storage_gb >= 0", name="capacity"),
    )
    op.create_index(
        "uq_clusters_project_id_name_live",
        "clusters",
        ["project_id", "name"],
        unique=True,
        sqlite_where=sa.text("status != 'deleted'"),
        postgresql_where=sa.text("status != 'deleted'"),
    )
    op.create_table(
        "cluster_events",
        sa.Column("id", sa.Integer, primary_key=True),
        key("cluster_id", "clusters", nullable=False, index=True),
        timestamp("at"),
        sa.Column("from_state", vocabulary("from_state", STATUSES), nullable=True),
        sa.Column("to_state", vocabulary("to_state", STATUSES), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True),
        key("project_id", "projects", nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("clickhouse_database", sa.String(63), nullable=False),
        timestamp("created_at"),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        timestamp("at", index=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Index("ix_audit_events_target", "target_type", "target_id"),
    )


def downgrade() -> None:
    for table in (
        "audit_events",
        "datasets",
        "cluster_events",
        "clusters",
        "project_members",
        "team_members",
        "projects",
        "teams",
        "users",
        "organisations",
    ):
        op.drop_table(table)
