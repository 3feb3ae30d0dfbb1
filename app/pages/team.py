"""Team: your account and API tokens, your teams, project members and invitations, the
audit trail."""

from __future__ import annotations

import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.pages import panel_serve_services, served
from app.services import Services
from app.shell import shell
from app.team import Clock
from app.team.account import AccountPanel
from app.team.audit import AuditPanel
from app.team.members import MembersPanel
from app.team.teams import TeamsPanel
from models.access import Action, allows, visible_projects


def page(services: Services) -> pn.template.BaseTemplate:
    settings, store = services.settings, services.metadata
    who = current_principal(services)
    if who is None:
        return shell("team", [sign_in_required()])
    with store.sessions() as session:
        projects = {p.name: (p.id, role) for p, role in visible_projects(session, who)}
    tabs: list[tuple[str, pn.viewable.Viewable]] = []
    clock = Clock().follow(pn.state.browser_info)  # times on the viewer's clocks
    if not who.is_operator:
        tabs.append(("Your account", AccountPanel(store=store, who=who, clock=clock)))
    members = (
        MembersPanel(store=store, settings=settings, who=who, projects=projects, clock=clock)
        if projects
        else pn.pane.Markdown("You are not a member of any project yet.", name="no-projects")
    )
    teams = TeamsPanel(store=store, who=who, on_change=members.refresh if projects else None)
    tabs += [("Project members", members), ("Teams", teams)]
    auditable = {
        name: pid
        for name, (pid, role) in projects.items()
        if who.is_operator or allows(role, Action.VIEW_AUDIT)
    }
    if auditable:
        tabs.append(
            ("Audit trail", AuditPanel(store=store, who=who, projects=auditable, clock=clock))
        )
    # On a phone the tab titles wrap onto a second line instead of running off the screen.
    wrap = ".bk-headers-wrapper { flex-wrap: wrap; }"
    return shell(
        "team",
        [pn.Tabs(*tabs, sizing_mode="stretch_width", max_width=1100, stylesheets=[wrap])],
    )


if served(__name__):
    pn.extension("tabulator")
    page(panel_serve_services()).servable()
