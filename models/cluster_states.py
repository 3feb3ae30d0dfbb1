"""The cluster state machine as data: where each action may start, what it asks for, who may ask.

States follow ClickHouse Cloud's vocabulary (:class:`~models.tables.ClusterStatus`). An action
only asks: it records the transitional state its row names here (``provisioning``,
``starting``, ``stopping``, ``deleting``), and the poller records what the provider then observes
(``app/clusters/lifecycle.py``). The lifecycle's refusals, the dashboard's buttons and the REST
API's permission checks all read :data:`TRANSITIONS`, so they cannot disagree; permissions are
actions of the matrix in :mod:`models.access`.

One fact is not in the state: whether a failed cluster ever ran. A cluster whose provisioning
failed is retried (provisioned again under the same key); one that ran and then failed is
started. The caller reads it from the cluster's events and passes it in :class:`Standing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from models.access import Action, Principal, allows
from models.tables import ClusterStatus, Role

S = ClusterStatus


class ClusterAction(StrEnum):
    """What a person can ask of a cluster; the values name events and audit entries."""

    CREATE = "create"
    RETRY = "retry"
    START = "start"
    STOP = "stop"
    RESIZE = "resize"
    DELETE = "delete"


@dataclass(frozen=True)
class Standing:
    """Where a cluster stands for the state machine."""

    status: ClusterStatus
    provisioning_failed: bool = False  # failed before it ever ran: Retry, not Start

    def __post_init__(self) -> None:
        if self.provisioning_failed and self.status is not S.FAILED:
            raise ValueError(f"A {self.status} cluster has no failed provisioning.")


@dataclass(frozen=True)
class Transition:
    """One action: the states it may start from, each with the state it asks for."""

    action: ClusterAction
    needs: Action  # the permission, from models/access.py's matrix
    moves: Mapping[ClusterStatus | None, ClusterStatus]  # from -> asked for; None: no cluster yet
    past: str  # "started", for refusals
    # True: only a cluster whose provisioning failed; False: never one; None: either.
    after_failed_provisioning: bool | None = None

    def allows(self, standing: Standing) -> bool:
        if standing.status not in self.moves:
            return False
        wanted = self.after_failed_provisioning
        return wanted is None or wanted == standing.provisioning_failed

    def target(self, status: ClusterStatus | None) -> ClusterStatus:
        """The state the action asks for from ``status`` (which it must allow)."""
        return self.moves[status]

    def refusal(self, name: str, standing: Standing) -> str | None:
        """Why cluster ``name`` may not take this action now, in words for the person asking;
        None when it may."""
        if self.allows(standing):
            return None
        if self.after_failed_provisioning:
            return (
                f"Cluster {name} is {standing.status}; only a cluster whose provisioning "
                f"failed can be {self.past}."
            )
        if standing.status in self.moves:  # the one remaining case: start after a failed create
            return f"Cluster {name} never ran: its provisioning failed. Retry it instead."
        states = " or ".join(sorted(s for s in self.moves if s is not None))
        return f"Cluster {name} is {standing.status}; it can be {self.past} only when {states}."


# Every state a cluster can be deleted from: all but deleting and deleted.
_DELETABLE = [s for s in S if s not in (S.DELETING, S.DELETED)]

# The table, in the order the dashboard offers the actions.
TRANSITIONS: dict[ClusterAction, Transition] = {
    t.action: t
    for t in (
        Transition(ClusterAction.CREATE, Action.CREATE_CLUSTER, {None: S.PROVISIONING}, "created"),
        Transition(
            ClusterAction.RETRY,
            Action.OPERATE_CLUSTER,
            {S.FAILED: S.PROVISIONING},
            "retried",
            after_failed_provisioning=True,
        ),
        Transition(
            ClusterAction.START,
            Action.OPERATE_CLUSTER,
            {S.STOPPED: S.STARTING, S.FAILED: S.STARTING},
            "started",
            after_failed_provisioning=False,
        ),
        Transition(
            ClusterAction.STOP,
            Action.OPERATE_CLUSTER,
            {S.RUNNING: S.STOPPING, S.DEGRADED: S.STOPPING},
            "stopped",
        ),
        # Resizing changes what the plant pays, so it needs what creating needs. A running
        # cluster restarts with the new size; a stopped one stays stopped.
        Transition(
            ClusterAction.RESIZE,
            Action.CREATE_CLUSTER,
            {S.RUNNING: S.STARTING, S.DEGRADED: S.STARTING, S.STOPPED: S.STOPPED},
            "resized",
        ),
        Transition(
            ClusterAction.DELETE,
            Action.DELETE_CLUSTER,
            dict.fromkeys(_DELETABLE, S.DELETING),
            "deleted",
        ),
    )
}

# While a cluster is in a transitional state (the key), an observation of one of these states
# means "still on its way": the poller records nothing.
ON_THE_WAY: dict[ClusterStatus, frozenset[str]] = {
    S.PROVISIONING: frozenset({"provisioning", "starting"}),
    S.STARTING: frozenset({"starting", "provisioning", "stopped"}),
    S.STOPPING: frozenset({"stopping", "running"}),
    S.DELETING: frozenset({"deleting", "running", "stopping", "stopped"}),
}
# States the poller observes: every one but deleted.
LIVE: list[ClusterStatus] = [s for s in S if s is not S.DELETED]


def available_actions(
    standing: Standing, who: Principal, role: Role | None
) -> tuple[ClusterAction, ...]:
    """What ``who`` may ask of an existing cluster standing so, in the dashboard's order.

    ``role`` is their role in the cluster's project (None: none); the operator needs none.
    """
    return tuple(
        t.action
        for t in TRANSITIONS.values()
        if t.action is not ClusterAction.CREATE
        and t.allows(standing)
        and (who.is_operator or allows(role, t.needs))
    )
