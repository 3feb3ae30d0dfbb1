"""The metadata store's models on SQLite and PostgreSQL: round trips, constraints, cascades."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

import models.store
from models.settings import Settings
from models.store import (
    MetadataDriverError,
    current_revision,
    head_revision,
    metadata_url,
    open_metadata,
)
from models.tables import (
    AuditEvent,
    Cluster,
    ClusterEvent,
    ClusterStatus,
    Organisation,
    Project,
    ProjectMember,
    ProviderKey,
    Role,
    Team,
    TeamMember,
    User,
)


def cluster(name: str = "line3-dev", **changes: object) -> Cluster:
    values = {
        "name": name,
        "type_key": "development",
        "provider": ProviderKey.EMBEDDED,
        "nodes": 1,
        "vcpu_per_node": 4,
        "memory_gib_per_node": 16,
    }
    return Cluster(**{**values, **changes})


def created(**changes: object) -> ClusterEvent:
    values = {"to_state": ClusterStatus.PROVISIONING, "action": "create", "actor": "ana"}
    return ClusterEvent(**{**values, **changes})


def plant(session: Session) -> Organisation:
    """One organisation with a team, a project and a user who is in both."""
    ana = User(email="Ana@Plant.example ", display_name="Ana Ortiz")
    organisation = Organisation(name="Plant A")
    team = Team(name="Quality", organisation=organisation)
    team.members.append(TeamMember(user=ana, role=Role.ADMIN))
    project = Project(name="Press line 3", organisation=organisation)
    project.members += [
        ProjectMember(user=ana, role=Role.OWNER),
        ProjectMember(team=team, role=Role.ENGINEER),
    ]
    session.add(organisation)
    session.commit()
    return organisation


def test_every_model_round_trips(sessions):
    at = datetime(2026, 1, 5, 7, 30, tzinfo=timezone(timedelta(hours=1)))
    with sessions() as session:
        organisation = plant(session)
        project = organisation.projects[0]
        line = cluster(region="eu-central-1", provider_config={"database": "l3"})
        line.events.append(created(at=at))
        project.clusters.append(line)
        session.add(
            AuditEvent(
                actor="ana@plant.example",
                action="cluster.create",
                target_type="cluster",
                target_id="1",
                detail={"type": "development"},
                ip="2001:db8::7",
            )
        )
        session.commit()

    with sessions() as session:
        ana = session.scalars(sa.select(User)).one()
        assert ana.email == "ana@plant.example"
        assert ana.password_hash is None
        assert ana.created_at.tzinfo is UTC
        [membership] = ana.team_memberships
        assert (membership.team.name, membership.role) == ("Quality", Role.ADMIN)
        project = session.scalars(sa.select(Project)).one()
        assert project.organisation.name == "Plant A"
        grants = {
            (m.user and m.user.email, m.team and m.team.name, m.role) for m in project.members
        }
        assert grants == {
            ("ana@plant.example", None, Role.OWNER),
            (None, "Quality", Role.ENGINEER),
        }
        [line] = project.clusters
        assert (line.provider, line.region, line.status) == (
            ProviderKey.EMBEDDED,
            "eu-central-1",
            ClusterStatus.PROVISIONING,
        )
        assert (line.memory_gib_per_node, line.provider_config) == (16, {"database": "l3"})
        [event] = line.events
        assert (event.from_state, event.to_state, event.detail) == (
            None,
            ClusterStatus.PROVISIONING,
            "",
        )
        assert event.at == at and event.at.tzinfo is UTC and event.at.hour == 6
        audit = session.scalars(sa.select(AuditEvent)).one()
        assert (audit.detail, audit.ip, audit.at.tzinfo) == (
            {"type": "development"},
            "2001:db8::7",
            UTC,
        )


def test_changes_to_a_cluster_are_saved_and_stamped(sessions):
    with sessions() as session:
        project = plant(session).projects[0]
        project.clusters.append(cluster(provider_config={"database": "l3"}))
        session.commit()
        line = project.clusters[0]
        created = line.updated_at
        line.provider_config["url"] = "http://localhost:8123"
        line.status = ClusterStatus.RUNNING
        session.commit()
    with sessions() as session:
        line = session.scalars(sa.select(Cluster)).one()
        assert line.provider_config == {"database": "l3", "url": "http://localhost:8123"}
        assert line.status is ClusterStatus.RUNNING
        assert line.updated_at > created


def test_naive_timestamps_are_refused(sessions):
    with sessions() as session:
        session.add(Organisation(name="Plant A", created_at=datetime(2026, 1, 5, 6, 0)))
        with pytest.raises(StatementError, match="has no timezone"):
            session.commit()


def test_emails_are_one_account_whatever_their_case(sessions):
    with sessions() as session:
        session.add_all(
            [
                User(email="ana@plant.example", display_name="Ana"),
                User(email=" Ana@Plant.example", display_name="Ana again"),
            ]
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_names_are_unique_where_they_must_be(sessions):
    with sessions() as session:
        plant(session)
        other = Organisation(name="Plant B", projects=[Project(name="Press line 3")])
        session.add(other)
        session.commit()  # the same project name in another organisation is fine
    for duplicate in (
        lambda s: Organisation(name="Plant A"),
        lambda s: Project(name="Press line 3", organisation=s.get(Organisation, 1)),
        lambda s: Team(name="Quality", organisation=s.get(Organisation, 1)),
    ):
        with sessions() as session:
            session.add(duplicate(session))
            with pytest.raises(IntegrityError):
                session.commit()


def test_live_cluster_names_are_unique_per_project(sessions):
    with sessions() as session:
        project = plant(session).projects[0]
        project.clusters.append(cluster(status=ClusterStatus.DELETED))
        project.clusters.append(cluster())  # reuses a deleted cluster's name
        session.commit()
        project.clusters.append(cluster())
        with pytest.raises(IntegrityError):
            session.commit()


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("team_members", "role", "superuser"),
        ("clusters", "status", "booting"),
        ("clusters", "provider", "aws"),
        ("clusters", "nodes", 0),
        ("clusters", "memory_gib_per_node", 0),
        ("cluster_events", "to_state", "ready"),
    ],
)
def test_database_refuses_values_outside_the_vocabulary(sessions, table, column, value):
    with sessions() as session:
        project = plant(session).projects[0]
        project.clusters.append(cluster(events=[created()]))
        session.commit()
        with pytest.raises(IntegrityError):
            session.execute(sa.text(f"UPDATE {table} SET {column} = :v"), {"v": value})


@pytest.mark.parametrize("grantees", [{}, {"user_id": 1, "team_id": 1}], ids=["none", "both"])
def test_a_project_grant_has_exactly_one_grantee(sessions, grantees):
    with sessions() as session:
        plant(session)
        session.add(ProjectMember(project_id=1, role=Role.VIEWER, **grantees))
        with pytest.raises(IntegrityError):
            session.commit()


def count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_deleting_an_organisation_takes_what_it_owns(sessions, how):
    with sessions() as session:
        organisation = plant(session)
        session.add(AuditEvent(actor="a", action="x", target_type="organisation", target_id="1"))
        session.commit()
        if how == "orm":
            session.delete(organisation)
        else:
            session.execute(sa.delete(Organisation))
        session.commit()
        gone = (Organisation, Team, TeamMember, Project, ProjectMember)
        assert [count(session, model) for model in gone] == [0] * len(gone)
        assert count(session, User) == 1 and count(session, AuditEvent) == 1


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_deleting_a_user_removes_their_memberships(sessions, how):
    with sessions() as session:
        ana = plant(session).projects[0].members[0].user
        if how == "orm":
            session.delete(ana)
        else:
            session.execute(sa.delete(User))
        session.commit()
        assert count(session, TeamMember) == 0
        assert [m.team.name for m in session.scalars(sa.select(ProjectMember))] == ["Quality"]


def test_deleting_a_cluster_removes_its_events(sessions):
    with sessions() as session:
        project = plant(session).projects[0]
        line = cluster(events=[created()])
        project.clusters.append(line)
        session.commit()
        session.delete(line)
        session.commit()
        assert count(session, ClusterEvent) == 0


@pytest.mark.parametrize("how", ["orm", "sql"])
def test_a_project_with_clusters_cannot_be_deleted(sessions, how):
    with sessions() as session:
        project = plant(session).projects[0]
        project.clusters.append(cluster(status=ClusterStatus.DELETED))
        session.commit()
        if how == "orm":
            session.delete(project)
            with pytest.raises(IntegrityError):
                session.commit()
        else:
            with pytest.raises(IntegrityError):
                session.execute(sa.delete(Project))


def test_open_metadata_uses_the_configured_url(metadata_url, tmp_path):
    url = sa.make_url(metadata_url).render_as_string(hide_password=False)
    with open_metadata(Settings(home=tmp_path / "home", database_url=url)) as store:
        assert current_revision(store.engine) == head_revision()
        with store.sessions() as session:
            plant(session)
        with store.sessions() as session:
            assert session.scalars(sa.select(Organisation.name)).all() == ["Plant A"]
    assert (tmp_path / "home").is_dir()


def test_default_store_lands_under_curvehouse_home(tmp_path):
    settings = Settings.from_env({"CURVEHOUSE_HOME": str(tmp_path / "home")})
    with open_metadata(settings) as store:
        assert store.engine.url.database == str(tmp_path / "home" / "curvehouse.db")
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (tmp_path / "home" / "curvehouse.db").is_file()
    with open_metadata(settings) as store:  # the next start finds it current
        assert current_revision(store.engine) == head_revision()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@db/curvehouse", "postgresql+psycopg"),
        ("postgres://u@db/curvehouse", "postgresql+psycopg"),
        ("postgresql+psycopg://u@db/curvehouse", "postgresql+psycopg"),
        ("sqlite:////var/curvehouse.db", "sqlite"),
    ],
)
def test_postgres_urls_use_psycopg(given, expected):
    assert metadata_url(given).drivername == expected


def test_missing_driver_names_the_package_and_hides_the_password(monkeypatch):
    monkeypatch.setattr(models.store, "find_spec", lambda name: None)
    with pytest.raises(MetadataDriverError, match=r"pip install 'psycopg\[binary\]'") as missing:
        metadata_url("postgresql://plant:s3cret@db/curvehouse")
    assert "s3cret" not in str(missing.value)
