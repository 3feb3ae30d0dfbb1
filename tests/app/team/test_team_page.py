"""The Team page's panels over a real metadata store, without a browser: what each role is
offered, and that every change goes through the shared rules."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from panel.io.browser import BrowserInfo

from app.team import Clock
from app.team.account import AccountPanel
from app.team.audit import AuditPanel
from app.team.members import MembersPanel
from app.team.teams import TeamsPanel
from models import accounts
from models.access import Principal, role_in
from models.audit import audit, project_trail
from models.settings import Settings
from models.store import open_metadata
from models.tables import ProjectMember, Role
from models.teams import create_team

PASSWORD = "correct horse battery"


@pytest.fixture
def plant(tmp_path):
    settings = Settings(home=tmp_path, public_url="https://ch.plant.example")
    with open_metadata(settings) as store:
        with store.sessions() as session:
            project = accounts.default_project(session)
            people = {}
            for name, role in (("owner", "owner"), ("vic", "viewer"), ("ana", None)):
                user = accounts.create_user(
                    session=session, email=f"{name}@plant.example", password=PASSWORD
                )
                if role:
                    session.add(ProjectMember(project=project, user=user, role=role))
                people[name] = Principal(user.email, user.id)
            session.commit()
            projects = {project.name: project.id}
        yield store, settings, projects, people


def members_panel(plant, who: str, clock: Clock | None = None) -> MembersPanel:
    store, settings, projects, people = plant
    with store.sessions() as session:
        roles = {
            n: (pid, role_in(session, people[who].user_id, pid)) for n, pid in projects.items()
        }
    return MembersPanel(
        store=store, settings=settings, who=people[who], projects=roles, clock=clock
    )


def test_an_invitation_names_the_project_and_shows_its_link(plant):
    panel = members_panel(plant, "owner")
    assert panel.managing.visible
    panel.email.value, panel.role.value = "new@plant.example", "engineer"
    panel._invite()
    text = panel.message.object
    assert (
        "https://ch.plant.example/invite?token=" in text and panel.message.alert_type == "success"
    )
    link = re.search(r"token=([\w-]+)", text).group(1)
    store = plant[0]
    with store.sessions() as session:
        invitation = accounts.open_invitation(session, link)
        assert (invitation.project.name, invitation.role) == ("Default project", Role.ENGINEER)


def test_viewers_are_offered_no_changes_and_cannot_make_them(plant):
    panel = members_panel(plant, "vic")
    assert not panel.managing.visible
    panel.email.value = "new@plant.example"
    panel._invite()  # as if the hidden button were pressed anyway
    assert "manage members needs admin" in panel.message.object


def test_a_team_is_made_filled_and_granted_a_role(plant):
    store, _, projects, people = plant
    teams = TeamsPanel(store=store, who=people["owner"])
    teams.new_team.value = "Quality"
    teams._change(teams._create, "made")
    assert teams.team.options == {"Quality": teams.team.value}
    teams.email.value, teams.role.value = "ana@plant.example", "viewer"
    teams._change(teams._add, "added")
    assert list(teams.table.value["member"]) == ["ana@plant.example", "owner@plant.example"]
    members = members_panel(plant, "owner")
    members.grant_to.value, members.grant_role.value = teams.team.value, "engineer"
    members._grant()
    assert "Team Quality is now engineer in Default project" in members.message.object
    with store.sessions() as session:
        assert role_in(session, people["ana"].user_id, projects["Default project"]) == "engineer"
    members.table.selection = [list(members.table.value["kind"]).index("team")]
    members._remove()
    with store.sessions() as session:
        assert role_in(session, people["ana"].user_id, projects["Default project"]) is None


def test_tokens_are_shown_once_and_revoked(plant):
    store, _, _, people = plant
    panel = AccountPanel(store=store, who=people["vic"])
    panel.token_name.value = "Vic's laptop"
    panel._make_token()
    secret = re.search(r"chp_[\w-]+", panel.message.object).group(0)
    assert list(panel.tokens.value["status"]) == ["active"]
    assert secret not in panel.tokens.value.to_string()
    panel.tokens.selection = [0]
    panel._revoke()
    assert list(panel.tokens.value["status"]) == ["revoked"]
    with store.sessions() as session:
        assert accounts.token_user(session, secret) is None


def test_the_audit_shows_sign_ins_of_members_and_exports_safely(plant):
    store, _, projects, people = plant
    with store.sessions() as session:
        accounts.authenticate(session=session, email="vic@plant.example", password=PASSWORD)
        with pytest.raises(accounts.LoginError):
            accounts.authenticate(
                session=session, email="ana@plant.example", password="=HYPERLINK(evil)"
            )
        session.commit()
    panel = AuditPanel(store=store, who=people["owner"], projects=projects)
    panel.kind.value = "Sign-ins"
    assert list(panel.table.value["actor"]) == ["vic@plant.example"]  # Ana is no member
    panel.kind.value = "Project"
    with store.sessions() as session:
        audit(session, "=cmd|' /C calc'!A0", "member.add", "project", projects["Default project"])
        session.commit()
    csv = panel._csv().getvalue()
    assert "'=cmd" in csv and "\n=cmd" not in csv and ",=cmd" not in csv


def test_the_grant_offers_only_teams_the_viewer_is_in(plant):
    """Issue 13, item 12: the Team page offered every team of the installation."""
    store, _, _, people = plant
    with store.sessions() as session:
        create_team(session=session, actor=people["ana"], name="Not mine")
        create_team(session=session, actor=people["owner"], name="Mine")
        session.commit()
    members = members_panel(plant, "owner")
    assert list(members.grant_to.options) == ["Mine"]


def invite_by_link(plant, who: str, email: str, role: str = "engineer") -> str:
    """Invite ``email`` from ``who``'s Members panel; the one-time link's secret."""
    panel = members_panel(plant, who)
    panel.email.value, panel.role.value = email, role
    panel._invite()
    return re.search(r"token=([\w-]+)", panel.message.object).group(1)


def test_open_invitations_are_listed_for_those_who_may_invite(plant):
    """Issue 16: invitations were made, but nobody could see which were still open."""
    invite_by_link(plant, "owner", "new@plant.example")
    panel = members_panel(plant, "owner")
    rows = panel.invitations.value.to_dict("records")
    assert [(r["invited"], r["role"], r["by"], r["status"]) for r in rows] == [
        ("new@plant.example", "engineer", "owner@plant.example", "waiting")
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[0]["sent"])
    assert rows[0]["expires"] > rows[0]["sent"]
    assert panel.pending.visible and not panel.no_invitations.visible
    assert panel.invitations.titles["expires"] == "expires (UTC)"  # until the browser says
    viewer = members_panel(plant, "vic")  # no invite rights: nothing listed, nothing offered
    assert viewer.invitations.value.empty and not viewer.managing.visible


def test_a_revoked_invitation_link_is_refused_and_audited(plant):
    store, _, projects, _ = plant
    link = invite_by_link(plant, "owner", "new@plant.example")
    viewer = members_panel(plant, "vic")
    owner = members_panel(plant, "owner")
    # The viewer's hidden button, pressed anyway against the owner's row: refused.
    viewer.invitations.value = owner.invitations.value
    viewer.invitations.selection = [0]
    viewer._revoke_invitation()
    assert "manage members needs admin" in viewer.message.object
    with store.sessions() as session:
        accounts.open_invitation(session, link)  # still valid
    owner.invitations.selection = [0]
    owner._revoke_invitation()
    assert "Invitation of new&#64;plant&#46;example as engineer revoked" in owner.message.object
    assert owner.invitations.value.empty and owner.no_invitations.visible
    assert "No open invitations to Default project" in owner.no_invitations.object
    with store.sessions() as session:
        with pytest.raises(accounts.AccountError, match="not valid"):
            accounts.open_invitation(session, link)
        with pytest.raises(accounts.AccountError, match="not valid"):
            accounts.accept_invitation(session=session, plain=link, password=PASSWORD)
        trail = session.scalars(project_trail(projects["Default project"], "member.invite")).all()
        assert [(e.action, e.actor, e.detail["email"]) for e in trail] == [
            ("member.invite.revoke", "owner@plant.example", "new@plant.example"),
            ("member.invite", "owner@plant.example", "new@plant.example"),
        ]


def test_admins_revoke_invitations_they_could_make_but_not_an_owners(plant):
    store, _, projects, people = plant
    with store.sessions() as session:
        session.add(
            ProjectMember(
                project_id=projects["Default project"], user_id=people["ana"].user_id, role="admin"
            )
        )
        session.commit()
    invite_by_link(plant, "owner", "boss@plant.example", "owner")
    invite_by_link(plant, "owner", "eng@plant.example", "engineer")
    admin = members_panel(plant, "ana")
    assert list(admin.invitations.value["invited"]) == ["boss@plant.example", "eng@plant.example"]
    admin.invitations.selection = [0]
    admin._revoke_invitation()
    assert "may not revoke an invitation as owner" in admin.message.object
    admin.invitations.selection = [1]
    admin._revoke_invitation()
    assert admin.message.alert_type == "success"
    assert list(admin.invitations.value["invited"]) == ["boss@plant.example"]


def test_an_empty_audit_says_what_will_appear_there(plant):
    """Issue 16: an empty trail showed a bare table header."""
    store, _, projects, people = plant
    panel = AuditPanel(store=store, who=people["owner"], projects=projects)
    assert panel.nothing.visible and not panel.table.visible
    assert panel.nothing.object.startswith("Nothing recorded yet: sign-ins, cluster changes")
    panel.kind.value = "Sign-ins"
    assert panel.nothing.visible and "No sign-ins" in panel.nothing.object
    panel.kind.value = "Project"
    with store.sessions() as session:
        audit(session, "owner@plant.example", "member.add", "project", projects["Default project"])
        session.commit()
    panel.action.value = "cluster."
    assert panel.nothing.visible and "action starts with" in panel.nothing.object
    panel.action.value = ""
    assert panel.table.visible and not panel.nothing.visible
    assert list(panel.table.value.iloc[0][["actor", "action", "target"]]) == [
        "owner@plant.example",
        "member.add",
        f"project {projects['Default project']}",
    ]


def test_the_audit_table_wraps_its_cells_and_folds_columns_on_a_phone(plant):
    """Issue 16: long values were cut off; every column is shown in full, wrapped, and the
    columns that do not fit a narrow screen move into a details block under each row."""
    store, _, projects, people = plant
    table = AuditPanel(store=store, who=people["owner"], projects=projects).table
    assert table.layout == "fit_columns"
    assert all(f == {"type": "textarea"} for f in table.formatters.values())
    assert set(table.formatters) == set(table.value.columns)
    model = table.get_root()  # what the browser gets
    assert model.configuration["responsiveLayout"] == "collapse"
    assert model.layout == "fit_columns"
    assert "overflow-wrap: anywhere" in table.stylesheets[0]


def test_a_new_token_comes_with_a_copy_button_until_the_next_message(plant):
    """Issue 16: the secret shown once had no copy button."""
    store, _, _, people = plant
    panel = AccountPanel(store=store, who=people["vic"])
    assert panel.copy.objects == []
    panel.token_name.value = "line-7 import"
    panel._make_token()
    secret = re.search(r"chp_[\w-]+", panel.message.object).group(0)
    (button,) = panel.copy.objects
    model = button.get_root()
    (callback,) = model.js_event_callbacks["button_click"]
    assert callback.args["secret"] == secret
    assert "navigator.clipboard.writeText(secret)" in callback.code
    assert 'document.execCommand("copy")' in callback.code  # outside https and localhost
    panel.tokens.selection = [0]
    panel._revoke()
    assert panel.copy.objects == []


def test_times_are_on_the_viewers_clocks_once_the_browser_names_its_zone(plant):
    """A plant engineer in Germany reads 07:15, not 06:15 UTC: every table of the page
    follows the browser's zone (Panel's BrowserInfo), and says which zone it shows."""
    store, _, projects, people = plant
    invite_by_link(plant, "owner", "new@plant.example")
    info = BrowserInfo()  # what Panel fills in from the browser after the page loads
    clock = Clock().follow(info)
    members = members_panel(plant, "owner", clock)
    account = AccountPanel(store=store, who=people["owner"], clock=clock)
    account.token_name.value = "line-7 import job"
    account._make_token()
    trail = AuditPanel(store=store, who=people["owner"], projects=projects, clock=clock)
    utc = {
        "sent": members.invitations.value["sent"][0],
        "created": account.tokens.value["created"][0],
        "at": trail.table.value["at"][0],
    }
    assert trail.table.titles["at"] == "at (UTC)"

    info.timezone = "Asia/Kolkata"  # UTC+05:30 all year, so the test holds in any season
    assert members.invitations.titles["sent"] == "sent (Asia/Kolkata)"
    assert account.tokens.titles["last used"] == "last used (Asia/Kolkata)"
    assert trail.table.titles["at"] == "at (Asia/Kolkata)"
    shown = {
        "sent": members.invitations.value["sent"][0],
        "created": account.tokens.value["created"][0],
        "at": trail.table.value["at"][0],
    }
    for column, was in utc.items():
        fmt = "%Y-%m-%d %H:%M:%S" if column == "at" else "%Y-%m-%d %H:%M"
        moved = datetime.strptime(shown[column], fmt) - datetime.strptime(was, fmt)
        assert moved == timedelta(hours=5, minutes=30), column

    info.timezone = "Not/AZone"  # a zone this server does not know: the last good one stays
    assert clock.zone == "Asia/Kolkata"
