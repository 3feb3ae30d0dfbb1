"""The metadata store's tables as SQLAlchemy 2 typed declarative models.

Who may do what (organisations, users, teams, projects and their roles), which ClickHouse
deployments exist (clusters and the history of their states), and an audit trail. Curves and
their datasets live in ClickHouse, never here.

The schema is created and changed only by the Alembic revisions in ``models/migrations``;
``tests/models/test_migrations.py`` checks that migrating gives exactly these models.

Deleting follows ownership: an organisation takes its teams and projects with it, a project its
memberships, a user or team its memberships, a cluster its events. A project that still has
cluster rows cannot be deleted (``RESTRICT``): a cluster row is the only handle on a running,
possibly billed deployment, so it must be torn down and purged first. Nor can a cluster that
is a project's home or a move's end be deleted. Audit events reference
nothing, so they outlive whatever they describe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from models.sealing import SealedJSON

# Constraint names must be stable: Alembic refers to them by name when a later revision alters a
# table, and SQLite's batch mode rebuilds tables from them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Role(StrEnum):
    """What a user or team may do in a project or team, from most to least."""

    OWNER = "owner"
    ADMIN = "admin"
    ENGINEER = "engineer"
    VIEWER = "viewer"


class ProviderKey(StrEnum):
    """Which provider in ``providers/`` runs a cluster."""

    EMBEDDED = "embedded"
    SERVER = "server"
    CLOUD = "cloud"


class ClusterStatus(StrEnum):
    """ClickHouse Cloud's state vocabulary, used for every provider."""

    PROVISIONING = "provisioning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    STARTING = "starting"
    DEGRADED = "degraded"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


def normal_email(value: str) -> str:
    """Lower-cased and trimmed, so ``Ana@Plant.example`` and ``ana@plant.example`` are one
    account."""
    return value.strip().lower()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that goes in and comes out timezone-aware, in UTC, on every backend.

    PostgreSQL stores the zone (``timestamptz``); SQLite has no zones, so UTC is stored naive and
    the zone is put back on reading. Naive datetimes are refused: their zone is a guess.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} has no timezone; pass an aware one")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def vocabulary(kind: type[StrEnum], name: str) -> sa.Enum:
    """A string column limited to ``kind``'s values by a CHECK constraint named ``name``.

    Not a native PostgreSQL enum: a CHECK is dropped and recreated in a migration, while native
    enum types cannot lose values and are awkward to change inside a transaction.
    """
    return sa.Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda k: [member.value for member in k],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a plain class attribute)
        datetime: UTCDateTime(),
        # Tracks item assignment, so `cluster.provider_config["url"] = ...` is saved.
        dict[str, Any]: MutableDict.as_mutable(sa.JSON()),
    }


class Created:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def parent(table: str, *, on_delete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=on_delete)


# Children that cannot exist without this parent: deleted with it, or when taken out of the list.
OWNED: dict[str, Any] = {"cascade": "all, delete-orphan", "passive_deletes": True}
# Deleted with this parent, but not orphans without it: a project grant has one of two grantees.
GRANTS: dict[str, Any] = {"cascade": "all", "passive_deletes": True}


class Organisation(Created, Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)

    teams: Mapped[list[Team]] = relationship(back_populates="organisation", **OWNED)
    projects: Mapped[list[Project]] = relationship(back_populates="organisation", **OWNED)


