"""What the wizard does with projects once it has created a cluster: nothing, a new project
living on it, or existing projects moved onto it.

The project step runs after the cluster is on record, so its refusal never takes the cluster
back: the outcome says, in words, what was made and what was not. A new project is placed at
once (:func:`pipelines.projects.create_project`); a move is asked for
(:func:`app.homes.moves.request_move`) and waits until the cluster runs, when the mover copies
the curves. No Panel here, so the use case is tested without a page.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.homes.moves import request_move
from app.markup import text
from models.access import Action, NotFound, Principal, allows, visible_projects
from models.residency import ResidencyError, check_home, load_residency
from models.store import MetadataStore
from models.tables import Cluster, MoveState, Project
from pipelines.homes import Homes, label_of
from pipelines.projects import create_project
from providers.errors import ProviderError

NOTHING, NEW, MOVE = "nothing", "new", "move"


@dataclass(frozen=True)
class AfterCreate:
    """The review step's choice: ``kind`` is NOTHING, NEW (``project_name``) or MOVE
    (``project_ids``)."""

    kind: str = NOTHING
    project_name: str = ""
    project_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Movable:
    """A project its owner may move onto a new cluster, with what decides whether it may go."""

    id: int
    name: str
    residency: str | None  # residency group key; None: any region
    home: str  # where it lives now: "the built-in engine", "cluster line7-dev"


@dataclass(frozen=True)
class Placed:
    """What the project step did, as Markdown whose values are escaped; ``failed`` when some
    of it was refused (the cluster is kept either way)."""

    said: str
    failed: bool = False


def movable_projects(session: Session, actor: Principal) -> list[Movable]:
    """The projects ``actor`` may move (their owners; the operator: all), by name."""
    return [
        Movable(
            id=p.id,
            name=p.name,
            residency=p.residency,
            home=label_of(p.home_cluster),
        )
        for p, role in visible_projects(session, actor)
        if actor.is_operator or allows(role, Action.MOVE_PROJECT)
    ]


def residency_refusal(project: Movable, *, region: str, cluster_name: str) -> str | None:
    """Why ``project`` may not live on a cluster named ``cluster_name`` in ``region``, in the
    words of :func:`models.residency.check_home`; None when it may."""
    group = None if project.residency is None else load_residency().group(project.residency)
    try:
        check_home(group, region, project=project.name, home_label=f"cluster {cluster_name}")
    except ResidencyError as exc:
        return str(exc)
    return None


def place_projects(
    *,
    store: MetadataStore,
    homes: Homes,
    actor: Principal,
    cluster_id: int,
    after: AfterCreate,
) -> Placed:
    """Carry out ``after`` for the cluster just created. Every refusal is caught and said."""
    with store.sessions() as session:
        cluster = session.get(Cluster, cluster_id)
        name = cluster.name
    where = f"cluster {text(name)}"
    if after.kind == NEW:
        return _new_project(store, homes, actor, cluster_id, where, after.project_name)
    if after.kind == MOVE:
        return _moves(store, homes, actor, cluster_id, where, after.project_ids)
    return Placed("")


def _new_project(
    store: MetadataStore,
    homes: Homes,
    actor: Principal,
    cluster_id: int,
    where: str,
    project_name: str,
) -> Placed:
    with store.sessions() as session:
        try:
            project = create_project(
                session=session,
                homes=homes,
                actor=actor,
                name=project_name,
                cluster_id=cluster_id,
            )
            made = project.name
            session.commit()
        except (ValueError, NotFound, ProviderError) as exc:  # names, residency, the home
            session.rollback()
            return Placed(
                f"The {where} was created, but project {text(project_name.strip())} was not: "
                f"{text(exc)} Create it on the Projects page with Lives on {where}.",
                failed=True,
            )
    return Placed(
        f"Project {text(made)} will live on {where}; you are its owner. Import its curves "
        "once the cluster is running."
    )


def _moves(
    store: MetadataStore,
    homes: Homes,
    actor: Principal,
    cluster_id: int,
    where: str,
    project_ids: tuple[int, ...],
) -> Placed:
    said, failed = [], False
    with store.sessions() as session:
        rows = session.scalars(sa.select(Project).where(Project.id.in_(project_ids)))
        names = {i: str(i) for i in project_ids} | {p.id: p.name for p in rows}
    for project_id in project_ids:
        try:
            view = request_move(
                store=store,
                homes=homes,
                actor=actor,
                project_id=project_id,
                to_cluster_id=cluster_id,
            )
        except (ValueError, NotFound) as exc:  # refused moves, residency, gone meanwhile
            said.append(f"- {text(names[project_id])} will not move: {text(exc)}")
            failed = True
            continue
        when = " once it is running" if view.state == MoveState.WAITING else ""
        said.append(f"- {text(view.project)} will move onto {where}{when}.")
    follow = "Follow the moves on the Projects page."
    if failed:
        follow = f"The {where} was created all the same. " + follow
    return Placed("\n".join(said) + "\n\n" + follow, failed=failed)
