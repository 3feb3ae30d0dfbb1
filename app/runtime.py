"""Project rules the pages, the API and the CLI share, on the process's :class:`Services`."""

from __future__ import annotations

from app.services import Services
from models import accounts
from models.access import Action, Principal, allows, require, visible_projects
from models.audit import audit
from models.store import MetadataStore
from pipelines.curves import Curves


def default_project(store: MetadataStore) -> int:
    """The project new clusters go into when none is chosen: made on first use."""
    with store.sessions() as session:
        project = accounts.default_project(session)
        session.commit()
        return project.id


def adopt_curve_projects(services: Services) -> list[str]:
    """Give every curve ``project`` label in the engine a metadata project (see
    :func:`models.accounts.adopt_projects`); returns the names made."""
    store = services.open_store()
    labels = Curves(store.client, store.database).processes_by_project()["project"]
    with services.metadata.sessions() as session:
        made = accounts.adopt_projects(
            session=session, names=[str(label) for label in labels.unique()]
        )
        session.commit()
        return [p.name for p in made]


def curve_label_in_use(services: Services, name: str) -> bool:
    """Whether curves labelled ``name`` are stored already. A new project must not take such a
    name: it would hand whoever makes it curves they were never given."""
    store = services.open_store()
    try:
        return not Curves(store.client, store.database, projects=(name,)).datasets().empty
    finally:
        store.client.close()


def unowned_label(name: str) -> str:
    """Why a project cannot take a name that already labels stored curves."""
    return (
        f"Curves labelled {name!r} are stored already, outside any project; the operator gives "
        "them a project (curvehouse serve does at start). Choose another name."
    )


def record_export(
    store: MetadataStore, who: Principal, kind: str, projects: tuple[str, ...] | None
) -> None:
    """Allow an export from the pages only with ``export_data`` in every project it covers,
    and write it to the audit trail; raises :class:`~models.access.Forbidden` otherwise."""
    if who.is_operator:
        return
    with store.sessions() as session:
        roles = {p.name: (p, role) for p, role in visible_projects(session, who)}
        names = projects if projects is not None else tuple(roles)
        for name in names:
            project, _ = roles[name]
            require(session, who, project.id, Action.EXPORT_DATA)
        for name in names:
            audit(session, who.label, "curves.export", "project", roles[name][0].id, kind=kind)
        session.commit()


def readable_projects(store: MetadataStore, who: Principal) -> tuple[str, ...] | None:
    """The curve project labels ``who`` may view (a metadata project's name is its curves'
    ``project`` label); None for the operator, who sees every curve."""
    if who.is_operator:
        return None
    with store.sessions() as session:
        return tuple(
            p.name for p, role in visible_projects(session, who) if allows(role, Action.VIEW)
        )
