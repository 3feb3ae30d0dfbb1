"""Cluster lifecycle: actions ask a provider for a change; observations move the state.

Every use case is a keyword-only function over the metadata store. An action (create, retry,
start, stop, resize, delete) records the transitional state it asked for (``provisioning``,
``starting``, ``stopping``, ``deleting``) with an event; :func:`poll` then records what the
provider observes. Nothing advances because time passed. The state lives in the metadata store,
so a restarted server's poller picks up where the last one stopped. Which action may start from
which state, the state it asks for and the permission it needs are one table,
``models/cluster_states.py``, which the dashboard and the REST API read too.

Unlike the use cases in ``models/`` (``grant_team(*, session, actor, ...)``, committed by their
caller), these take the ``store`` and own their transactions: create and retry commit the request
before they ask the provider, so it is on record whatever the provider does, and record its
answer in a second commit; :func:`poll` commits each cluster's observation on its own.

A provisioning cluster becomes ``running`` only once its provider sees it answer *and* the curve
schema is in its database. A provisioning that fails is cleaned up through the provider before
the cluster is marked ``failed``: no half-made database stays behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from models.access import Principal, require
from models.audit import audit
from models.cluster_states import LIVE, ON_THE_WAY, TRANSITIONS, ClusterAction, Standing
from models.cluster_types import ClusterSpec as Size
from models.cluster_types import check_cluster_spec
from models.tables import (
    OPEN_MOVE_STATES,
    Cluster,
    ClusterEvent,
    ClusterStatus,
    Project,
    ProjectMove,
    ProviderKey,
)
from pipelines.schema import ensure_schema
from providers.clusters import ClusterProvider, Deployment, Observation
from providers.clusters.configured import provider_for, provider_of
from providers.errors import ProviderError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from models.settings import Settings
    from models.store import MetadataStore

NAME = re.compile(r"^[a-z][a-z0-9-]{2,39}$")
POLLER = Principal("poller")


class ClusterRequestError(ValueError):
    """A request the lifecycle refuses, with a message for the person who made it."""


@dataclass(frozen=True)
class NewCluster:
    """What the wizard collected."""

    project_id: int
    name: str
    provider: str
    region: str
    size: Size
    provider_options: dict[str, Any] | None = None  # e.g. a server's URL
    ip_access: tuple[str, ...] = ("127.0.0.1/32",)  # who may connect (cloud)


def _spec(cluster: Cluster) -> Deployment:
    return Deployment(
        name=cluster.name,
        region=cluster.region or "",
        size=Size(
            cluster.type_key, cluster.nodes, cluster.vcpu_per_node, cluster.memory_gib_per_node
        ),
        ip_access=tuple(cluster.provider_config.get("ip_access", ("127.0.0.1/32",))),
    )


def _record(
    session: Session,
    cluster: Cluster,
    to: ClusterStatus,
    action: str,
    actor: Principal,
    detail: str,
    *,
    new: bool = False,
) -> None:
    session.add(
        ClusterEvent(
            cluster=cluster,
            from_state=None if new else cluster.status,
            to_state=to,
            action=action,
            detail=detail[:2000],
            actor=str(actor),
        )
    )
    cluster.status = to


def create_cluster(
    *, store: MetadataStore, settings: Settings, request: NewCluster, actor: Principal
) -> Cluster:
    """Validate, record ``provisioning`` and ask the provider; a refused request leaves no row."""
    create = TRANSITIONS[ClusterAction.CREATE]
    with store.sessions() as session:
        require(session, actor, request.project_id, create.needs)
    if not NAME.fullmatch(request.name):  # "$" alone lets a final line break through
        raise ClusterRequestError(
            "A cluster name has 3-40 characters: lower-case letters, digits and hyphens, "
            f"starting with a letter; got {request.name!r}."
        )
    try:
        check_cluster_spec(request.size)
        provider = provider_of(settings, request.provider, request.provider_options)
        provider.check_region(request.region)
    except (ValueError, ProviderError) as exc:
        raise ClusterRequestError(str(exc)) from exc
    with store.sessions() as session:
        taken = session.scalar(
            sa.select(sa.func.count())
            .select_from(Cluster)
            .where(
                Cluster.project_id == request.project_id,
                Cluster.name == request.name,
                Cluster.status != ClusterStatus.DELETED,
            )
        )
        if taken:
            raise ClusterRequestError(f"This project already has a cluster named {request.name!r}.")
        cluster = Cluster(
            project_id=request.project_id,
            name=request.name,
            type_key=request.size.type_key,
            provider=ProviderKey(request.provider),
            region=request.region,
            nodes=request.size.nodes,
            vcpu_per_node=request.size.vcpu_per_node,
            memory_gib_per_node=request.size.memory_gib_per_node,
            status=create.target(None),
            provider_config={
                "options": request.provider_options or {},
                "ip_access": list(request.ip_access),
            },
        )
        session.add(cluster)
        session.flush()  # the id names the deployment
        _record(session, cluster, cluster.status, create.action, actor, "requested", new=True)
        audit(
            session,
            actor.label,
            "cluster.create",
            "cluster",
            cluster.id,
            name=cluster.name,
            provider=request.provider,
            region=request.region,
            type=request.size.type_key,
        )
        session.commit()
        _provision(session, cluster, provider, "create", actor)
        return cluster


def _provision(
    session: Session, cluster: Cluster, provider: ClusterProvider, action: str, actor: Principal
) -> None:
    """Ask the provider for the deployment; a refusal is cleaned up and recorded as failed."""
    key = f"c{cluster.id}"
    try:
        handle = provider.create(key, _spec(cluster))
    except Exception as exc:
        left = _clean_up(provider, {"key": key})
        _record(session, cluster, ClusterStatus.FAILED, action, actor, provider.failure(exc) + left)
        session.commit()
        return
    cluster.provider_config = {**cluster.provider_config, "handle": handle}
    session.commit()


def standing(session: Session, cluster: Cluster) -> Standing:
    """Where the cluster stands for the state machine (``models/cluster_states.py``): its
    state, and whether it failed before it ever ran (then Retry, not Start, is its remedy)."""
    if cluster.status is not ClusterStatus.FAILED:
        return Standing(cluster.status)
    ran = session.scalar(
        sa.select(sa.func.count())
        .select_from(ClusterEvent)
        .where(
            ClusterEvent.cluster_id == cluster.id, ClusterEvent.to_state == ClusterStatus.RUNNING
        )
    )
    return Standing(cluster.status, provisioning_failed=not ran)


def retry_cluster(
    *, store: MetadataStore, settings: Settings, cluster_id: int, actor: Principal
) -> Cluster:
    """Provision a cluster whose provisioning failed once more, under the same key.

    What the failed attempt made was removed when it failed, and providers' create is
    idempotent, so a retry never makes a second deployment.
    """
    retry = TRANSITIONS[ClusterAction.RETRY]
    with store.sessions() as session:
        cluster = _allowed(session, cluster_id, actor, ClusterAction.RETRY)
        try:
            provider = provider_for(settings, cluster)
        except (ValueError, ProviderError) as exc:
            raise ClusterRequestError(f"Could not retry {cluster.name}: {exc}") from exc
        _record(session, cluster, retry.target(cluster.status), retry.action, actor, "requested")
        audit(
            session,
            actor.label,
            f"cluster.{retry.action}",
            "cluster",
            cluster.id,
            name=cluster.name,
        )
        session.commit()
        _provision(session, cluster, provider, retry.action, actor)
        return cluster


def _clean_up(provider: ClusterProvider, handle: dict[str, Any]) -> str:
    """Remove what a failed provisioning made; returns what is left to say about it."""
    try:
        provider.delete(handle)
    except Exception as exc:
        return f"; removing what was made also failed, remove it by hand: {provider.failure(exc)}"
    return "; nothing of it was kept"


def _allowed(session: Session, cluster_id: int, actor: Principal, action: ClusterAction) -> Cluster:
    """The cluster, once the actor's role and the cluster's state allow ``action``
    (``models/cluster_states.py``); refused otherwise, the role checked first."""
    cluster = session.get(Cluster, cluster_id)
    if cluster is None or cluster.status is ClusterStatus.DELETED:
        raise ClusterRequestError(f"There is no cluster {cluster_id}.")
    move = TRANSITIONS[action]
    require(session, actor, cluster.project_id, move.needs)
    refused = move.refusal(cluster.name, standing(session, cluster))
    if refused:
        raise ClusterRequestError(refused)
    return cluster


def _act(
    *,
    store: MetadataStore,
    settings: Settings,
    cluster_id: int,
    actor: Principal,
    action: ClusterAction,
    call,
) -> Cluster:
    """Check the cluster may take ``action``, ask its provider, and record the state the
    action asks for (resizing a stopped cluster keeps it stopped)."""
    with store.sessions() as session:
        cluster = _allowed(session, cluster_id, actor, action)
        to = TRANSITIONS[action].target(cluster.status)
        handle = cluster.provider_config.get("handle")
        try:
            provider = provider_for(settings, cluster)
            result = call(provider, handle, cluster)
        except ProviderError as exc:
            raise ClusterRequestError(f"Could not {action} {cluster.name}: {exc}") from exc
        if isinstance(result, dict):
            cluster.provider_config = {**cluster.provider_config, "handle": result}
        _record(session, cluster, to, action, actor, "requested")
        audit(session, actor.label, f"cluster.{action}", "cluster", cluster.id, name=cluster.name)
        session.commit()
        return cluster


def start_cluster(
    *, store: MetadataStore, settings: Settings, cluster_id: int, actor: Principal
) -> Cluster:
    return _switch(
        ClusterAction.START, store=store, settings=settings, cluster_id=cluster_id, actor=actor
    )


def stop_cluster(
    *, store: MetadataStore, settings: Settings, cluster_id: int, actor: Principal
) -> Cluster:
    return _switch(
        ClusterAction.STOP, store=store, settings=settings, cluster_id=cluster_id, actor=actor
    )


def _switch(action: ClusterAction, **common: Any) -> Cluster:
    return _act(
        **common,
        action=action,
        call=lambda provider, handle, _cluster: getattr(provider, action)(handle),
    )


def resize_cluster(
    *, store: MetadataStore, settings: Settings, cluster_id: int, size: Size, actor: Principal
) -> Cluster:
    """New sizes within the cluster's type; a running cluster restarts with them."""
    try:
        check_cluster_spec(size)
    except ValueError as exc:
        raise ClusterRequestError(str(exc)) from exc

    def call(provider: ClusterProvider, handle: dict, cluster: Cluster):
        if size.type_key != cluster.type_key:
            raise ClusterRequestError("Resizing keeps the cluster's type.")
        cluster.nodes = size.nodes
        cluster.vcpu_per_node = size.vcpu_per_node
        cluster.memory_gib_per_node = size.memory_gib_per_node
        return provider.resize(handle, _spec(cluster))

    return _act(
        store=store,
        settings=settings,
        cluster_id=cluster_id,
        actor=actor,
        action=ClusterAction.RESIZE,
        call=call,
    )


