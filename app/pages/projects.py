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
from models.access import Action, NotFound, Principal, allows, visible_projects
from models.residency import load_residency
from models.tables import Cluster, ClusterStatus
from pipelines.projects import create_project
from providers.errors import ProviderError

pn.extension("tabulator")

COLUMNS = ["project", "your role", "lives on", "residency", "members", "live clusters", "created"]
BUILT_IN = "the built-in engine"


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
        self.home = pn.widgets.Select(
            name="Its curves live on", options=self.homes(), value=None, width=260
        )
        self.residency = pn.widgets.Select(
            name="Residency",
            options={"any region": None} | {g.label: g.key for g in load_residency().groups},
            value=None,
            width=180,
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
                    "lives on": _lives_on(p.home_cluster),
                    "residency": p.residency or "",
                    "members": len(p.members),
                    "live clusters": live.get(p.id, 0),
                    "created": f"{p.created_at:%Y-%m-%d}",
                }
                for p, role in visible_projects(session, self.who)
            ]
        return pd.DataFrame(rows, columns=COLUMNS)

    def homes(self) -> dict[str, int | None]:
        """Where a new project's curves may live: the built-in engine, or a live cluster of a
        project in which this person may create clusters (its owner pays for the storage)."""
        choices: dict[str, int | None] = {BUILT_IN: None}
        with self.store.sessions() as session:
            for project, role in visible_projects(session, self.who):
                if not (self.who.is_operator or allows(role, Action.CREATE_CLUSTER)):
                    continue
                for cluster in project.clusters:
                    if cluster.status not in (ClusterStatus.DELETING, ClusterStatus.DELETED):
                        label = f"cluster {cluster.name} ({cluster.region}, {project.name})"
                        choices[label] = cluster.id
        return choices

    def _create(self) -> None:
        name = self.project_name.value.strip()
        if self.who.is_operator:
            return self._say("Sign in to create a project: it needs an owner.", "warning")
        with self.store.sessions() as session:
            try:
                project = create_project(
                    session=session,
                    homes=self.services.homes,
                    actor=self.who,
                    name=name,
                    cluster_id=self.home.value,
                    residency=self.residency.value,
                )
                lives_on = _lives_on(project.home_cluster)
            except (ValueError, NotFound, ProviderError) as exc:  # names, residency, homes
                return self._say(text(exc), "danger")
            session.commit()
        self.project_name.value = ""
        self.table.value = self.projects()
        self._say(
            f"Project {text(repr(name))} created on {text(lives_on)}; you are its owner. "
            "Invite people on the Team page."
        )

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
            pn.Row(self.project_name, self.home, self.residency, self.create),
            self.message,
            sizing_mode="stretch_width",
            max_width=1000,
        )


def _lives_on(cluster: Cluster | None) -> str:
    return BUILT_IN if cluster is None else f"cluster {cluster.name} ({cluster.status})"


def page(services: Services) -> pn.template.BaseTemplate:
    who = current_principal(services)
    if who is None:
        return shell("projects", [sign_in_required()])
    return shell("projects", [ProjectsPanel(services=services, who=who)])


if pn.state.served:
    page(panel_serve_services()).servable()
