"""Clusters of a project: list, create, start, stop, resize, delete, connect; and cost estimates.

The use cases in :mod:`app.clusters.lifecycle` do the work and check ``require`` themselves.
This module checks first as well, with the permission the state machine's table names
(``models/cluster_states.py``), so a refusal (404 or 403) comes before any validation of sizes or
regions, and never after a provider was asked for anything. A state that does not allow the
action is refused by the use case, through the same table (409).

A cluster's ``provider_config`` (a server URL with its password, a node's password) is never
part of an answer; ``GET /api/clusters/{id}/connection?reveal=true`` is the one way to a
password, and it needs ``reveal_secrets``.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.api.errors import ApiError, conflict, invalid, not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import (
    ClusterCreate,
    ClusterOut,
    ClusterQuery,
    ConnectionOut,
    ConnectionQuery,
    CostOut,
    CostRequest,
    Page,
    Size,
)
from app.api.scope import cluster_in, page_of, project_in
from app.clusters import lifecycle
from models.access import Action, require
from models.audit import audit
from models.cluster_states import TRANSITIONS, ClusterAction
from models.cluster_types import ClusterSpec, validate_cluster_spec
from models.pricing import Usage, estimate_monthly_cost
from models.tables import Cluster, ClusterStatus, ProviderKey
from providers.clusters.configured import provider_for, provider_of
from providers.errors import ProviderError
from providers.server_guard import HostNotAllowed

TAG = "clusters"
MASK = "********"
# The permission of each cluster action, from the state machine's table.
NEEDS = {action: move.needs for action, move in TRANSITIONS.items()}


def cluster_out(cluster: Cluster) -> ClusterOut:
    return ClusterOut(
        id=cluster.id,
        project_id=cluster.project_id,
        name=cluster.name,
        type=cluster.type_key,
        provider=cluster.provider,
        region=cluster.region,
        nodes=cluster.nodes,
        vcpu_per_node=cluster.vcpu_per_node,
        memory_gib_per_node=cluster.memory_gib_per_node,
        status=cluster.status,
        created_at=cluster.created_at,
        updated_at=cluster.updated_at,
    )


def _check_size(spec: ClusterSpec) -> None:
    errors = validate_cluster_spec(spec)
    if errors:
        raise invalid(" ".join(errors))


@API.route(
    "GET",
    "/api/projects/{project_id}/clusters",
    "Clusters of a project",
    query=ClusterQuery,
    response=Page[ClusterOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_clusters(call: Call) -> Page[ClusterOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        query = sa.select(Cluster).where(Cluster.project_id == project.id)
        if not call.query.include_deleted:
            query = query.where(Cluster.status != ClusterStatus.DELETED)
        query = query.order_by(Cluster.name, Cluster.id)
        return page_of(session, query, call.query, cluster_out)


@API.route(
    "POST",
    "/api/projects/{project_id}/clusters",
    "Create a cluster; it is provisioning until its provider sees it run",
    body=ClusterCreate,
    response=ClusterOut,
    status=201,
    errors=(403, 409),
    permission=NEEDS[ClusterAction.CREATE],
    tag=TAG,
)
def create_cluster(call: Call) -> ClusterOut:
    body: ClusterCreate = call.body
    project_id = call.path["project_id"]
    with call.store.sessions() as session:
        project_in(session, call, project_id, NEEDS[ClusterAction.CREATE])
    spec = body.spec(body.type)
    _check_size(spec)
    options = None
    if body.provider == ProviderKey.SERVER:
        if body.provider_options is None:
            raise invalid("A server cluster needs provider_options.url, the server's address.")
        options = body.provider_options.model_dump(exclude_none=True)
    try:
        provider_of(call.settings, body.provider, options).check_region(body.region)
    except HostNotAllowed as exc:  # the installation's decision, not a mistake in the request
        raise ApiError(403, str(exc)) from None
    except (ValueError, ProviderError) as exc:
        raise invalid(str(exc)) from None
    request = lifecycle.NewCluster(
        project_id=project_id,
        name=body.name,
        provider=str(body.provider),
        region=body.region,
        size=spec,
        provider_options=options,
    )
    cluster = lifecycle.create_cluster(
        store=call.store, settings=call.settings, request=request, actor=call.who
    )
    return cluster_out(cluster)


@API.route(
    "GET",
    "/api/clusters/{cluster_id}",
    "One cluster",
    response=ClusterOut,
    permission=Action.VIEW,
    tag=TAG,
)
def get_cluster(call: Call) -> ClusterOut:
    with call.store.sessions() as session:
        return cluster_out(cluster_in(session, call, call.path["cluster_id"], Action.VIEW))


def _act(call: Call, action: ClusterAction, **extra) -> ClusterOut:
    """Check as the use case will, then run it: start, stop, resize or delete."""
    cluster_id = call.path["cluster_id"]
    with call.store.sessions() as session:
        cluster = cluster_in(session, call, cluster_id, NEEDS[action])
        if cluster.status is ClusterStatus.DELETED:
            raise not_found(f"Cluster {cluster_id} was deleted.")
        type_key = cluster.type_key
    if action == ClusterAction.RESIZE:
        extra["size"] = call.body.spec(type_key)
        _check_size(extra["size"])
    cluster = lifecycle.USE_CASES[action](
        store=call.store, settings=call.settings, cluster_id=cluster_id, actor=call.who, **extra
    )
    return cluster_out(cluster)


@API.route(
    "POST",
    "/api/clusters/{cluster_id}/start",
    "Start a stopped cluster",
    response=ClusterOut,
    status=202,
    errors=(403, 409),
    permission=NEEDS[ClusterAction.START],
    tag=TAG,
)
def start_cluster(call: Call) -> ClusterOut:
    return _act(call, ClusterAction.START)


@API.route(
    "POST",
    "/api/clusters/{cluster_id}/stop",
    "Stop a running cluster",
    response=ClusterOut,
    status=202,
    errors=(403, 409),
    permission=NEEDS[ClusterAction.STOP],
    tag=TAG,
)
def stop_cluster(call: Call) -> ClusterOut:
    return _act(call, ClusterAction.STOP)


@API.route(
    "POST",
    "/api/clusters/{cluster_id}/resize",
    "New sizes within the cluster's type; a running cluster restarts with them",
    body=Size,
    response=ClusterOut,
    status=202,
    errors=(403, 409),
    permission=NEEDS[ClusterAction.RESIZE],
    tag=TAG,
)
def resize_cluster(call: Call) -> ClusterOut:
    return _act(call, ClusterAction.RESIZE)


@API.route(
    "DELETE",
    "/api/clusters/{cluster_id}",
    "Delete a cluster and its data",
    response=ClusterOut,
    status=202,
    errors=(403, 409),
    permission=NEEDS[ClusterAction.DELETE],
    tag=TAG,
)
def delete_cluster(call: Call) -> ClusterOut:
    return _act(call, ClusterAction.DELETE)


@API.route(
    "GET",
    "/api/clusters/{cluster_id}/connection",
    "How to connect; the password only with reveal=true (needs reveal_secrets)",
    query=ConnectionQuery,
    response=ConnectionOut,
    errors=(403, 409),
    permission=Action.VIEW,
    tag=TAG,
)
def get_connection(call: Call) -> ConnectionOut:
    reveal = call.query.reveal
    with call.store.sessions() as session:
        cluster = cluster_in(session, call, call.path["cluster_id"], Action.VIEW)
        if reveal:
            require(session, call.who, cluster.project_id, Action.REVEAL_SECRETS)
        handle = cluster.provider_config.get("handle")
        if handle is None or cluster.status is ClusterStatus.DELETED:
            raise conflict(f"Cluster {cluster.name} is {cluster.status}: it has no connection.")
        try:
            connection = provider_for(call.settings, cluster).connection(handle)
        except (ValueError, ProviderError, OSError) as exc:
            raise conflict(f"Cannot read {cluster.name}'s connection: {exc}") from None
        if reveal:
            audit(
                session,
                call.who.label,
                "cluster.reveal",
                "cluster",
                cluster.id,
                ip=call.ip,
                name=cluster.name,
            )
            session.commit()
    return ConnectionOut(
        host=connection.host,
        port=connection.port,
        username=connection.username,
        password=connection.password if reveal else MASK,
        database=connection.database,
        secure=connection.secure,
        cluster=connection.cluster,
        url=connection.url(reveal=reveal),
        revealed=reveal,
    )


@API.route(
    "POST",
    "/api/cost-estimate",
    "Monthly list-price estimate of a ClickHouse Cloud cluster (no project needed)",
    body=CostRequest,
    response=CostOut,
    tag=TAG,
)
def cost_estimate(call: Call) -> CostOut:
    body: CostRequest = call.body
    if body.type is not None:
        _check_size(body.spec(body.type))
    usage = Usage(**body.model_dump(exclude={"type"}))
    estimate = estimate_monthly_cost(usage)
    return CostOut(
        currency=estimate.currency,
        lines=list(estimate.lines),
        total=estimate.total,
        assumptions=list(estimate.assumptions),
    )
