"""Reports: a shift's report read inline and downloaded as HTML or PDF, and the project's
reports mailed on a schedule. ``/reports?project=demo``."""

from __future__ import annotations

from urllib.parse import quote

import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.markup import text
from app.pages import panel_serve_services, session_query
from app.reports.schedules import SchedulesPanel
from app.reports.shift import ShiftReportPanel
from app.services import Services
from app.shell import shell
from models.access import Action, allows, visible_projects
from pipelines.curves import Curves
from pipelines.homes import HomeUnavailable

pn.extension()


def page(services: Services) -> pn.template.BaseTemplate:
    """The Reports page of ``?project=`` (or the viewer's first project), with a picker."""
    actor = current_principal(services)
    if actor is None:
        return shell("reports", [sign_in_required()])
    with services.metadata.sessions() as session:
        seen = {
            p.name: (p.id, role)
            for p, role in visible_projects(session, actor)
            if actor.is_operator or allows(role, Action.VIEW)
        }
    if not seen:
        words = "**You are in no project yet.** Ask a project's owner to add you."
        return shell("reports", [pn.pane.Markdown(words)])
    wanted = session_query().get("project", "")
    if wanted and wanted not in seen:
        words = f"**No project “{text(wanted)}” that you may see.**"
        return shell("reports", [pn.pane.Markdown(words)])
    project = wanted or next(iter(seen))
    project_id, role = seen[project]
    picker = pn.widgets.Select(label="Project", options=list(seen), value=project, width=260)
    picker.param.watch(lambda e: _go(e.new), "value")
    try:
        store = services.homes.store(services.homes.of(project), project=project)
    except HomeUnavailable as refusal:
        return shell("reports", [picker, pn.pane.Markdown(text(str(refusal)))])
    curves = Curves(store.client, store.database, projects=(project,))
    report = ShiftReportPanel(project, curves, chromium=str(services.settings.chromium))
    schedules = SchedulesPanel(
        store=services.metadata,
        who=actor,
        project_id=project_id,
        plants=report.plants,
        choices=curves.choices() | {"process": curves.processes(limit=50)},
        may_manage=actor.is_operator or allows(role, Action.SHARE_VIEWS),
        mail_configured=services.settings.smtp.configured,
    )
    tabs = pn.Tabs(("Shift report", report), ("Mailed on a schedule", schedules), dynamic=False)
    return shell("reports", [picker, tabs])


def _go(project: str) -> None:
    if pn.state.location is not None:
        pn.state.location.search = f"?project={quote(project)}"


if pn.state.served:
    page(panel_serve_services()).servable()
