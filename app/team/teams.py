"""Your teams: their members, the projects they have roles in, and for a team's admins the
means to add and remove people. ``models/teams.py`` checks every change."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import panel as pn

from app.markup import text
from models.access import AccessError, Action, Principal, allows
from models.accounts import AccountError
from models.store import MetadataStore
from models.tables import Role, Team
from models.teams import add_to_team, create_team, project_names, remove_from_team, teams_of

COLUMNS = ["user_id", "member", "role"]
ROLES = [r.value for r in Role]


class TeamsPanel(pn.viewable.Viewer):
    def __init__(
        self, *, store: MetadataStore, who: Principal, on_change: Callable[[], None] | None = None
    ) -> None:
        """``on_change`` runs after a team is made or changed (others list the teams too)."""
        super().__init__()
        self.store, self.who, self._on_change = store, who, on_change
        self.team = pn.widgets.Select(label="Team", width=260)
        self.message = pn.pane.Alert(visible=False, name="teams-message")
        self.projects = pn.pane.Markdown()
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=COLUMNS),
            show_index=False,
            disabled=True,
            selectable=1,
            hidden_columns=["user_id"],
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
        )
        self.email = pn.widgets.TextInput(label="E-mail of an account", width=260)
        self.role = pn.widgets.Select(label="Team role", options=ROLES, value="viewer", width=130)
        add = pn.widgets.Button(label="Add to team", color="primary", align="end")
        add.on_click(lambda _: self._change(self._add, "Added."))
        remove = pn.widgets.Button(label="Remove selected from team", color="danger", align="end")
        remove.on_click(lambda _: self._change(self._remove, "Removed."))
        self.managing = pn.Row(self.email, self.role, add, remove)
        self.new_team = pn.widgets.TextInput(label="New team", placeholder="e.g. Quality")
        make = pn.widgets.Button(label="Create team", align="end")
        make.on_click(lambda _: self._change(self._create, "Team created; you are its owner."))
        self.making = pn.Row(self.new_team, make)
        self.team.param.watch(lambda _: self.refresh(), "value")
        self._load_teams()

    def _load_teams(self, chosen: int | None = None) -> None:
        with self.store.sessions() as session:
            self._teams = {t.name: (t.id, role) for t, role in teams_of(session, self.who)}
        options = {name: tid for name, (tid, _) in self._teams.items()}
        self.team.options = options
        self.team.value = (
            chosen if chosen in options.values() else next(iter(options.values()), None)
        )
        self.refresh()

    def refresh(self) -> None:
        role = next((r for tid, r in self._teams.values() if tid == self.team.value), None)
        self.managing.visible = self.team.value is not None and (
            self.who.is_operator or allows(role, Action.MANAGE_MEMBERS)
        )
        rows, granted = [], []
        if self.team.value is not None:
            with self.store.sessions() as session:
                team = session.get(Team, self.team.value)
                rows = [
                    {"user_id": m.user_id, "member": m.user.email, "role": str(m.role)}
                    for m in sorted(team.members, key=lambda m: m.user.email)
                ]
                granted = project_names(session, team)
        self.table.value = pd.DataFrame(rows, columns=COLUMNS)
        self.projects.object = (
            "Roles in projects: "
            + ", ".join(f"**{text(name)}** ({text(role)})" for name, role in granted)
            if granted
            else "This team has no role in any project yet; a project admin grants one on the "
            "Project members panel."
            if self.team.value is not None
            else "You are in no team. Create one to grant several people a role at once."
        )

    def _create(self, session) -> None:
        team = create_team(session=session, actor=self.who, name=self.new_team.value)
        self._made = team.id

    def _add(self, session) -> None:
        add_to_team(
            session=session,
            actor=self.who,
            team_id=self.team.value,
            email=self.email.value,
            role=Role(self.role.value),
        )

    def _remove(self, session) -> None:
        if not self.table.selection:
            raise AccountError("Select a member in the table first.")
        user_id = int(self.table.value.iloc[self.table.selection[0]]["user_id"])
        remove_from_team(session=session, actor=self.who, team_id=self.team.value, user_id=user_id)

    def _change(self, change, done: str) -> None:
        self._made = None
        with self.store.sessions() as session:
            try:
                change(session)
                session.commit()
            except (AccessError, AccountError) as exc:
                session.rollback()
                self.message.object, self.message.alert_type = text(exc), "danger"
                self.message.visible = True
                return
        self.message.object, self.message.alert_type, self.message.visible = done, "success", True
        self.new_team.value = self.email.value = ""
        self._load_teams(self._made or self.team.value)
        if self._on_change is not None:
            self._on_change()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Teams",
            pn.pane.Markdown(
                "A team's members get the roles the team has in projects. Team owners and "
                "admins add and remove people."
            ),
            self.message,
            self.team,
            self.projects,
            self.table,
            self.managing,
            self.making,
            sizing_mode="stretch_width",
        )