def delete_cluster(
    *, store: MetadataStore, settings: Settings, cluster_id: int, actor: Principal
) -> Cluster:
    def call(provider: ClusterProvider, handle: dict | None, cluster: Cluster) -> None:
        held = sorted(p.name for p in cluster.homed_projects)
        if held:  # deleting it would delete their curves
            raise ClusterRequestError(
                f"Cluster {cluster.name} holds the curves of {', '.join(held)}; move "
                f"{'that project' if len(held) == 1 else 'those projects'} to another home "
                "first."
            )
        moving = _moves_into(cluster)
        if moving:
            raise ClusterRequestError(
                f"Project {moving} is being moved onto cluster {cluster.name}; cancel that "
                "move first."
            )
        if handle is not None:  # without one, the provider never made anything
            provider.delete(handle)

    return _act(
        store=store,
        settings=settings,
        cluster_id=cluster_id,
        actor=actor,
        action=ClusterAction.DELETE,
        call=call,
    )


def _moves_into(cluster: Cluster) -> str:
    """The names of projects with an open move onto ``cluster``, for a refusal."""
    from sqlalchemy.orm import object_session

    session = object_session(cluster)
    names = session.scalars(
        sa.select(Project.name)
        .join(ProjectMove, ProjectMove.project_id == Project.id)
        .where(ProjectMove.to_cluster_id == cluster.id, ProjectMove.state.in_(OPEN_MOVE_STATES))
    ).all()
    return ", ".join(sorted(names))


