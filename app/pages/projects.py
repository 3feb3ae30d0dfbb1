"""Projects: the ones you are a member of, with your role, and a form to start a new one."""

from __future__ import annotations

import pandas as pd
import panel as pn
import sqlalchemy as sa

from app.auth.session import current_principal, sign_in_required
from app.markup import text
from app.pages import panel_serve_services
from app.services import Services
from app.shell import shell
from models import accounts
from models.access import Principal, visible_projects
from models.tables import Cluster, ClusterStatus, User
from pipelines.projects import curve_label_in_use, unowned_label

pn.extension("tabulator")

COLUMNS = ["project", "your role", "members", "live clusters", "created"]


class ProjectsPanel(pn.viewable.Viewer):
    def __init__(self, *, services: Services, who: Principal) -> None:
        super().__init__()
        self.services, self.store, self.who = services, services.metadata, who
        self.table = pn.widgets.Tabulator(
            self.projects(),
            show_index=False,
            disabled=True,
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
        )
        self.project_name = pn.widgets.TextInput(
            label="New project", placeholder="e.g. line-7 press-fit"
        )
        self.create = pn.widgets.Button(label="Create project", color="primary", align="end")
        self.create.on_click(lambda _: self._create())
        self.message = pn.pane.Alert(visible=False, name="projects-message")

    def projects(self) -> pd.DataFrame:
        with self.store.sessions() as session:
            live = dict(
                session.execute(
                    sa.select(Cluster.project_id, sa.func.count())
                    .where(Cluster.status != ClusterStatus.DELETED)
                    .group_by(Cluster.project_id)
                ).all()
            )
            rows = [
                {
                    "project": p.name,
                    "your role": str(role) if role else "operator",
                    "members": len(p.members),
                    "live clusters": live.get(p.id, 0),
                    "created": f"{p.created_at:%Y-%m-%d}",
                }
                for p, role in visible_projects(session, self.who)
            ]
        return pd.DataFrame(rows, columns=COLUMNS)

    def _create(self) -> None:
        name = self.project_name.value.strip()
        if self.who.is_operator:
            return self._say("Sign in to create a project: it needs an owner.", "warning")
        if name and self._label_in_use(name):
            return self._say(text(unowned_label(name)), "danger")
        with self.store.sessions() as session:
            try:
                accounts.create_project(
                    session=session, owner=session.get(User, self.who.user_id), name=name
                )
            except accounts.AccountError as exc:
                return self._say(text(exc), "danger")
            session.commit()
        self.project_name.value = ""
        self.table.value = self.projects()
        self._say(
            f"Project {text(repr(name))} created; you are its owner. Invite people on the "
            "Team page."
        )

    def _label_in_use(self, name: str) -> bool:
        with self.services.curves() as curves:
            return curve_label_in_use(curves, name)

    def _say(self, message: str, kind: str = "success") -> None:
        """Show ``message``, Markdown whose values went through :func:`~app.markup.text`."""
        self.message.object, self.message.alert_type, self.message.visible = message, kind, True

    def __panel__(self) -> pn.viewable.Viewable:
        empty = self.table.value.empty
        return pn.Column(
            "## Projects",
            pn.pane.Markdown(
                "A project holds curves (its name is their `project` label), clusters and "
                "members with roles. You see the projects you are a member of."
                + ("\n\n**You are not a member of any project yet.**" if empty else "")
            ),
            self.table,
            pn.Row(self.project_name, self.create),
            self.message,
            sizing_mode="stretch_width",
            max_width=1000,
        )


def page(services: Services) -> pn.template.BaseTemplate:
    who = current_principal(services)
    if who is None:
        return shell("projects", [sign_in_required()])
    return shell("projects", [ProjectsPanel(services=services, who=who)])


if pn.state.served:
    page(panel_serve_services()).servable()
