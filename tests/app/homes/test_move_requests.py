"""What a person may ask of a project's move, refused in words where the rules say no, and each
ask in the audit trail (no data is copied here: see test_mover.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.homes.moves import MoveRequestError, act_on_move, request_move
from models import accounts
from models.access import Forbidden, NotFound, Principal
from models.move_states import MoveAction
from models.settings import Settings
from models.store import open_metadata
from models.tables import (
    AuditEvent,
    ClusterStatus,
    Project,
    ProjectMember,
    ProjectMove,
    Role,
)
from pipelines.homes import Homes
from tests.models.test_placement import PASSWORD, cluster


@pytest.fixture
def plant(tmp_path):
    """Project line-7 (owner Olga, admin Adam) and project infra owning clusters eu-prod,
    us-prod (Cloud) and line-dev (embedded, stopped), where Olga is admin."""
    settings = Settings(home=tmp_path)
    store = open_metadata(settings)
    with store.sessions() as session:
        line = accounts.default_project(session)
        infra = Project(organisation=line.organisation, name="infra")
        session.add(infra)
        people = {}
        for name, line_role in (("olga", Role.OWNER), ("adam", Role.ADMIN)):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=PASSWORD
            )
            session.add(ProjectMember(project=line, user=user, role=line_role))
            session.add(ProjectMember(project=infra, user=user, role=Role.ADMIN))
            people[name] = Principal(user.email, user.id)
        eu = cluster(infra, "eu-prod", "aws/eu-central-1")
        dev = cluster(infra, "line-dev", "local")
        dev.status = ClusterStatus.STOPPED
        session.add_all([infra, eu, dev])
        session.commit()
        ids = {"eu": eu.id, "dev": dev.id, "line": line.id, "name": line.name}
    homes = Homes(settings, store, builtin=lambda: None)
    yield store, homes, ids, people
    store.close()


def ask(plant, who: str, to: int | None):
    store, homes, ids, people = plant
    return request_move(
        store=store, homes=homes, actor=people[who], project_id=ids["line"], to_cluster_id=to
    )


def trail(store, action: str) -> list[AuditEvent]:
    with store.sessions() as session:
        return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_move_to_a_stopped_cluster_waits_and_one_move_at_a_time(plant):
    store, _homes, ids, who = plant
    move = ask(plant, "olga", ids["dev"])
    assert (move.state, move.source, move.target) == (
        "waiting",
        "the built-in engine",
        "cluster line-dev",
    )
    (row,) = trail(store, "project.move.request")
    assert row.detail["target"] == "cluster line-dev" and row.actor == "olga@plant.example"
    with pytest.raises(MoveRequestError, match="already has a move that is waiting"):
        ask(plant, "olga", ids["eu"])
    cancelled = act_on_move(
        store=store, actor=who["olga"], project_id=ids["line"], action=MoveAction.CANCEL
    )
    assert cancelled.state == "cancelled"
    assert len(trail(store, "project.move.cancel")) == 1
    with pytest.raises(MoveRequestError, match="can be confirmed only when switched"):
        act_on_move(
            store=store, actor=who["olga"], project_id=ids["line"], action=MoveAction.CONFIRM
        )


def test_a_running_target_starts_copying_and_residency_refuses_in_words(plant):
    store, _homes, ids, _who = plant
    with store.sessions() as session:
        session.get(Project, ids["line"]).residency = "on-premises"
        session.commit()
    with pytest.raises(ValueError, match=r"pinned to On premises.*eu-prod"):
        ask(plant, "olga", ids["eu"])
    with store.sessions() as session:
        session.get(Project, ids["line"]).residency = "eu"
        session.commit()
    move = ask(plant, "olga", ids["eu"])
    assert move.state == "copying"


def test_who_may_ask(plant):
    store, _homes, ids, who = plant
    with pytest.raises(Forbidden, match="needs owner"):
        ask(plant, "adam", ids["eu"])
    with store.sessions() as session:
        infra = session.scalar(sa.select(Project).where(Project.name == "infra"))
        for member in infra.members:
            if member.user_id == who["olga"].user_id:
                member.role = Role.VIEWER
        session.commit()
    with pytest.raises(Forbidden):
        ask(plant, "olga", ids["eu"])
    with pytest.raises(NotFound):
        ask(plant, "olga", 9999)
    with pytest.raises(MoveRequestError, match="already lives on the built-in engine"):
        ask(plant, "olga", None)
    with store.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProjectMove)) == 0
