"""Reports: a shift's report read inline and downloaded as HTML or PDF, and the project's
reports mailed on a schedule. ``/reports?project=demo``."""

from __future__ import annotations

import panel as pn

from app.pages import panel_serve_services, served
from app.pages.chosen import Chosen, chosen_project
from app.reports.schedules import SchedulesPanel
from app.reports.shift import ShiftReportPanel
from app.services import Services
from app.shell import shell
from models.access import Action, allows
from pipelines.curves import Curves


def page(services: Services) -> pn.template.BaseTemplate:
    """The Reports page of ``?project=`` (or the viewer's project with most curves), with a
    picker."""
    chosen = chosen_project(services, "reports")
    if not isinstance(chosen, Chosen):
        return chosen
    actor, project = chosen.actor, chosen.project
    curves = Curves(chosen.store.client, chosen.store.database, projects=(project,))
    report = ShiftReportPanel(project, curves, chromium=str(services.settings.chromium))
    schedules = SchedulesPanel(
        store=services.metadata,
        who=actor,
        project_id=chosen.project_id,
        plants=report.plants,
        choices=curves.choices() | {"process": curves.processes(limit=50)},
        may_manage=actor.is_operator or allows(chosen.role, Action.SHARE_VIEWS),
        mail_configured=services.settings.smtp.configured,
    )
    tabs = pn.Tabs(("Shift report", report), ("Mailed on a schedule", schedules), dynamic=False)
    return shell("reports", [chosen.picker, tabs])


if served(__name__):
    pn.extension()
    page(panel_serve_services()).servable()
