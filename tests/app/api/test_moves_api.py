"""A project's move over real HTTP: asked for (202), shown, refused in words (409) while another
is open, outside the residency group or to where it lives already, cancelled; owners only ask,
members read, and another project's move is a 404.

The test server runs no mover, so a move stays where the use cases put it (copying): the copying
itself is tested in tests/app/homes/test_mover.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.api.errors import as_api_error
from app.clusters.lifecycle import create_cluster
from app.homes.moves import MoveRequestError
from models.tables import (
    OPEN_MOVE_STATES,
    AuditEvent,
    Cluster,
    ClusterStatus,
    MoveState,
    ProjectMove,
)
from tests.app.api.conftest import OPERATOR, PROJECT_A, hosted
from tests.app.clusters.test_lifecycle import request

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    """The API world plus a running embedded cluster ``move-dev`` of project A, and a cluster
    row ``eu-far`` in an EU region (it never provisioned: nothing to reach, nothing to delete)."""
    with hosted(tmp_path_factory, "moves") as world:
        made = create_cluster(
            store=world.store,
            settings=world.settings,
            request=request(world.project_a, name="move-dev"),
            actor=OPERATOR,
        )
        assert world.settle(made.id, {"running", "failed"}) == "running"
        with world.store.sessions() as session:
            far = Cluster(
                project_id=world.project_a,
                name="eu-far",
                type_key="development",
                provider="embedded",
                region="aws/eu-central-1",
                status=ClusterStatus.FAILED,
                provider_config={},
                nodes=1,
                vcpu_per_node=4,
                memory_gib_per_node=16,
            )
            session.add(far)
            session.commit()
            world.extra.update(cluster=made.id, far=far.id)
        try:
            yield world
        finally:
            cancel_open_moves(world)


def cancel_open_moves(world) -> None:
    """No open move outlives the tests, so the world's clean-up may delete the clusters."""
    with world.store.sessions() as session:
        for move in session.scalars(
            sa.select(ProjectMove).where(ProjectMove.state.in_(OPEN_MOVE_STATES))
        ):
            move.state = MoveState.CANCELLED
        session.commit()


def refused(answer, status: int, *words: str) -> str:
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]["message"]
    for word in words:
        assert word in message, message
    assert "Traceback" not in answer.text
    return message


def test_a_move_is_asked_for_shown_and_cancelled(moving):
    world, cluster = moving, moving.extra["cluster"]
    path = f"/api/projects/{world.project_a}/move"
    none_yet = world.call("GET", path)
    refused(none_yet, 404, f"Project {PROJECT_A} has never been moved.")

    asked = world.call("POST", path, json={"cluster_id": cluster})
    assert asked.status_code == 202, asked.text
    move = asked.json()
    assert move["state"] == "copying"  # the target runs: it starts at once
    assert (move["source"], move["target"]) == ("the built-in engine", "cluster move-dev")
    assert move["requested_by"] == world.emails["owner"]
    assert move["switched_at"] is None and move["finished_at"] is None
    assert move["percent"] == 0.0  # nothing counted yet

    shown = world.call("GET", path, "viewer")  # any member reads it
    assert shown.status_code == 200, shown.text
    assert shown.json()["id"] == move["id"]
    assert shown.json()["state"] in {"copying", "checking", "switched", "failed"}
    project = world.call("GET", f"/api/projects/{world.project_a}").json()
    assert project["move"]["id"] == move["id"]
    assert project["home"]["kind"] == "builtin"  # readers see the old home until the switch

    again = world.call("POST", path, json={"cluster_id": world.extra["far"]})
    refused(again, 409, f"Project {PROJECT_A} already has a move that is", "one move at a time")
    confirm = world.call("POST", f"{path}/confirm")
    refused(confirm, 409, "can be confirmed only when switched")

    cancelled = world.call("POST", f"{path}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    same = ("id", "source", "target", "requested_by")
    assert {k: cancelled.json()[k] for k in same} == {k: move[k] for k in same}
    assert cancelled.json()["state"] == "cancelled"
    assert world.call("GET", path).json()["state"] == "cancelled"
    refused(world.call("POST", f"{path}/cancel"), 409, "can be cancelled only when")
    with world.store.sessions() as session:
        actions = session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("project.move.%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["project.move.request", "project.move.cancel"]


def test_only_owners_ask_and_another_projects_move_is_not_found(moving):
    world, cluster = moving, moving.extra["cluster"]
    path = f"/api/projects/{world.project_a}/move"
    for role in ("admin", "engineer", "viewer"):
        asked = world.call("POST", path, role, json={"cluster_id": cluster})
        refused(asked, 403)
        assert asked.json()["error"]["code"] == "forbidden"
        for action in ("cancel", "resume", "confirm"):
            refused(world.call("POST", f"{path}/{action}", role), 403)
    # Project B is the outsider's: to project A's owner it does not exist, moved or not.
    theirs = f"/api/projects/{world.project_b}/move"
    refused(world.call("GET", theirs), 404)
    refused(world.call("POST", theirs, json={"cluster_id": None}), 404)
    refused(world.call("GET", theirs, "outsider"), 404, "has never been moved")
    # Nor may the outsider move their project onto project A's cluster.
    onto = world.call("POST", theirs, "outsider", json={"cluster_id": cluster})
    refused(onto, 404, f"No cluster {cluster}, or you are not a member of its project.")
    with world.store.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ProjectMove)) <= 1


def test_refusals_in_words(moving):
    world = moving
    made = world.call(
        "POST", "/api/projects", json={"name": "kept-local", "residency": "on-premises"}
    )
    assert made.status_code == 201, made.text
    project = made.json()["id"]
    path = f"/api/projects/{project}/move"
    far = world.call("POST", path, json={"cluster_id": world.extra["far"]})
    refused(far, 409, "On premises", "eu-far")
    here = world.call("POST", path, json={"cluster_id": None})
    refused(here, 409, "kept-local already lives on the built-in engine")
    refused(world.call("POST", path, json={"cluster_id": 999_999}), 404, "No cluster 999999")
    refused(world.call("POST", f"{path}/resume"), 409, "kept-local has no move to be resumed")
    for body in ({}, {"cluster_id": 0}, {"cluster_id": "eu-far"}, {"to": None}):
        assert world.call("POST", path, json=body).status_code == 422, body
    with world.store.sessions() as session:
        stored = session.scalars(
            sa.select(ProjectMove).where(ProjectMove.project_id == project)
        ).all()
    assert stored == []  # nothing half-made
    assert world.call("GET", f"/api/projects/{project}").json()["move"] is None


def test_a_refused_move_is_a_409_conflict():
    answer = as_api_error(MoveRequestError("Project p already has a move that is copying."))
    assert answer is not None and (answer.status, answer.code) == (409, "conflict")
