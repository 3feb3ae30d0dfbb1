"""A project's members and its open invitations; the buttons follow the viewer's role, and
``models/members.py`` checks it again on every change and on every list of invitations."""

from __future__ import annotations

import pandas as pd
import panel as pn

from app.auth.session import public_base
from app.markup import code, text
from app.team import Clock, chosen_name
from models.access import AccessError, Action, Principal, allows
from models.accounts import AccountError, find_user
from models.members import (
    add_member,
    change_role,
    invite_member,
    open_invitations,
    remove_member,
    revoke_invitation,
)
from models.settings import Settings
from models.store import MetadataStore
from models.tables import Project, Role, utcnow
from models.teams import grant_team, revoke_team, teams_of
from providers.errors import ProviderError
from providers.mail import send_mail

MEMBER_COLUMNS = ["user_id", "team_id", "member", "kind", "role"]
INVITATION_COLUMNS = ["id", "invited", "role", "by", "sent", "expires", "status"]
INVITATION_TIMES = ("sent", "expires")
ROLES = [r.value for r in Role]


class MembersPanel(pn.viewable.Viewer):
    def __init__(
        self,
        *,
        store: MetadataStore,
        settings: Settings,
        who: Principal,
        projects: dict[str, tuple[int, Role | None]],
        clock: Clock | None = None,
    ) -> None:
        """``projects``: name -> (id, the viewer's role) of every project they see."""
        super().__init__()
        self.store, self.settings, self.who, self._projects = store, settings, who, projects
        self.clock = clock or Clock()
        self.project = pn.widgets.Select(
            label="Project", options={name: pid for name, (pid, _) in projects.items()}, width=260
        )
        self.message = pn.pane.Alert(visible=False, name="members-message")
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=MEMBER_COLUMNS),
            show_index=False,
            disabled=True,
            selectable=1,
            hidden_columns=["user_id", "team_id"],
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
            max_height=300,
        )
        self.email = pn.widgets.TextInput(label="E-mail", placeholder="name@plant.example")
        self.role = pn.widgets.Select(label="Role", options=ROLES, value="viewer", width=130)
        invite = pn.widgets.Button(label="Invite", color="primary", align="end")
        invite.on_click(lambda _: self._invite())
        self.new_role = pn.widgets.Select(label="Role", options=ROLES, value="viewer", width=130)
        set_role = pn.widgets.Button(label="Change role of selected", align="end")
        set_role.on_click(lambda _: self._change())
        remove = pn.widgets.Button(label="Remove selected", color="danger", align="end")
        remove.on_click(lambda _: self._remove())
        self.grant_to = pn.widgets.Select(label="Team", width=200)
        self.grant_role = pn.widgets.Select(label="Role", options=ROLES, value="viewer", width=130)
        grant = pn.widgets.Button(label="Grant team", align="end")
        grant.on_click(lambda _: self._grant())
        self.invitations = pn.widgets.Tabulator(
            pd.DataFrame(columns=INVITATION_COLUMNS),
            show_index=False,
            disabled=True,
            selectable=1,
            hidden_columns=["id"],
            titles=self.clock.titles(*INVITATION_TIMES),
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
            max_height=200,
            container_popup=False,
        )
        self.no_invitations = pn.pane.Markdown(name="no-invitations")
        revoke = pn.widgets.Button(label="Revoke selected invitation", color="danger")
        revoke.on_click(lambda _: self._revoke_invitation())
        self.pending = pn.Column(self.invitations, revoke, sizing_mode="stretch_width")
        self.managing = pn.Column(
            "#### Invite someone",
            pn.FlexBox(self.email, self.role, invite, align_items="flex-end"),
            "#### Open invitations",
            self.no_invitations,
            self.pending,
            "#### Give a team a role",
            pn.FlexBox(self.grant_to, self.grant_role, grant, align_items="flex-end"),
            "#### Change a member or team",
            pn.FlexBox(self.new_role, set_role, remove, align_items="flex-end"),
        )
        self.project.param.watch(lambda _: self.refresh(), "value")
        self.clock.param.watch(lambda _: self._on_zone(), "zone")
        self.refresh()

    def _on_zone(self) -> None:
        self.invitations.titles = self.clock.titles(*INVITATION_TIMES)
        self._load_invitations()

    def _role(self) -> Role | None:
        return next((r for pid, r in self._projects.values() if pid == self.project.value), None)

    def _say(self, message: str, kind: str = "success") -> None:
        """Show ``message``, Markdown whose values went through :func:`~app.markup.text`."""
        self.message.object, self.message.alert_type, self.message.visible = message, kind, True

    def refresh(self) -> None:
        self.managing.visible = self.who.is_operator or allows(self._role(), Action.MANAGE_MEMBERS)
        with self.store.sessions() as session:
            project = session.get(Project, self.project.value) if self.project.value else None
            members = project.members if project else []
            rows = [
                {
                    "user_id": m.user_id,
                    "team_id": m.team_id,
                    "member": m.user.email if m.user else f"team {m.team.name}",
                    "kind": "person" if m.user else "team",
                    "role": str(m.role),
                }
                for m in members
            ]
            # Only teams the viewer is in may be given a project (models.teams.grant_team).
            self.grant_to.options = {t.name: t.id for t, _ in teams_of(session, self.who)}
        self.table.value = pd.DataFrame(rows, columns=MEMBER_COLUMNS)
        self._load_invitations()

    def _load_invitations(self) -> None:
        """The open invitations, for those who may invite: each names an address and a role."""
        rows = []
        if self.managing.visible and self.project.value is not None:
            now = utcnow()
            with self.store.sessions() as session:
                try:
                    pending = open_invitations(
                        session=session, actor=self.who, project_id=self.project.value
                    )
                except AccessError:
                    pending = []
                rows = [
                    {
                        "id": i.id,
                        "invited": i.email,
                        "role": str(i.role),
                        "by": i.invited_by,
                        "sent": self.clock.when(i.created_at),
                        "expires": self.clock.when(i.expires_at),
                        "status": "expired: invite again" if i.expires_at <= now else "waiting",
                    }
                    for i in pending
                ]
        self.invitations.value = pd.DataFrame(rows, columns=INVITATION_COLUMNS)
        self.invitations.selection = []
        self.pending.visible = bool(rows)
        self.no_invitations.object = (
            ""
            if rows
            else f"No open invitations to {text(chosen_name(self.project))}: everyone invited "
            "has joined, or nobody was invited by link."
        )
        self.no_invitations.visible = not rows

    def _selected(self) -> tuple[str, int] | None:
        """("person", user id) or ("team", team id) of the selected row."""
        if not self.table.selection:
            self._say("Select a person or team in the table first.", "warning")
            return None
        row = self.table.value.iloc[self.table.selection[0]]
        return (
            ("team", int(row["team_id"]))
            if pd.isna(row["user_id"])
            else (
                "person",
                int(row["user_id"]),
            )
        )

    def _apply(self, change, done: str) -> None:
        with self.store.sessions() as session:
            try:
                result = change(session)
                session.commit()
            except (AccessError, AccountError) as exc:
                session.rollback()
                return self._say(text(exc), "danger")
        self.refresh()
        self._say(done if result is None else result)

    def _invite(self) -> None:
        email, role = self.email.value.strip(), Role(self.role.value)
        project = chosen_name(self.project)

        def change(session):
            if find_user(session, email) is not None:
                add_member(
                    session=session,
                    actor=self.who,
                    project_id=self.project.value,
                    email=email,
                    role=role,
                )
                return (
                    f"{text(email)} has an account already and is now a {role} of {text(project)}."
                )
            link, _ = invite_member(
                session=session,
                actor=self.who,
                project_id=self.project.value,
                email=email,
                role=role,
            )
            url = f"{public_base(self.settings)}/invite?token={link}"
            if self.settings.smtp.configured:
                try:
                    send_mail(
                        self.settings.smtp.url.get_secret_value(),
                        self.settings.mail_from,
                        email,
                        f"Join {project} on Curvehouse",
                        f"{self.who.label} invites you to {project} as {role}.\n\n"
                        f"Open this link within 7 days to set your password and join:\n{url}\n",
                    )
                except ProviderError as exc:
                    raise AccountError(f"{exc}. Nobody was invited.") from exc
                return f"Invitation mailed to {text(email)} (valid 7 days, once)."
            return (
                f"No mail server is configured (CURVEHOUSE_SMTP_URL), so send {text(email)} this "
                f"one-time link yourself; it is valid for 7 days and shown only now:\n\n"
                f"{code(url)}"
            )

        self._apply(change, "")
        self.email.value = ""

    def _change(self) -> None:
        chosen = self._selected()
        if chosen is not None:
            kind, key = chosen
            role = Role(self.new_role.value)
            project_id = self.project.value

            def change(session) -> None:
                if kind == "person":
                    change_role(
                        session=session,
                        actor=self.who,
                        project_id=project_id,
                        user_id=key,
                        role=role,
                    )
                else:
                    grant_team(
                        session=session,
                        actor=self.who,
                        project_id=project_id,
                        team_id=key,
                        role=role,
                    )

            self._apply(change, f"Role changed to {role}.")

    def _remove(self) -> None:
        chosen = self._selected()
        if chosen is not None:
            kind, key = chosen
            project_id = self.project.value

            def remove(session) -> None:
                if kind == "person":
                    remove_member(
                        session=session, actor=self.who, project_id=project_id, user_id=key
                    )
                else:
                    revoke_team(session=session, actor=self.who, project_id=project_id, team_id=key)

            self._apply(remove, "Removed.")

    def _revoke_invitation(self) -> None:
        if not self.invitations.selection:
            return self._say("Select an invitation in the table first.", "warning")
        row = self.invitations.value.iloc[self.invitations.selection[0]]
        invitation_id, project_id = int(row["id"]), self.project.value
        self._apply(
            lambda session: (
                revoke_invitation(
                    session=session,
                    actor=self.who,
                    project_id=project_id,
                    invitation_id=invitation_id,
                )
                and None
            ),
            f"Invitation of {text(row['invited'])} as {text(row['role'])} revoked: its link "
            "no longer works.",
        )

    def _grant(self) -> None:
        if self.grant_to.value is None:
            return self._say(
                "You are in no team: create one in the Teams panel, or ask a team's admin to "
                "add you (a project is given only to teams you are in).",
                "warning",
            )
        role = Role(self.grant_role.value)
        self._apply(
            lambda s: (
                grant_team(
                    session=s,
                    actor=self.who,
                    project_id=self.project.value,
                    team_id=self.grant_to.value,
                    role=role,
                )
                and None
            ),
            f"Team {text(chosen_name(self.grant_to))} is now {role} in "
            f"{text(chosen_name(self.project))}.",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Project members",
            self.project,
            self.message,
            self.table,
            self.managing,
            sizing_mode="stretch_width",
        )
