"""A project move's state machine as data: every action × every state, written out by hand from
the plan (request → waiting or copying; cancel from waiting, copying, checking or failed; resume
from failed; confirm from switched; the mover: copying → checking → switched, or failed)."""

from __future__ import annotations

import pytest

from models.access import Action
from models.move_states import FINAL, TRANSITIONS, MoveAction, mover_may
from models.tables import OPEN_MOVE_STATES, MoveState

M = MoveState
ALLOWED = {
    "request": {None: "copying"},
    "cancel": {"waiting": "cancelled", "copying": "cancelled", "checking": "cancelled",
               "failed": "cancelled"},
    "resume": {"failed": "copying"},
    "confirm": {"switched": "cleaning"},
}  # fmt: skip


@pytest.mark.parametrize("action", list(MoveAction))
@pytest.mark.parametrize("state", [None, *MoveState])
def test_each_action_starts_only_where_the_plan_says(action, state):
    transition = TRANSITIONS[action]
    wanted = ALLOWED[action.value].get(state)
    assert transition.allows(state) == (wanted is not None)
    if wanted is None:
        assert transition.refusal("line-7", state).startswith("Project line-7")
    else:
        assert transition.refusal("line-7", state) is None
        assert transition.target(state) == wanted


def test_every_action_needs_move_project():
    assert {t.needs for t in TRANSITIONS.values()} == {Action.MOVE_PROJECT}


def test_a_request_waits_for_a_target_that_is_not_running():
    request = TRANSITIONS[MoveAction.REQUEST]
    assert request.target(None, target_running=False) is M.WAITING
    assert request.target(None, target_running=True) is M.COPYING


def test_refusals_say_why():
    assert TRANSITIONS[MoveAction.CONFIRM].refusal("line-7", M.COPYING) == (
        "Project line-7's move is copying; it can be confirmed only when switched."
    )
    assert TRANSITIONS[MoveAction.REQUEST].refusal("line-7", M.CHECKING) == (
        "Project line-7 already has a move that is checking; one move at a time."
    )
    assert TRANSITIONS[MoveAction.CANCEL].refusal("line-7", None) == (
        "Project line-7 has no move to be cancelled."
    )


def test_the_mover_goes_forward_or_fails():
    assert mover_may(M.WAITING, M.COPYING)
    assert mover_may(M.COPYING, M.CHECKING)
    assert mover_may(M.CHECKING, M.SWITCHED)
    assert mover_may(M.CLEANING, M.DONE)
    for state in (M.WAITING, M.COPYING, M.CHECKING):
        assert mover_may(state, M.FAILED)
    assert not mover_may(M.COPYING, M.SWITCHED)  # never past the check
    assert not mover_may(M.SWITCHED, M.CLEANING)  # an owner confirms, not the mover
    assert not mover_may(M.CLEANING, M.FAILED)  # after the switch there is no going back
    for state in FINAL:
        assert not any(mover_may(state, to) for to in MoveState)


def test_open_states_are_those_an_action_or_the_mover_still_leaves():
    leaves = {s for t in TRANSITIONS.values() for s in t.moves if s is not None}
    assert set(OPEN_MOVE_STATES) == (leaves | {M.CLEANING}) - {M.FAILED}
    assert FINAL.isdisjoint(OPEN_MOVE_STATES) and M.FAILED not in OPEN_MOVE_STATES
