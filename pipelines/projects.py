"""Rules tying metadata projects to the curves' ``project`` labels. They need the metadata
session and the stored curves both, so they live here, above ``models``.

A metadata project's name is its curves' ``project`` label: curves imported from the command
line get a project of their own (:func:`adopt_curve_projects`), and a new project may not take
a label that stored curves carry already (:func:`curve_label_in_use`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from models import accounts
from models.access import Principal
from models.placement import set_home, set_residency
from models.tables import Project, User
from pipelines.curves import Curves
from pipelines.views import CurveFilter

if TYPE_CHECKING:
    from pipelines.homes import Home, Homes


class LabelInUse(ValueError):
    """Curves carrying the name are stored already, outside any project."""


def adopt_curve_projects(*, session: Session, curves: Curves) -> list[str]:
    """Give every curve ``project`` label among ``curves`` a metadata project (see
    :func:`models.accounts.adopt_projects`); returns the names made. The caller commits."""
    labels = curves.processes_by_project()["project"]
    made = accounts.adopt_projects(session=session, names=[str(label) for label in labels.unique()])
    return [p.name for p in made]


def curve_label_in_use(curves: Curves, name: str) -> bool:
    """Whether curves labelled ``name`` are stored already. A new project must not take such a
    name: it would hand whoever makes it curves they were never given."""
    labelled = replace(curves, where=CurveFilter(), projects=(name,))
    return not labelled.datasets().empty


def unowned_label(name: str) -> str:
    """Why a project cannot take a name that already labels stored curves."""
    return (
        f"Curves labelled {name!r} are stored already, outside any project; the operator gives "
        "them a project (curvehouse serve does at start). Choose another name."
    )


def _label_in_use(homes: Homes, home: Home, name: str) -> bool:
    store = homes.store(home, project=name)
    try:
        return curve_label_in_use(Curves(store.client, store.database), name)
    finally:
        store.client.close()


def create_project(
    *,
    session: Session,
    homes: Homes,
    actor: Principal,
    name: str,
    cluster_id: int | None = None,
    residency: str | None = None,
    ip: str | None = None,
) -> Project:
    """A new project owned by ``actor``, living on ``cluster_id`` (None: the built-in engine)
    and pinned to ``residency`` (None: anywhere). Refused, with nothing made, when the name is
    a project's already (:class:`~models.accounts.NameTaken`), labels stored curves on the
    built-in engine or on that cluster (:class:`LabelInUse`), or the home lies outside the
    residency group. The caller commits."""
    name = accounts.new_group_name(session, Project, name)
    if _label_in_use(homes, homes.builtin, name):  # imports ran there before projects existed
        raise LabelInUse(unowned_label(name))
    owner = session.get(User, actor.user_id)
    project = accounts.create_project(session=session, owner=owner, name=name, ip=ip)
    place = dict(session=session, actor=actor, project_id=project.id, ip=ip)
    place["builtin_region"] = homes.builtin.region
    if cluster_id is not None:
        set_home(cluster_id=cluster_id, **place)
    if residency is not None:  # checked against the home just chosen
        set_residency(group=residency, **place)
    session.flush()
    home = homes.of_row(project)
    # A cluster may keep curves under a name whose project is gone; one still provisioning or
    # stopped holds none that could be read now, and the project may wait for it.
    if home.reachable and not home.builtin and _label_in_use(homes, home, name):
        raise LabelInUse(unowned_label(name))
    return project
