"""Accounts on a real store: the first owner, tokens, invitations, adopted projects (lockout and
sessions: test_signins.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import accounts
from models.access import operator
from models.credentials import WeakPasswordError, hash_password, verify_password
from models.tables import ApiToken, AuditEvent, Project, ProjectMember, Role, User, utcnow

PASSWORD = "correct horse battery"


def audit_actions(session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_first_owner_is_made_once_and_owns_every_project(sessions):
    with sessions() as session:
        session.add(
            Project(name="demo", organisation=accounts.default_project(session).organisation)
        )
        first = accounts.ensure_first_owner(
            session=session, email="Boss@Plant.example", password=None
        )
        session.commit()
        assert first.email == "boss@plant.example" and len(first.password) >= 20
        owner = accounts.find_user(session, "boss@plant.example")
        assert verify_password(owner.password_hash, first.password)
        assert sorted(m.project.name for m in owner.project_memberships if m.role == "owner") == [
            "Default project",
            "demo",
        ]
        # A restart never makes another owner or resets the password.
        assert (
            accounts.ensure_first_owner(
                session=session, email="other@plant.example", password=PASSWORD * 2
            )
            is None
        )
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_a_given_first_password_is_used_and_weak_ones_are_refused(sessions):
    with sessions() as session:
        with pytest.raises(WeakPasswordError, match="at least 12"):
            accounts.ensure_first_owner(
                session=session, email="boss@plant.example", password="short"
            )
        session.rollback()
        first = accounts.ensure_first_owner(
            session=session, email="boss@plant.example", password=PASSWORD
        )
        assert first.password is None
        assert (
            accounts.authenticate(
                session=session, email="BOSS@plant.example", password=PASSWORD
            ).email
            == first.email
        )


def test_unknown_accounts_fail_like_wrong_passwords(sessions):
    with (
        sessions() as session,
        pytest.raises(accounts.LoginError, match="Wrong e-mail address or password"),
    ):
        accounts.authenticate(session=session, email="nobody@plant.example", password=PASSWORD)


def test_passwords_are_stored_as_argon2_hashes(sessions):
    with sessions() as session:
        user = accounts.create_user(session=session, email="ana@plant.example", password=PASSWORD)
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert hash_password(PASSWORD) != user.password_hash  # salted


def test_tokens_are_hashed_expire_and_can_be_revoked(sessions):
    now = utcnow()
    with sessions() as session:
        user = accounts.create_user(session=session, email="ana@plant.example", password=PASSWORD)
        plain, token = accounts.issue_token(
            session=session, user=user, name="import job", days=30, now=now
        )
        session.commit()
        stored = session.scalars(sa.select(ApiToken.token_hash)).one()
        assert plain.startswith("chp_") and plain not in stored and token.prefix in plain
        assert accounts.token_user(session, plain, now=now) is user
        assert token.last_used_at == now
        assert accounts.token_user(session, plain + "x", now=now) is None
        assert accounts.token_user(session, plain, now=now + timedelta(days=30)) is None
        other = accounts.create_user(session=session, email="ben@plant.example", password=PASSWORD)
        with pytest.raises(accounts.AccountError, match="no token"):
            accounts.revoke_token(session=session, user=other, token_id=token.id)
        accounts.revoke_token(session=session, user=user, token_id=token.id)
        assert accounts.token_user(session, plain, now=now) is None
        with pytest.raises(accounts.AccountError, match="1 to 365 days"):
            accounts.issue_token(session=session, user=user, name="forever", days=10_000)


def test_an_invitation_joins_once_with_its_role(sessions):
    with sessions() as session:
        project = accounts.default_project(session)
        link, invitation = accounts.invite(
            session=session,
            actor=operator("boss"),
            project=project,
            email="New@Plant.example",
            role=Role.ENGINEER,
        )
        session.commit()
        assert link not in invitation.token_hash
        with pytest.raises(WeakPasswordError):
            accounts.accept_invitation(session=session, plain=link, password="short")
        session.rollback()
        user = accounts.accept_invitation(
            session=session, plain=link, password=PASSWORD, display_name="New Person"
        )
        session.commit()
        member = session.scalars(sa.select(ProjectMember).where(ProjectMember.user_id == user.id))
        assert [(m.project_id, m.role) for m in member] == [(project.id, Role.ENGINEER)]
        with pytest.raises(accounts.AccountError, match="used already"):
            accounts.accept_invitation(session=session, plain=link, password=PASSWORD)
        with pytest.raises(accounts.AccountError, match="member of Default project already"):
            accounts.invite(
                session=session,
                actor=operator("boss"),
                project=project,
                email=user.email,
                role=Role.VIEWER,
            )


def test_an_expired_invitation_is_refused(sessions):
    with sessions() as session:
        project = accounts.default_project(session)
        link, invitation = accounts.invite(
            session=session,
            actor=operator("b"),
            project=project,
            email="late@plant.example",
            role=Role.VIEWER,
        )
        invitation.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
        with pytest.raises(accounts.AccountError, match="expired"):
            accounts.accept_invitation(session=session, plain=link, password=PASSWORD)


def test_an_existing_account_joins_with_its_own_password(sessions):
    with sessions() as session:
        project = accounts.default_project(session)
        user = accounts.create_user(session=session, email="ana@plant.example", password=PASSWORD)
        link, _ = accounts.invite(
            session=session,
            actor=operator("boss"),
            project=project,
            email=user.email,
            role=Role.VIEWER,
        )
        with pytest.raises(accounts.AccountError, match="current password"):
            accounts.accept_invitation(
                session=session, plain=link, password="not her password at all"
            )
        assert accounts.accept_invitation(session=session, plain=link, password=PASSWORD) is user


def test_curve_projects_get_owned_metadata_projects(sessions):
    with sessions() as session:
        accounts.ensure_first_owner(session=session, email="boss@plant.example", password=PASSWORD)
        made = accounts.adopt_projects(
            session=session, names=["line-7", "Default project", "line-7"]
        )
        session.commit()
        assert [p.name for p in made] == ["line-7"]
        assert [(m.user.email, m.role) for m in made[0].members] == [
            ("boss@plant.example", Role.OWNER)
        ]
        assert accounts.adopt_projects(session=session, names=["line-7"]) == []