class User(Created, Base):
    """A person. ``password_hash`` is an argon2 hash, empty for an account that signs in only
    through the identity provider (OIDC). Failed sign-ins are counted per e-mail address in
    :class:`LoginThrottle`, and browser sign-ins are :class:`LoginSession` rows. A person an
    operator locked (``locked_at``) cannot sign in or use a token until unlocked."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    last_login_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]  # locked out by an operator until unlocked

    team_memberships: Mapped[list[TeamMember]] = relationship(back_populates="user", **OWNED)
    project_memberships: Mapped[list[ProjectMember]] = relationship(back_populates="user", **GRANTS)
    api_tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", **OWNED)

    @validates("email")
    def _normalise_email(self, key: str, value: str) -> str:
        return normal_email(value)


class Team(Created, Base):
    __tablename__ = "teams"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(parent("organisations"))
    name: Mapped[str] = mapped_column(sa.String(100))

    organisation: Mapped[Organisation] = relationship(back_populates="teams")
    members: Mapped[list[TeamMember]] = relationship(back_populates="team", **OWNED)
    project_memberships: Mapped[list[ProjectMember]] = relationship(back_populates="team", **GRANTS)


class TeamMember(Created, Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(parent("teams"), primary_key=True)
    user_id: Mapped[int] = mapped_column(parent("users"), primary_key=True, index=True)
    role: Mapped[Role] = mapped_column(vocabulary(Role, "role"))

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="team_memberships")


class Project(Created, Base):
    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(parent("organisations"))
    name: Mapped[str] = mapped_column(sa.String(100))

    # Where the project's curves live: NULL is the built-in engine. A separate link from
    # ``Cluster.project`` (who owns and pays for a cluster): many projects can live on one.
    # use_alter: projects and clusters point at each other, so one key is added after both.
    home_cluster_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("clusters.id", ondelete="RESTRICT", use_alter=True), index=True
    )
    residency: Mapped[str | None] = mapped_column(sa.String(40))  # a models/residency.json key

    organisation: Mapped[Organisation] = relationship(back_populates="projects")
    members: Mapped[list[ProjectMember]] = relationship(back_populates="project", **OWNED)
    # passive_deletes="all": the ORM leaves cluster rows alone and the database refuses.
    clusters: Mapped[list[Cluster]] = relationship(
        back_populates="project", passive_deletes="all", foreign_keys="Cluster.project_id"
    )
    home_cluster: Mapped[Cluster | None] = relationship(
        foreign_keys=[home_cluster_id], back_populates="homed_projects"
    )


class ProjectMember(Created, Base):
    """A role in a project, granted to exactly one user or one team."""

    __tablename__ = "project_members"
    __table_args__ = (
        sa.CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        sa.UniqueConstraint("project_id", "user_id"),
        sa.UniqueConstraint("project_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"))
    user_id: Mapped[int | None] = mapped_column(parent("users"), index=True)
    team_id: Mapped[int | None] = mapped_column(parent("teams"), index=True)
    role: Mapped[Role] = mapped_column(vocabulary(Role, "role"))

    project: Mapped[Project] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship(back_populates="project_memberships")
    team: Mapped[Team | None] = relationship(back_populates="project_memberships")


class Cluster(Base):
    """A ClickHouse deployment. ``status`` is what its provider last observed, never a guess.

    Sizes are per node, memory in GiB as the cluster types and ClickHouse Cloud count it.
    ``provider_config`` holds what only its provider reads (database name, server URL, cloud
    service id, passwords); it is stored encrypted (``models/sealing.py``). A deleted cluster
    keeps its row, status ``deleted``, so its events stay readable; only live clusters need
    distinct names within a project.
    """

    __tablename__ = "clusters"
    __table_args__ = (
        sa.Index(
            "uq_clusters_project_id_name_live",
            "project_id",
            "name",
            unique=True,
            sqlite_where=sa.text("status != 'deleted'"),
            postgresql_where=sa.text("status != 'deleted'"),
        ),
        sa.CheckConstraint("nodes >= 1 AND vcpu_per_node >= 1", name="compute"),
        sa.CheckConstraint("memory_gib_per_node >= 1", name="capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects", on_delete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(63))
    type_key: Mapped[str] = mapped_column(sa.String(40))
    provider: Mapped[ProviderKey] = mapped_column(vocabulary(ProviderKey, "provider"))
    region: Mapped[str | None] = mapped_column(sa.String(64))
    nodes: Mapped[int]
    vcpu_per_node: Mapped[int]
    memory_gib_per_node: Mapped[int]
    status: Mapped[ClusterStatus] = mapped_column(
        vocabulary(ClusterStatus, "status"), default=ClusterStatus.PROVISIONING
    )
    provider_config: Mapped[dict[str, Any]] = mapped_column(
        MutableDict.as_mutable(SealedJSON()), default=dict
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship(back_populates="clusters", foreign_keys=[project_id])
    events: Mapped[list[ClusterEvent]] = relationship(
        back_populates="cluster", order_by="ClusterEvent.at", **OWNED
    )
    # The projects whose curves live here; set through Project.home_cluster.
    homed_projects: Mapped[list[Project]] = relationship(
        foreign_keys="Project.home_cluster_id", back_populates="home_cluster", viewonly=True
    )


class MoveState(StrEnum):
    """Where a project's move to another home stands (``models/move_states.py``)."""

    WAITING = "waiting"  # the target is not running yet
    COPYING = "copying"
    CHECKING = "checking"  # writes frozen, tallies compared on both sides
    SWITCHED = "switched"  # the project lives on the target; the old copy awaits an owner
    CLEANING = "cleaning"  # the old copy is being deleted
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A move in one of these states is open: a project has at most one.
OPEN_MOVE_STATES: tuple[MoveState, ...] = (
    MoveState.WAITING,
    MoveState.COPYING,
    MoveState.CHECKING,
    MoveState.SWITCHED,
    MoveState.CLEANING,
)
_OPEN_MOVE = sa.text("state IN ('waiting', 'copying', 'checking', 'switched', 'cleaning')")


