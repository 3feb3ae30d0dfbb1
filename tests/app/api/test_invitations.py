"""A project's open invitations over real HTTP: listed and revoked by those who may invite,
with the rules of inviting (only owners touch an invitation to become owner)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import accounts
from models.access import Principal
from models.members import invite_member
from models.tables import AuditEvent, Invitation, Role

pytestmark = pytest.mark.integration


def invite(world, email: str, role: Role = Role.ENGINEER) -> tuple[str, int]:
    """An invitation to project A made by its owner, as the Team page makes it."""
    owner = Principal(world.emails["owner"], world.users["owner"])
    with world.store.sessions() as session:
        link, row = invite_member(
            session=session, actor=owner, project_id=world.project_a, email=email, role=role
        )
        session.commit()
        return link, row.id


def path(world, invitation_id: int | None = None) -> str:
    tail = "" if invitation_id is None else f"/{invitation_id}"
    return f"/api/projects/{world.project_a}/invitations{tail}"


def open_emails(world, who: str = "owner") -> list[str]:
    answer = world.call("GET", path(world), who)
    assert answer.status_code == 200, answer.text
    return [item["email"] for item in answer.json()["items"]]


def test_open_invitations_are_listed_for_owners_and_admins_only(world):
    _, invitation_id = invite(world, "listed@invitations.example")
    answer = world.call("GET", path(world), "admin")
    assert answer.status_code == 200, answer.text
    item = next(i for i in answer.json()["items"] if i["id"] == invitation_id)
    assert item["email"] == "listed@invitations.example" and item["role"] == "engineer"
    assert item["invited_by"] == world.emails["owner"] and item["expired"] is False
    assert item["expires_at"] > item["created_at"]
    assert "token" not in str(item) and "hash" not in str(item)
    for who, status in (("engineer", 403), ("viewer", 403), ("outsider", 404)):
        refused = world.call("GET", path(world), who)
        assert refused.status_code == status, (who, refused.text)
        refused = world.call("DELETE", path(world, invitation_id), who)
        assert refused.status_code == status, (who, refused.text)
    assert "listed@invitations.example" in open_emails(world)


def test_a_revoked_invitation_link_is_refused_and_audited(world):
    link, invitation_id = invite(world, "revoked@invitations.example")
    answer = world.call("DELETE", path(world, invitation_id), "admin")
    assert answer.status_code == 204, answer.text
    assert "revoked@invitations.example" not in open_emails(world)
    with world.store.sessions() as session:
        with pytest.raises(accounts.AccountError, match="not valid"):
            accounts.open_invitation(session, link)
        event = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "member.invite.revoke")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert (event.actor, event.target_id) == (world.emails["admin"], str(world.project_a))
    assert event.detail["email"] == "revoked@invitations.example"
    again = world.call("DELETE", path(world, invitation_id), "admin")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_only_owners_revoke_an_invitation_to_become_owner(world):
    _, invitation_id = invite(world, "boss@invitations.example", Role.OWNER)
    refused = world.call("DELETE", path(world, invitation_id), "admin")
    assert refused.status_code == 403 and "revoke an invitation as owner" in refused.text
    assert world.call("DELETE", path(world, invitation_id), "owner").status_code == 204


def test_an_invitation_of_another_project_is_not_found_here(world):
    outsider = Principal(world.emails["outsider"], world.users["outsider"])
    with world.store.sessions() as session:
        _, row = invite_member(
            session=session,
            actor=outsider,
            project_id=world.project_b,
            email="elsewhere@invitations.example",
            role=Role.VIEWER,
        )
        session.commit()
        other = row.id
    answer = world.call("DELETE", path(world, other), "owner")
    assert answer.status_code == 404, answer.text
    with world.store.sessions() as session:
        assert session.get(Invitation, other) is not None
