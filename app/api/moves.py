"""A project's move to another home, as an operation with its state.

``POST /api/projects/{id}/move`` asks for the move and answers 202 at once: the mover
(:mod:`app.homes.mover`) copies, checks and switches in the background, and ``GET …/move``
shows how far it got. Cancel, resume and confirm (which deletes the old copy) are posts of their
own. The use cases in :mod:`app.homes.moves` check the permissions (move_project: owners) and
the states (``models/move_states.py``), so the API and the project page cannot disagree;
a state that does not allow an action is a 409 in words.
"""

from __future__ import annotations

from collections.abc import Callable

from app.api.errors import not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import MoveCreate, MoveOut
from app.api.scope import project_in
from app.homes.moves import MoveView, act_on_move, latest_move, request_move, view_of
from models.access import Action
from models.move_states import MoveAction

TAG = "projects"
PATH = "/api/projects/{project_id}/move"


def move_out(view: MoveView) -> MoveOut:
    return MoveOut(
        id=view.id,
        state=view.state,
        source=view.source,
        target=view.target,
        requested_by=view.requested_by,
        requested_at=view.requested_at,
        switched_at=view.switched_at,
        finished_at=view.finished_at,
        detail=view.detail,
        datasets_done=view.datasets[0],
        datasets_total=view.datasets[1],
        curves_done=view.curves[0],
        curves_total=view.curves[1],
        samples_done=view.samples[0],
        samples_total=view.samples[1],
        percent=round(view.percent, 2),
        checks=view.checks,
    )


@API.route(
    "POST",
    PATH,
    "Move the project's curves to another home (a cluster, or null: the built-in engine)",
    body=MoveCreate,
    response=MoveOut,
    status=202,
    errors=(403, 409),
    permission=Action.MOVE_PROJECT,
    tag=TAG,
    description="The move starts copying at once, or waits while its target is not running. "
    "Readers see the old home until the copies are checked equal and the project switches; "
    "the old copy is kept until you confirm. Refused (409) while another move is open, when "
    "the target is the current home, or lies outside the project's residency group.",
)
def request_project_move(call: Call) -> MoveOut:
    view = request_move(
        store=call.store,
        homes=call.services.homes,
        actor=call.who,
        project_id=call.path["project_id"],
        to_cluster_id=call.body.cluster_id,
        ip=call.ip,
    )
    return move_out(view)


@API.route(
    "GET",
    PATH,
    "The project's latest move, whatever its state",
    response=MoveOut,
    permission=Action.VIEW,
    tag=TAG,
)
def get_project_move(call: Call) -> MoveOut:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        move = latest_move(session, project.id)
        if move is None:
            raise not_found(f"Project {project.name} has never been moved.")
        return move_out(view_of(session, move))


def _act(action: MoveAction) -> Callable[[Call], MoveOut]:
    def act(call: Call) -> MoveOut:
        view = act_on_move(
            store=call.store,
            actor=call.who,
            project_id=call.path["project_id"],
            action=action,
            ip=call.ip,
        )
        return move_out(view)

    act.__name__ = f"{action}_project_move"  # the OpenAPI operation id
    return act


for _action, _summary in (
    (MoveAction.CANCEL, "Cancel the move (before the switch); what was copied is dropped"),
    (MoveAction.RESUME, "Resume a failed move from where it stopped"),
    (MoveAction.CONFIRM, "Confirm a switched move: the old copy is deleted"),
):
    API.route(
        "POST",
        f"{PATH}/{_action}",
        _summary,
        response=MoveOut,
        errors=(403, 409),
        permission=Action.MOVE_PROJECT,
        tag=TAG,
    )(_act(_action))
