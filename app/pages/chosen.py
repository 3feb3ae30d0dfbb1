"""The project a per-project page shows (Board, Quality, Reports): the person signed in,
``?project=``, else their project with most curves (the explorer opens on it too), else their
first; a picker that goes to another, and its curve store; or the page that says why there is
nothing to show."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.markup import text
from app.pages import session_query
from app.services import Services
from app.shell import shell
from models.access import Action, Principal, allows, visible_projects
from models.tables import Role
from pipelines.homes import HomeUnavailable
from pipelines.store import CurveStore


@dataclass
class Chosen:
    actor: Principal
    project: str
    project_id: int
    role: Role | None  # None for an operator outside the project
    picker: pn.widgets.Select
    store: CurveStore


def chosen_project(services: Services, slug: str) -> Chosen | pn.template.BaseTemplate:
    """What page ``slug`` shows, or the page saying why nothing: signed out, in no project,
    a project out of sight, or a home that cannot be reached (then with the picker)."""
    actor = current_principal(services)
    if actor is None:
        return shell(slug, [sign_in_required()])
    with services.metadata.sessions() as session:
        seen = {
            p.name: (p.id, role)
            for p, role in visible_projects(session, actor)
            if actor.is_operator or allows(role, Action.VIEW)
        }
    if not seen:
        words = "**You are in no project yet.** Ask a project's owner to add you."
        return shell(slug, [pn.pane.Markdown(words)])
    wanted = session_query().get("project", "")
    if wanted and wanted not in seen:
        words = f"**No project “{text(wanted)}” that you may see.**"
        return shell(slug, [pn.pane.Markdown(words)])
    project = wanted or services.homes.busiest(seen) or next(iter(seen))
    picker = pn.widgets.Select(name="Project", options=list(seen), value=project, width=260)
    picker.param.watch(lambda e: _go(e.new), "value")
    try:
        store = services.homes.store(services.homes.of(project), project=project)
    except HomeUnavailable as refusal:
        return shell(slug, [picker, pn.pane.Markdown(text(str(refusal)))])
    project_id, role = seen[project]
    return Chosen(actor, project, project_id, role, picker, store)


def _go(project: str) -> None:
    if pn.state.location is not None:
        pn.state.location.search = f"?project={quote(project)}"