# The use case of each action on an existing cluster (resize takes a ``size`` as well).
USE_CASES = {
    ClusterAction.RETRY: retry_cluster,
    ClusterAction.START: start_cluster,
    ClusterAction.STOP: stop_cluster,
    ClusterAction.RESIZE: resize_cluster,
    ClusterAction.DELETE: delete_cluster,
}


def poll(*, store: MetadataStore, settings: Settings) -> list[tuple[int, str, str]]:
    """Observe every live cluster once and record what changed: ``(id, from, to)`` each."""
    changes = []
    with store.sessions() as session:
        clusters = session.scalars(sa.select(Cluster).where(Cluster.status.in_(LIVE))).all()
        for cluster in clusters:
            before = cluster.status
            _observe(session, settings, cluster)
            session.commit()
            if cluster.status is not before:
                changes.append((cluster.id, str(before), str(cluster.status)))
    return changes


def _observe(session: Session, settings: Settings, cluster: Cluster) -> None:
    try:
        provider = provider_for(settings, cluster)
    except ProviderError as exc:  # e.g. its host is no longer allowed: nothing is asked of it
        if cluster.status not in (ClusterStatus.DEGRADED, ClusterStatus.FAILED):
            _record(session, cluster, ClusterStatus.DEGRADED, "observe", POLLER, str(exc))
        return
    handle = cluster.provider_config.get("handle")
    if handle is None:  # the provider never answered the create: nothing to observe
        if cluster.status is ClusterStatus.DELETING:
            _record(session, cluster, ClusterStatus.DELETED, "observe", POLLER, "nothing to remove")
        return
    try:
        seen = provider.observe(handle)
    except Exception as exc:  # an unreachable API is an observation too
        seen = Observation("degraded", provider.failure(exc))
    if seen.state == cluster.status or seen.state in ON_THE_WAY.get(cluster.status, ()):
        return
    if cluster.status is ClusterStatus.FAILED and seen.state == "deleted":
        return  # a failed provisioning was cleaned up: it stays failed, with its reason
    if cluster.status is ClusterStatus.PROVISIONING:
        if seen.state == "running":
            try:
                connection = provider.connection(handle)
                with connection.client() as client:
                    ensure_schema(client, connection.database, cluster=connection.cluster)
            except Exception as exc:
                _clean_up(provider, handle)
                _record(
                    session,
                    cluster,
                    ClusterStatus.FAILED,
                    "provision",
                    POLLER,
                    f"schema: {provider.failure(exc)}",
                )
                return
            _record(session, cluster, ClusterStatus.RUNNING, "provision", POLLER, seen.detail)
            return
        if seen.state == "failed":
            left = _clean_up(provider, handle)
            _record(session, cluster, ClusterStatus.FAILED, "provision", POLLER, seen.detail + left)
            return
    _record(session, cluster, ClusterStatus(seen.state), "observe", POLLER, seen.detail)
