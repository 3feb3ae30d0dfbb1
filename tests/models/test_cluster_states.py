"""The cluster state machine as data: every action × every state × every role.

The expectations are written out by hand from the README's lifecycle ("create → provisioning →
running (or failed); stop → stopping → stopped; start → starting → running; resize; delete →
deleting → deleted"; a failed provisioning offers Retry, a cluster that ran and then failed
offers Start) and its role matrix: a change to the table must change this file too.
"""

from __future__ import annotations

import pytest

from models.access import Principal, operator
from models.cluster_states import (
    LIVE,
    ON_THE_WAY,
    TRANSITIONS,
    ClusterAction,
    Standing,
    available_actions,
)
from models.tables import ClusterStatus, Role

# "failed*" is a cluster whose provisioning failed: it never ran.
STANDINGS = {
    **{s.value: Standing(s) for s in ClusterStatus},
    "failed*": Standing(ClusterStatus.FAILED, provisioning_failed=True),
}
# Action -> {standing it may start from: the state it asks for}.
MOVES = {
    "retry": {"failed*": "provisioning"},
    "start": {"stopped": "starting", "failed": "starting"},
    "stop": {"running": "stopping", "degraded": "stopping"},
    "resize": {"running": "starting", "degraded": "starting", "stopped": "stopped"},
    "delete": {
        s: "deleting"
        for s in (
            "provisioning",
            "running",
            "stopping",
            "stopped",
            "starting",
            "degraded",
            "failed",
            "failed*",
        )
    },
}
# Action -> the roles that may ask for it (the operator needs no role).
ROLES = {
    "create": {"owner", "admin"},
    "retry": {"owner", "admin", "engineer"},
    "start": {"owner", "admin", "engineer"},
    "stop": {"owner", "admin", "engineer"},
    "resize": {"owner", "admin"},
    "delete": {"owner", "admin"},
}
PEOPLE = {
    **{str(role): (Principal(f"{role}@plant.example", 1), role) for role in Role},
    "non-member": (Principal("outsider@plant.example", 2), None),
    "operator": (operator(), None),
}


def test_the_table_covers_every_action():
    assert set(TRANSITIONS) == set(ClusterAction) == set(ROLES)
    assert set(MOVES) == set(ClusterAction) - {ClusterAction.CREATE}


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("standing", list(STANDINGS))
def test_each_person_is_offered_exactly_the_allowed_actions(standing, person):
    who, role = PEOPLE[person]
    offered = available_actions(STANDINGS[standing], who, role)
    expected = [
        action
        for action in MOVES
        if standing in MOVES[action] and (person == "operator" or person in ROLES[action])
    ]
    assert list(offered) == expected  # in the dashboard's order: retry, start, stop, ...


@pytest.mark.parametrize("action", list(MOVES))
@pytest.mark.parametrize("standing", list(STANDINGS))
def test_each_action_asks_for_its_state_or_says_why_not(action, standing):
    move, where = TRANSITIONS[ClusterAction(action)], STANDINGS[standing]
    refusal = move.refusal("press-dev", where)
    if standing in MOVES[action]:
        assert move.allows(where) and refusal is None
        assert move.target(where.status) == MOVES[action][standing]
    else:
        assert not move.allows(where) and refusal.startswith("Cluster press-dev ")


def test_create_starts_from_nothing_and_is_never_offered_on_a_cluster():
    create = TRANSITIONS[ClusterAction.CREATE]
    assert create.target(None) == ClusterStatus.PROVISIONING
    assert all(not create.allows(where) for where in STANDINGS.values())


def test_the_refusals_say_what_to_do():
    start, retry = TRANSITIONS[ClusterAction.START], TRANSITIONS[ClusterAction.RETRY]
    assert start.refusal("press-dev", STANDINGS["running"]) == (
        "Cluster press-dev is running; it can be started only when failed or stopped."
    )
    assert start.refusal("press-dev", STANDINGS["failed*"]) == (
        "Cluster press-dev never ran: its provisioning failed. Retry it instead."
    )
    assert retry.refusal("press-dev", STANDINGS["failed"]) == (
        "Cluster press-dev is failed; only a cluster whose provisioning failed can be retried."
    )
    assert TRANSITIONS[ClusterAction.DELETE].refusal("press-dev", STANDINGS["deleting"]) == (
        "Cluster press-dev is deleting; it can be deleted only when degraded or failed or "
        "provisioning or running or starting or stopped or stopping."
    )


def test_only_a_failed_cluster_can_have_failed_provisioning():
    with pytest.raises(ValueError, match="running cluster has no failed provisioning"):
        Standing(ClusterStatus.RUNNING, provisioning_failed=True)


def test_the_poller_waits_out_every_state_an_action_asks_for():
    """Each transitional state an action records has its "still on the way" observations; the
    only resting state an action records is a resized cluster staying stopped."""
    asked = {to for move in TRANSITIONS.values() for to in move.moves.values()}
    assert asked == set(ON_THE_WAY) | {ClusterStatus.STOPPED}
    assert all(state in seen for state, seen in ON_THE_WAY.items())
    assert ClusterStatus.DELETED not in LIVE and len(LIVE) == len(ClusterStatus) - 1
