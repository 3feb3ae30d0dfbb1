"""The permission matrix over real HTTP: every role × every API action.

The expected answer comes from ``models.access.LEAST_ROLE`` and ``RANK``, not from a table
here, so the matrix cannot drift from the rules: allowed → 2xx, a member below the least role →
403, not a member → 404. Refusals happen before any provider is asked for anything.

Cluster actions run on real embedded clusters: one made up front by the owner through the API
(started and stopped as each allowed case needs), and cheap ones where a real node is not the
point: a cluster whose provisioning failed (no node) to delete, and create requests for a server
cluster on a closed port (the provider refuses at once and the cluster is recorded failed).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from app.clusters.lifecycle import start_cluster, stop_cluster
from models.access import LEAST_ROLE, RANK, Action, Principal, role_in
from models.dashboards import create_dashboard
from models.saved_views import save_view
from models.tables import Cluster, ClusterEvent, ClusterStatus, Project, ProjectMember, Role
from tests.app.api.conftest import OPERATOR, PROJECT_A, ROLES, curves_csv

pytestmark = pytest.mark.integration

SIZES = {"nodes": 1, "vcpu_per_node": 4, "memory_gib_per_node": 16}


@dataclass(frozen=True)
class Ask:
    """How to ask for one action: ``{...}`` in the path and body are filled per case."""

    action: Action
    method: str
    path: str
    body: dict | None = None
    upload: bool = False
    needs: str | None = None  # what an allowed case prepares: a state or a row


ASKS = {
    "list clusters": Ask(Action.VIEW, "GET", "/api/projects/{project}/clusters"),
    "get cluster": Ask(Action.VIEW, "GET", "/api/clusters/{cluster}"),
    "create cluster": Ask(
        Action.CREATE_CLUSTER,
        "POST",
        "/api/projects/{project}/clusters",
        body={
            "name": "matrix-{role}",
            "type": "development",
            "provider": "server",
            "region": "self-managed",
            "provider_options": {"url": "http://127.0.0.1:{closed}"},
            **SIZES,
        },
    ),
    "start cluster": Ask(
        Action.OPERATE_CLUSTER, "POST", "/api/clusters/{cluster}/start", needs="stopped"
    ),
    "stop cluster": Ask(
        Action.OPERATE_CLUSTER, "POST", "/api/clusters/{cluster}/stop", needs="running"
    ),
    "resize cluster": Ask(
        Action.CREATE_CLUSTER,
        "POST",
        "/api/clusters/{cluster}/resize",
        body={**SIZES, "nodes": 2},
        needs="stopped",
    ),
    "delete cluster": Ask(Action.DELETE_CLUSTER, "DELETE", "/api/clusters/{victim}"),
    "reveal connection": Ask(
        Action.REVEAL_SECRETS, "GET", "/api/clusters/{cluster}/connection?reveal=true"
    ),
    "import data": Ask(
        Action.IMPORT_DATA, "POST", "/api/projects/{project}/datasets?name=m.csv", upload=True
    ),
    "view curves": Ask(Action.VIEW, "GET", "/api/projects/{project}/curves"),
    "view raster": Ask(
        Action.VIEW, "GET", "/api/projects/{project}/curves/raster?width=40&height=20"
    ),
    "list datasets": Ask(Action.VIEW, "GET", "/api/projects/{project}/datasets"),
    "view kpis": Ask(Action.VIEW, "GET", "/api/projects/{project}/kpis?by=station&bucket=shift"),
    "view shift report": Ask(
        Action.VIEW, "GET", "/api/projects/{project}/reports/shift?plant=P&date=2026-11-16&shift=A"
    ),
    "list report schedules": Ask(Action.VIEW, "GET", "/api/projects/{project}/reports/schedules"),
    "schedule a report": Ask(
        Action.SHARE_VIEWS,
        "POST",
        "/api/projects/{project}/reports/schedules",
        body={"name": "matrix {role}", "plant": "P", "cadence": "daily", "recipients": ["a@b.de"]},
    ),
    "export samples": Ask(
        Action.EXPORT_DATA, "GET", "/api/projects/{project}/curves/{curve}/samples"
    ),
    "list members": Ask(Action.VIEW, "GET", "/api/projects/{project}/members"),
    "add member": Ask(
        Action.MANAGE_MEMBERS,
        "POST",
        "/api/projects/{project}/members",
        body={"email": "new-{role}@plant.example", "role": "viewer"},
    ),
    "change member": Ask(
        Action.MANAGE_MEMBERS,
        "PATCH",
        "/api/projects/{project}/members/{member}",
        body={"role": "engineer"},
    ),
    "remove member": Ask(
        Action.MANAGE_MEMBERS, "DELETE", "/api/projects/{project}/members/{member}"
    ),
    "view audit": Ask(Action.VIEW_AUDIT, "GET", "/api/projects/{project}/audit"),
    "export audit": Ask(Action.VIEW_AUDIT, "GET", "/api/projects/{project}/audit?format=csv"),
    "list ingest tokens": Ask(Action.GRANT_INGEST, "GET", "/api/projects/{project}/ingest-tokens"),
    "grant ingest": Ask(
        Action.GRANT_INGEST,
        "POST",
        "/api/projects/{project}/ingest-tokens",
        body={"name": "gateway {role}"},
    ),
    "list dead letters": Ask(Action.VIEW, "GET", "/api/projects/{project}/dead-letters"),
    "list broker feeds": Ask(Action.MAP_FEEDS, "GET", "/api/projects/{project}/broker-feeds"),
    "set residency": Ask(
        Action.SET_RESIDENCY, "PATCH", "/api/projects/{project}", body={"residency": None}
    ),
    "list rules": Ask(Action.VIEW, "GET", "/api/projects/{project}/rules"),
    "write rules": Ask(
        Action.EDIT_RULES,
        "POST",
        "/api/projects/{project}/rules",
        body={
            "name": "matrix-{role}",
            "process": "press",
            "kind": "line",
            "params": {"x0": 0, "y0": 0, "x1": 1, "y1": 1},
        },
    ),
    "list views": Ask(Action.VIEW, "GET", "/api/projects/{project}/views"),
    "share a view": Ask(
        Action.SHARE_VIEWS,
        "POST",
        "/api/projects/{project}/views",
        body={"name": "matrix-{role}", "shared": True, "state": {"station": "S1"}},
    ),
    "manage views": Ask(  # someone else's shared view
        Action.MANAGE_VIEWS,
        "PATCH",
        "/api/projects/{project}/views/{view}",
        body={"name": "renamed by {role}"},
    ),
    "list dashboards": Ask(Action.VIEW, "GET", "/api/projects/{project}/dashboards"),
    "share a dashboard": Ask(
        Action.SHARE_VIEWS,
        "POST",
        "/api/projects/{project}/dashboards",
        body={
            "name": "matrix-{role}",
            "shared": True,
            "panels": [{"kind": "kpi", "metric": "parts", "x": 0, "y": 0, "w": 3, "h": 2}],
        },
    ),
    "manage dashboards": Ask(  # someone else's shared dashboard
        Action.MANAGE_VIEWS,
        "PATCH",
        "/api/projects/{project}/dashboards/{dashboard}",
        body={"name": "renamed by {role}"},
    ),
    # Allowed, it is cancelled at once (no mover runs in the test server).
    "move project": Ask(
        Action.MOVE_PROJECT,
        "POST",
        "/api/projects/{project}/move",
        body={"cluster_id": "{cluster}"},
    ),
}
# Not reachable through the API (no endpoint deletes a project).
NO_ENDPOINT = {Action.DELETE_PROJECT}


def expected(role: str, action: Action) -> int | str:
    if role == "non-member":
        return 404
    return "2xx" if RANK[Role(role)] >= RANK[LEAST_ROLE[action]] else 403


@pytest.fixture(scope="module")
def lab(world):
    """The matrix cluster: made by the owner through the API, running before the first case."""
    answer = world.call(
        "POST",
        f"/api/projects/{world.project_a}/clusters",
        json={"name": "matrix", "type": "development", "provider": "embedded", **SIZES},
    )
    assert answer.status_code == 201, answer.text
    cluster = answer.json()
    assert cluster["status"] == "provisioning"
    assert world.settle(cluster["id"], {"running", "failed"}) == "running"
    world.extra["cluster"] = cluster["id"]
    yield world
    world.clean_up()


def bring(world, cluster_id: int, state: str) -> None:
    """Move the cluster to ``running`` or ``stopped`` as the operator, waiting for the node."""
    now = world.settle(cluster_id, {"running", "stopped", "failed", "degraded"})
    if now == state:
        return
    switch = start_cluster if state == "running" else stop_cluster
    switch(store=world.store, settings=world.settings, cluster_id=cluster_id, actor=OPERATOR)
    assert world.settle(cluster_id, {state, "failed"}) == state


def failed_cluster(world, name: str) -> int:
    """A cluster whose provisioning failed: no node, no handle; deleting it asks no provider."""
    with world.store.sessions() as session:
        cluster = Cluster(
            project_id=world.project_a,
            name=name,
            type_key="development",
            provider="embedded",
            region="local",
            status=ClusterStatus.FAILED,
            provider_config={},
            **{"nodes": 1, "vcpu_per_node": 4, "memory_gib_per_node": 16},
        )
        session.add(cluster)
        session.flush()
        session.add(
            ClusterEvent(
                cluster=cluster,
                to_state=ClusterStatus.FAILED,
                action="create",
                detail="test setup",
                actor="test",
            )
        )
        session.commit()
        return cluster.id


def shared_view(world, name: str) -> int:
    """A view shared with project A by an engineer who is none of the roles tested."""
    author = world.make_user("view-author@plant.example")
    with world.store.sessions() as session:
        if role_in(session, author, world.project_a) is None:
            session.add(
                ProjectMember(project_id=world.project_a, user_id=author, role=Role.ENGINEER)
            )
            session.flush()
        view = save_view(
            session=session,
            actor=Principal("view-author@plant.example", author),
            project=session.get(Project, world.project_a),
            name=name,
            query={"project": PROJECT_A},
            shared=True,
        )
        session.commit()
        return view.id


def shared_dashboard(world, name: str) -> int:
    """A dashboard shared with project A by the engineer of :func:`shared_view` (which makes
    them one)."""
    shared_view(world, f"view of {name}")
    author = world.make_user("view-author@plant.example")
    with world.store.sessions() as session:
        board = create_dashboard(
            session=session,
            actor=Principal("view-author@plant.example", author),
            project=session.get(Project, world.project_a),
            name=name,
            shared=True,
        )
        session.commit()
        return board.id


def fill(template, values: dict):
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def clusters_named(world, name: str) -> int:
    with world.store.sessions() as session:
        return session.scalar(
            sa.select(sa.func.count()).select_from(Cluster).where(Cluster.name == name)
        )


def test_the_matrix_covers_every_action_with_an_endpoint():
    assert {ask.action for ask in ASKS.values()} == set(LEAST_ROLE) - NO_ENDPOINT


@pytest.mark.parametrize("role", [*ROLES, "non-member"])
@pytest.mark.parametrize("name", list(ASKS))
def test_matrix(lab, name, role):
    world, ask = lab, ASKS[name]
    want = expected(role, ask.action)
    who = "outsider" if role == "non-member" else role
    tag = role.replace("-", "")
    values = {
        "project": world.project_a,
        "cluster": world.extra["cluster"],
        "curve": world.curve_a,
        "role": tag,
        "closed": _closed_port(),
    }
    if "{victim}" in ask.path:
        values["victim"] = failed_cluster(world, f"victim-{tag}")
    if "{member}" in ask.path:
        email = f"{name.replace(' ', '-')}-{tag}@plant.example"
        values["member"] = world.make_user(email, world.project_a, Role.VIEWER)
    if "{view}" in ask.path:
        values["view"] = shared_view(world, f"shared for {tag}")
    if "{dashboard}" in ask.path:
        values["dashboard"] = shared_dashboard(world, f"shared for {tag}")
    if name == "add member":
        world.make_user(f"new-{tag}@plant.example")
    if want == "2xx" and ask.needs:
        bring(world, world.extra["cluster"], ask.needs)
    kwargs = {}
    if ask.body is not None:
        kwargs["json"] = fill(ask.body, values)
    if ask.upload:
        kwargs["data"] = curves_csv(f"matrix-{tag}", count=2)
        kwargs["headers"] = {"Content-Type": "text/csv"}
    answer = world.call(ask.method, fill(ask.path, values), who, **kwargs)
    if want == "2xx":
        assert 200 <= answer.status_code < 300, answer.text
        if name == "move project":
            cancelled = world.call("POST", fill("/api/projects/{project}/move/cancel", values))
            assert cancelled.status_code == 200, cancelled.text
    else:
        assert answer.status_code == want, answer.text
        assert answer.json()["error"]["code"] == {403: "forbidden", 404: "not_found"}[want]
        if name == "create cluster":  # refused before anything was recorded or provisioned
            assert clusters_named(world, f"matrix-{tag}") == 0


def test_allowed_cluster_actions_really_happened(lab):
    """After the matrix: the allowed resize changed the size, creates were recorded."""
    world = lab
    cluster = world.call("GET", f"/api/clusters/{world.extra['cluster']}").json()
    assert cluster["nodes"] == 2
    for role in ROLES:
        made = clusters_named(world, f"matrix-{role}")
        assert made == (1 if RANK[Role(role)] >= RANK[LEAST_ROLE[Action.CREATE_CLUSTER]] else 0)


def _closed_port() -> int:
    from tests.app.api.conftest import free_port

    return free_port()  # bound and released: nothing listens there
