"""A project move's state machine as data: where each action may start, what it asks for, who
may ask.

A person requests, cancels, resumes or confirms a move (:data:`TRANSITIONS`, each with its
permission from :mod:`models.access`). The mover, not a person, takes a move on from copying to
checking to switched, or to failed (:data:`MOVER_STEPS`). The REST API, the pages and the mover
all read these tables, so they cannot disagree. At most one move per project is open
(:data:`models.tables.OPEN_MOVE_STATES`, enforced by ``uq_project_moves_project_id_open``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from models.access import Action
from models.tables import MoveState

M = MoveState


class MoveAction(StrEnum):
    """What a person can ask of a move; the values name audit entries (``project.move.*``)."""

    REQUEST = "request"
    CANCEL = "cancel"
    RESUME = "resume"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class MoveTransition:
    """One action: the states it may start from, each with the state it asks for."""

    action: MoveAction
    needs: Action  # the permission, from models/access.py's matrix
    moves: Mapping[MoveState | None, MoveState]  # from -> asked for; None: no open move yet
    past: str  # "cancelled", for refusals

    def allows(self, state: MoveState | None) -> bool:
        return state in self.moves

    def target(self, state: MoveState | None, *, target_running: bool = True) -> MoveState:
        """The state the action asks for from ``state`` (which it must allow). A new move waits
        while its target cluster is not running yet."""
        if self.action is MoveAction.REQUEST and not target_running:
            return M.WAITING
        return self.moves[state]

    def refusal(self, project: str, state: MoveState | None) -> str | None:
        """Why ``project``'s move may not take this action now, in words; None when it may."""
        if self.allows(state):
            return None
        if state is None:
            return f"Project {project} has no move to be {self.past}."
        if self.action is MoveAction.REQUEST:
            return f"Project {project} already has a move that is {state}; one move at a time."
        states = " or ".join(s.value for s in self.moves if s is not None)
        return f"Project {project}'s move is {state}; it can be {self.past} only when {states}."


TRANSITIONS: dict[MoveAction, MoveTransition] = {
    t.action: t
    for t in (
        # A request starts copying at once, or waits for its target (see target()).
        MoveTransition(MoveAction.REQUEST, Action.MOVE_PROJECT, {None: M.COPYING}, "requested"),
        # After the switch the old copy is all that is left of the source: no cancel then.
        MoveTransition(
            MoveAction.CANCEL,
            Action.MOVE_PROJECT,
            dict.fromkeys((M.WAITING, M.COPYING, M.CHECKING, M.FAILED), M.CANCELLED),
            "cancelled",
        ),
        MoveTransition(MoveAction.RESUME, Action.MOVE_PROJECT, {M.FAILED: M.COPYING}, "resumed"),
        # Confirming deletes the old copy, so it is the owner's word, after the switch.
        MoveTransition(
            MoveAction.CONFIRM, Action.MOVE_PROJECT, {M.SWITCHED: M.CLEANING}, "confirmed"
        ),
    )
}

# What the mover itself may record from each state it works on.
MOVER_STEPS: dict[MoveState, frozenset[MoveState]] = {
    M.WAITING: frozenset({M.COPYING, M.FAILED}),
    M.COPYING: frozenset({M.CHECKING, M.FAILED}),
    M.CHECKING: frozenset({M.SWITCHED, M.FAILED}),
    # After the switch there is no going back: a failed clean-up stays cleaning and is retried.
    M.CLEANING: frozenset({M.DONE}),
}
# States no action and no mover step leaves.
FINAL: frozenset[MoveState] = frozenset({M.DONE, M.CANCELLED})


def mover_may(state: MoveState, to: MoveState) -> bool:
    """Whether the mover may record ``to`` for a move in ``state``."""
    return to in MOVER_STEPS.get(state, frozenset())
