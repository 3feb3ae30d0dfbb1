"""A project's residency and home: who may set them, what residency refuses, the audit rows,
and one open move per project (the partial unique index), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import accounts
from models.access import Forbidden, NotFound, Principal
from models.placement import PlacementError, set_home, set_residency
from models.residency import ResidencyError
from models.tables import (
    AuditEvent,
    Cluster,
    ClusterStatus,
    MoveState,
    Project,
    ProjectMember,
    ProjectMove,
    ProviderKey,
    Role,
)

PASSWORD = "correct horse battery"


def cluster(project: Project, name: str, region: str, provider=ProviderKey.CLOUD) -> Cluster:
    return Cluster(
        project=project,
        name=name,
        type_key="development",
        provider=provider,
        region=region,
        nodes=1,
        vcpu_per_node=2,
        memory_gib_per_node=8,
        status=ClusterStatus.RUNNING,
    )


@pytest.fixture
def plant(sessions):
    """Project line-7 (owner Olga, admin Adam) and project infra, which owns two clusters and
    where Olga is admin and Adam only a viewer."""
    with sessions() as session:
        line = accounts.default_project(session)
        infra = Project(organisation=line.organisation, name="infra")
        session.add(infra)
        people = {}
        for name, line_role, infra_role in (
            ("olga", Role.OWNER, Role.ADMIN),
            ("adam", Role.ADMIN, Role.VIEWER),
        ):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=PASSWORD
            )
            session.add(ProjectMember(project=line, user=user, role=line_role))
            session.add(ProjectMember(project=infra, user=user, role=infra_role))
            people[name] = Principal(user.email, user.id)
        eu = cluster(infra, "eu-prod", "aws/eu-central-1")
        us = cluster(infra, "us-prod", "aws/us-east-1")
        session.add_all([infra, eu, us])
        session.commit()
        return sessions, line.id, {"eu": eu.id, "us": us.id}, people


def trail(session, action):
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_an_owner_pins_residency_and_it_is_audited(plant):
    sessions, pid, _, who = plant
    with sessions() as session:
        set_residency(session=session, actor=who["olga"], project_id=pid, group="on-premises")
        session.commit()
        assert session.get(Project, pid).residency == "on-premises"
        (row,) = trail(session, "project.residency")
        assert (row.actor, row.target_id) == ("olga@plant.example", str(pid))
        assert row.detail == {"before": None, "after": "on-premises"}


def test_only_an_owner_sets_residency(plant):
    sessions, pid, _, who = plant
    with sessions() as session:
        with pytest.raises(Forbidden, match="set residency needs owner"):
            set_residency(session=session, actor=who["adam"], project_id=pid, group="eu")
        assert trail(session, "project.residency") == []


def test_residency_the_current_home_breaks_is_refused(plant):
    sessions, pid, _, who = plant
    with sessions() as session:
        # The built-in engine is local: pinning to the EU would strand the curves already there.
        with pytest.raises(ResidencyError, match="the built-in engine runs in local, outside"):
            set_residency(session=session, actor=who["olga"], project_id=pid, group="eu")
        with pytest.raises(ResidencyError, match="No residency group 'mars'"):
            set_residency(session=session, actor=who["olga"], project_id=pid, group="mars")
        assert session.get(Project, pid).residency is None
        # A built-in engine that is a server is the plant's own too.
        set_residency(
            session=session,
            actor=who["olga"],
            project_id=pid,
            group="on-premises",
            builtin_region="self-managed",
        )


def test_a_home_inside_the_residency_group_is_set_and_audited(plant):
    sessions, pid, clusters, who = plant
    with sessions() as session:
        session.get(Project, pid).residency = "eu"  # as if pinned before
        set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=clusters["eu"])
        session.commit()
        project = session.get(Project, pid)
        assert project.home_cluster.name == "eu-prod"
        assert [p.id for p in session.get(Cluster, clusters["eu"]).homed_projects] == [pid]
        (row,) = trail(session, "project.home")
        assert row.detail == {"before": None, "after": clusters["eu"]}
        session.get(Project, pid).residency = None  # unpinned: back to the built-in engine
        set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=None)
        session.commit()
        assert session.get(Project, pid).home_cluster_id is None


def test_a_home_outside_the_residency_group_is_refused(plant):
    sessions, pid, clusters, who = plant
    with sessions() as session:
        session.get(Project, pid).residency = "eu"
        with pytest.raises(ResidencyError) as refused:
            set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=clusters["us"])
        name = session.get(Project, pid).name
        assert str(refused.value).startswith(
            f"Project {name} is pinned to EU (eu-central-1, eu-west-1, europe-west4, "
            "germanywestcentral); cluster us-prod runs in aws/us-east-1, outside it."
        )
        with pytest.raises(ResidencyError, match="the built-in engine runs in local"):
            set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=None)
        assert session.get(Project, pid).home_cluster_id is None
        assert trail(session, "project.home") == []


def test_a_home_needs_move_project_here_and_create_cluster_where_the_cluster_lives(plant):
    sessions, pid, clusters, who = plant
    with sessions() as session:
        with pytest.raises(Forbidden, match="move project needs owner"):
            set_home(session=session, actor=who["adam"], project_id=pid, cluster_id=clusters["eu"])
        # Olga owns line-7 and is admin of infra: she may. Make Olga a viewer in infra: refused.
        infra_member = session.scalar(
            sa.select(ProjectMember).where(
                ProjectMember.user_id == who["olga"].user_id, ProjectMember.project_id != pid
            )
        )
        infra_member.role = Role.VIEWER
        session.flush()
        with pytest.raises(Forbidden, match="create cluster needs admin"):
            set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=clusters["eu"])
        session.delete(infra_member)
        session.flush()
        with pytest.raises(NotFound, match=f"No cluster {clusters['eu']}"):
            set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=clusters["eu"])
        with pytest.raises(NotFound, match="No cluster 9999"):
            set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=9999)
        assert session.get(Project, pid).home_cluster_id is None


def test_no_home_on_a_cluster_going_away_or_during_a_move(plant):
    sessions, pid, clusters, who = plant
    with sessions() as session:
        session.get(Cluster, clusters["eu"]).status = ClusterStatus.DELETING
        with pytest.raises(PlacementError, match="Cluster eu-prod is deleting"):
            set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=clusters["eu"])
        session.add(
            ProjectMove(
                project_id=pid, to_cluster_id=clusters["us"], state=MoveState.COPYING,
                requested_by="olga@plant.example",
            )
        )  # fmt: skip
        session.flush()
        with pytest.raises(PlacementError, match="is being moved"):
            set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=None)


def test_one_open_move_per_project(plant):
    sessions, pid, clusters, _ = plant

    def move(state: MoveState) -> ProjectMove:
        return ProjectMove(
            project_id=pid, to_cluster_id=clusters["eu"], state=state, requested_by="olga"
        )

    with sessions() as session:
        session.add_all([move(MoveState.DONE), move(MoveState.CANCELLED), move(MoveState.FAILED)])
        session.add(move(MoveState.WAITING))
        session.commit()
        first = session.scalar(sa.select(ProjectMove).where(ProjectMove.state == "waiting"))
        assert (first.curves_done, first.checks, first.cancel_requested) == (0, {}, False)
        for state in (MoveState.COPYING, MoveState.SWITCHED, MoveState.CLEANING):
            session.add(move(state))
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()
        first = session.scalar(sa.select(ProjectMove).where(ProjectMove.state == "waiting"))
        first.state = MoveState.DONE
        session.add(move(MoveState.COPYING))
        session.commit()


def test_a_cluster_that_is_a_home_cannot_be_deleted(plant):
    sessions, pid, clusters, who = plant
    with sessions() as session:
        set_home(session=session, actor=who["olga"], project_id=pid, cluster_id=clusters["eu"])
        session.commit()
        with pytest.raises(IntegrityError):
            session.execute(sa.delete(Cluster).where(Cluster.id == clusters["eu"]))
            session.flush()
