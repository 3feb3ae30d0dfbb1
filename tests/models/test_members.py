"""Member changes: who may grant what, the last owner stays, every change is audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models import accounts
from models.access import Forbidden, NotFound, Principal, role_in
from models.members import (
    MemberConflict,
    MemberError,
    NoSuchMember,
    add_member,
    change_role,
    invite_member,
    remove_member,
)
from models.tables import AuditEvent, ProjectMember, Role

PASSWORD = "correct horse battery"


@pytest.fixture
def project(sessions):
    """A project with an owner, an admin and a viewer, and Cy, who has an account only."""
    with sessions() as session:
        project = accounts.default_project(session)
        people = {}
        roles = (("owner", Role.OWNER), ("admin", Role.ADMIN), ("vic", Role.VIEWER), ("cy", None))
        for name, role in roles:
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=PASSWORD
            )
            if role:
                session.add(ProjectMember(project=project, user=user, role=role))
            people[name] = Principal(user.email, user.id)
        session.commit()
        return sessions, project.id, people


def test_admins_manage_below_owner_and_only_owners_manage_owners(project):
    sessions, pid, who = project
    with sessions() as session:
        add_member(
            session=session,
            actor=who["admin"],
            project_id=pid,
            email="cy@plant.example",
            role=Role.ENGINEER,
        )
        with pytest.raises(Forbidden, match="may not make a member owner"):
            change_role(
                session=session,
                actor=who["admin"],
                project_id=pid,
                user_id=who["cy"].user_id,
                role=Role.OWNER,
            )
        with pytest.raises(Forbidden, match="may not remove a member who is owner"):
            remove_member(
                session=session, actor=who["admin"], project_id=pid, user_id=who["owner"].user_id
            )
        change_role(
            session=session,
            actor=who["owner"],
            project_id=pid,
            user_id=who["cy"].user_id,
            role=Role.OWNER,
        )
        session.commit()
        assert role_in(session, who["cy"].user_id, pid) == Role.OWNER


def test_viewers_and_strangers_change_nothing(project):
    sessions, pid, who = project
    with sessions() as session:
        with pytest.raises(Forbidden, match="manage members needs admin"):
            invite_member(
                session=session,
                actor=who["vic"],
                project_id=pid,
                email="x@plant.example",
                role=Role.VIEWER,
            )
        with pytest.raises(NotFound):
            add_member(
                session=session,
                actor=who["cy"],
                project_id=pid,
                email="vic@plant.example",
                role=Role.ADMIN,
            )


def test_the_last_owner_stays(project):
    sessions, pid, who = project
    with sessions() as session:
        with pytest.raises(MemberConflict, match="no owner left"):
            change_role(
                session=session,
                actor=who["owner"],
                project_id=pid,
                user_id=who["owner"].user_id,
                role=Role.ADMIN,
            )
        session.rollback()
        with pytest.raises(MemberConflict, match="no owner left"):
            remove_member(
                session=session, actor=who["owner"], project_id=pid, user_id=who["owner"].user_id
            )
        session.rollback()
        assert role_in(session, who["owner"].user_id, pid) == Role.OWNER


def test_adding_needs_an_account_once(project):
    sessions, pid, who = project
    with sessions() as session:
        with pytest.raises(MemberError, match=r"no account for new@plant\.example; invite"):
            add_member(
                session=session,
                actor=who["owner"],
                project_id=pid,
                email="new@plant.example",
                role=Role.VIEWER,
            )
        with pytest.raises(MemberConflict, match="member of Default project already"):
            add_member(
                session=session,
                actor=who["owner"],
                project_id=pid,
                email="VIC@plant.example",
                role=Role.VIEWER,
            )
        with pytest.raises(NoSuchMember):
            remove_member(
                session=session, actor=who["owner"], project_id=pid, user_id=who["cy"].user_id
            )


def test_every_change_is_audited(project):
    sessions, pid, who = project
    with sessions() as session:
        add_member(
            session=session,
            actor=who["admin"],
            project_id=pid,
            email="cy@plant.example",
            role=Role.VIEWER,
            ip="10.0.0.7",
        )
        change_role(
            session=session,
            actor=who["admin"],
            project_id=pid,
            user_id=who["cy"].user_id,
            role=Role.ENGINEER,
        )
        remove_member(
            session=session, actor=who["admin"], project_id=pid, user_id=who["cy"].user_id
        )
        invite_member(
            session=session,
            actor=who["admin"],
            project_id=pid,
            email="new@plant.example",
            role=Role.VIEWER,
        )
        session.commit()
        rows = session.execute(
            sa.select(AuditEvent.actor, AuditEvent.action, AuditEvent.target_id)
            .where(AuditEvent.action.startswith("member."))
            .order_by(AuditEvent.id)
        ).all()
        assert rows == [
            ("admin@plant.example", action, str(pid))
            for action in ("member.add", "member.role", "member.remove", "member.invite")
        ]