class ProjectMove(Base):
    """Moving a project's curves from one home to another (None: the built-in engine).

    The row is the move's whole memory, so a mover killed mid-way resumes from it: the lease says
    who works on it, the counters how far it got, ``checks`` the tallies both sides gave
    (``{"source": {dataset: [...]}, "target": ...}``). Rows are kept as the move's record.
    """

    __tablename__ = "project_moves"
    __table_args__ = (
        sa.Index(
            "uq_project_moves_project_id_open",
            "project_id",
            unique=True,
            sqlite_where=_OPEN_MOVE,
            postgresql_where=_OPEN_MOVE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects", on_delete="RESTRICT"), index=True)
    from_cluster_id: Mapped[int | None] = mapped_column(parent("clusters", on_delete="RESTRICT"))
    to_cluster_id: Mapped[int | None] = mapped_column(parent("clusters", on_delete="RESTRICT"))
    state: Mapped[MoveState] = mapped_column(vocabulary(MoveState, "state"))
    detail: Mapped[str] = mapped_column(sa.Text, default="")  # why it failed, in words
    requested_by: Mapped[str] = mapped_column(sa.String(320))  # a label, like ClusterEvent.actor
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    switched_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(255))  # "pid@host"
    lease_until: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    datasets_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    datasets_done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    curves_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    curves_done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    samples_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    samples_done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    checks: Mapped[dict[str, Any]] = mapped_column(default=dict)

    project: Mapped[Project] = relationship()


class ClusterEvent(Base):
    """One observed transition of a cluster, or an action on it.

    ``from_state`` is None at creation. ``actor`` is a label (an e-mail, ``poller``), not a key,
    so the history survives the user; rows written before revision 0002 say ``unrecorded``.
    """

    __tablename__ = "cluster_events"
    __table_args__ = (sa.Index("ix_cluster_events_cluster_id_at", "cluster_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(parent("clusters"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_state: Mapped[ClusterStatus | None] = mapped_column(
        vocabulary(ClusterStatus, "from_state")
    )
    to_state: Mapped[ClusterStatus] = mapped_column(vocabulary(ClusterStatus, "to_state"))
    action: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    actor: Mapped[str] = mapped_column(sa.String(320))

    cluster: Mapped[Cluster] = relationship(back_populates="events")


class ClusterProbe(Base):
    """One measured ``SELECT 1`` round trip of a running cluster, with the engine's query
    counter read right after it (two readings give a query rate)."""

    __tablename__ = "cluster_probes"
    __table_args__ = (sa.Index("ix_cluster_probes_cluster_id_at", "cluster_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(parent("clusters"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    latency_ms: Mapped[float] = mapped_column(sa.Float)
    queries_total: Mapped[int] = mapped_column(sa.BigInteger)
    # What the probe itself added to the counter (models/cluster_health.py); NULL: read before
    # probes measured it, when a probe ran two queries.
    probe_queries: Mapped[int | None] = mapped_column(sa.BigInteger)


class AuditEvent(Base):
    """Who did what to which object, kept even after the object and the user are gone."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(sa.String(45))


class ApiToken(Created, Base):
    """A personal bearer token for the REST API. Only its SHA-256 is stored: the token is shown
    once, when made. ``prefix`` (its first characters) lets a person tell their tokens apart."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(parent("users"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="api_tokens")


class LoginSession(Created, Base):
    """A browser sign-in. The cookie carries a random 256-bit token and only its SHA-256 is
    kept, so a copy of the store signs nobody in. Sign-out, a password change or reset, a
    lockout and removing the person set ``revoked_at``; every request and every open page's
    check then refuses it. ``ip`` and ``user_agent`` are what the sign-in came from."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(parent("users"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed sign-ins in a row for one e-mail address, whether an account has it or not (so a
    lockout does not tell which accounts exist). ``key`` is the SHA-256 of the normalised
    address: what people mistype into the e-mail field is not kept. ``locks`` counts the locks
    so far, each twice as long as the one before."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locks: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Created, Base):
    """A one-time link that lets ``email`` set a password and join ``project`` as ``role``.

    Only the link's SHA-256 is stored. ``accepted_at`` is set once, so a second use is refused.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    role: Mapped[Role] = mapped_column(vocabulary(Role, "role"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(sa.String(320))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]

    project: Mapped[Project] = relationship()

    @validates("email")
    def _normalise_email(self, key: str, value: str) -> str:
        return normal_email(value)


class DeadLetter(Base):
    """An MQTT message, or one curve of it, that live ingest refused: ``reason`` is a code
    (``pipelines.live.payload``), ``detail`` the words for the engineer. Kept in the metadata
    store, not the engine: the engine may be what is down, and a message for an unknown
    project (``project_id`` NULL; ``project_name`` is what its topic said) has no home.
    ``payload_head`` is the message's first 4 KB, never the whole of it."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        sa.Index("ix_dead_letters_project_id_received_at", "project_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(parent("projects"))
    project_name: Mapped[str] = mapped_column(sa.String(100))
    topic: Mapped[str] = mapped_column(sa.String(256))
    reason: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.String(1000))
    curve_key: Mapped[str | None] = mapped_column(sa.String(256))
    payload_head: Mapped[str] = mapped_column(sa.Text())
    payload_bytes: Mapped[int] = mapped_column(sa.BigInteger())
    payload_sha256: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class KioskLink(Created, Base):
    """A read-only link to one project's station board, for a screen at the line: whoever has
    it sees that board, signed out, and nothing else, until it is revoked. Only the secret's
    SHA-256 is kept; it is shown once, when made."""

    __tablename__ = "kiosk_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class IngestToken(Created, Base):
    """A broker login that may publish one project's curves over MQTT (issue 18): the MQTT
    username is ``login``, the password the secret shown once when made. Kept are the secret's
    SHA-256 and the mosquitto password-file hash of it (``broker_hash``, PBKDF2-SHA512), so
    Curvehouse's broker can be told the login without the secret ever being stored."""

    __tablename__ = "ingest_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    login: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    broker_hash: Mapped[str] = mapped_column(sa.String(200))
    revoked_at: Mapped[datetime | None]


class BrokerFeed(Created, Base):
    """A topic of the plant's broker (``CURVEHOUSE_MQTT_URL``) mapped to one project (issue 18):
    what arrives on ``topic`` (an MQTT filter) is the project's, read with the broker login its
    owner made there (``login``: username and password, sealed like cluster secrets). The plant's
    ACL on that login decides what the project may take; nothing on that broker reaches a
    project without a feed."""

    __tablename__ = "broker_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    topic: Mapped[str] = mapped_column(sa.String(256))
    login: Mapped[dict[str, Any]] = mapped_column(SealedJSON())
    created_by: Mapped[str] = mapped_column(sa.String(320))
    revoked_at: Mapped[datetime | None]


class FeatureDefinition(Created, Base):
    """A feature a project computes for every curve of one process, besides the fixed ones
    (issue 19 §2): y where x first reaches ``a`` (``y_at_x``), x where y first reaches ``a``
    (``x_at_y``), or the least-squares slope of y over x for ``a <= x <= b`` (``slope``).
    What it computes never changes, so its stored values stay true; retiring it hides it.
    A working feature's name is unique in its project and process (a retired one's is free)."""

    __tablename__ = "feature_definitions"
    __table_args__ = (
        sa.Index(
            "uq_feature_definitions_project_id_process_name_working",
            "project_id",
            "process",
            "name",
            unique=True,
            sqlite_where=sa.text("retired_at IS NULL"),
            postgresql_where=sa.text("retired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    process: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    a: Mapped[float] = mapped_column(sa.Float)
    b: Mapped[float | None] = mapped_column(sa.Float)
    created_by: Mapped[str] = mapped_column(sa.String(320))
    retired_at: Mapped[datetime | None]

    project: Mapped[Project] = relationship()


class EvaluationRule(Created, Base):
    """A project's evaluation rule (issue 19): a stable id, a name and the process it judges.
    What it checks lives in its :class:`RuleVersion` rows, newest last. A retired rule judges
    nothing more but keeps its versions, which verdicts refer to."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    process: Mapped[str] = mapped_column(sa.String(100))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    retired_at: Mapped[datetime | None]
    retired_by: Mapped[str | None] = mapped_column(sa.String(320))

    project: Mapped[Project] = relationship()
    versions: Mapped[list[RuleVersion]] = relationship(
        back_populates="rule", order_by="RuleVersion.version", **OWNED
    )


class FrozenRuleVersion(ValueError):
    """A rule version that has judged parts cannot change; edit the rule for a new version."""


class RuleVersion(Created, Base):
    """What one version of a rule checks: ``kind`` and ``params`` (checked by
    ``pipelines.rules``), on the rule's process narrowed to ``programs`` and ``stations``
    (empty: all). Once ``judged_at`` is set the version has judged parts and never changes."""

    __tablename__ = "rule_versions"
    __table_args__ = (sa.UniqueConstraint("rule_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(parent("rules"))
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(20))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    programs: Mapped[list[str]] = mapped_column(sa.JSON())
    stations: Mapped[list[str]] = mapped_column(sa.JSON())
    created_by: Mapped[str] = mapped_column(sa.String(320))
    judged_at: Mapped[datetime | None]

    rule: Mapped[EvaluationRule] = relationship(back_populates="versions")

    @validates("kind", "params", "programs", "stations")
    def _unchanged_once_judged(self, key: str, value: Any) -> Any:
        if self.judged_at is not None:
            raise FrozenRuleVersion(
                f"Version {self.version} of this rule has judged parts and cannot change; "
                "editing the rule makes a new version."
            )
        return value


class SavedView(Created, Base):
    """A Curve Explorer state kept under a name in a project (issue 20): ``query`` is the
    explorer's URL form (``ExplorerState.to_query``), so opening a view is opening its link.
    Private views are their owner's alone; shared ones every member of the project sees. A
    removed person's views stay (``owner_id`` NULL): shared ones are the project's, which its
    admins manage."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    owner_id: Mapped[int | None] = mapped_column(parent("users", on_delete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(100))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    shared: Mapped[bool] = mapped_column(default=False)
    query: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Dashboard(Created, Base):
    """A grid of panels in a project (issue 20): saved views drawn live, KPI tiles and trends,
    each at its place on a 12-column grid (``panels``: :mod:`models.dashboards`' shape).
    Private ones are their owner's alone, shared ones every member of the project sees; a
    removed person's shared dashboards stay with the project (``owner_id`` NULL)."""

    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    owner_id: Mapped[int | None] = mapped_column(parent("users", on_delete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(100))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    shared: Mapped[bool] = mapped_column(default=False)
    panels: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReportSchedule(Created, Base):
    """A shift report mailed on a schedule (issue 20): the shifts of ``plant`` (``shifts``,
    all when empty) per ``cadence`` (models.reports.CADENCES), with the curve
    ``filters`` and ``panels`` of its definition, to ``recipients``. ``mailed_until`` is the end
    of the last period mailed (at first, when the schedule was made): the mailer resumes there."""

    __tablename__ = "report_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(parent("projects"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    plant: Mapped[str] = mapped_column(sa.String(100))
    shifts: Mapped[list[str]] = mapped_column(sa.JSON())
    cadence: Mapped[str] = mapped_column(sa.String(10))
    recipients: Mapped[list[str]] = mapped_column(sa.JSON())
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    panels: Mapped[list[str]] = mapped_column(sa.JSON())
    mailed_until: Mapped[datetime]
