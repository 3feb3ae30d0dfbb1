"""Quality: control charts of a curve feature per station and program, run rules, capability,
and the stations whose parts drift. ``/quality?project=demo``."""

from __future__ import annotations

from urllib.parse import quote

import holoviews as hv
import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.markup import text
from app.pages import panel_serve_services, session_query
from app.quality.page import QualityPage
from app.services import Services
from app.shell import shell
from models.access import Action, allows, visible_projects
from pipelines.curves import Curves
from pipelines.homes import HomeUnavailable

hv.extension("bokeh", logo=False)
pn.extension()


def page(services: Services) -> pn.template.BaseTemplate:
    """The Quality page of ``?project=`` (or the viewer's first project), with a picker."""
    actor = current_principal(services)
    if actor is None:
        return shell("quality", [sign_in_required()])
    with services.metadata.sessions() as session:
        names = [
            p.name
            for p, role in visible_projects(session, actor)
            if actor.is_operator or allows(role, Action.VIEW)
        ]
    if not names:
        words = "**You are in no project yet.** Ask a project's owner to add you."
        return shell("quality", [pn.pane.Markdown(words)])
    wanted = session_query().get("project", "")
    if wanted and wanted not in names:
        words = f"**No project “{text(wanted)}” that you may see.**"
        return shell("quality", [pn.pane.Markdown(words)])
    project = wanted or names[0]
    picker = pn.widgets.Select(name="Project", options=names, value=project, width=260)
    picker.param.watch(lambda e: _go(e.new), "value")
    try:
        store = services.homes.store(services.homes.of(project), project=project)
    except HomeUnavailable as refusal:
        return shell("quality", [picker, pn.pane.Markdown(text(str(refusal)))])
    curves = Curves(store.client, store.database, projects=(project,))
    return shell("quality", [picker, QualityPage(project, curves)], wide=True)


def _go(project: str) -> None:
    if pn.state.location is not None:
        pn.state.location.search = f"?project={quote(project)}"


if pn.state.served:
    page(panel_serve_services()).servable()
