"""Kiosk links: made and revoked by a project's admins, opening one board until revoked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.access import Forbidden, NotFound
from models.kiosk import create_kiosk_link, kiosk_links, kiosk_project, revoke_kiosk_link
from models.names import BadName
from models.tables import AuditEvent, KioskLink, Project
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)


def test_an_admin_makes_a_link_that_opens_its_project_until_revoked(plant):  # noqa: F811
    sessions, ids = plant
    ana = who(ids, "ana")  # admin of Press through her team
    with sessions() as session:
        press = session.get(Project, ids["press"])
        secret, link = create_kiosk_link(session=session, actor=ana, project=press, name="TV 1")
        session.commit()
        assert link.token_hash != secret and secret not in link.token_hash
        found, project = kiosk_project(session, secret)
        assert (found.id, project.name) == (link.id, "Press") and found.last_used_at
        assert [k.id for k in kiosk_links(session, ana, press)] == [link.id]
        assert kiosk_project(session, secret + "x") is None
        assert kiosk_project(session, "not-a-link") is None
        revoke_kiosk_link(session=session, actor=ana, link=link)
        session.commit()
        assert kiosk_project(session, secret) is None
        assert kiosk_links(session, ana, press) == []
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target_id == str(ids["press"]))
        ).all()
        assert {"kiosk.create", "kiosk.revoke"} <= set(actions)


def test_only_those_who_may_add_people_make_or_revoke_links(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press, weld = session.get(Project, ids["press"]), session.get(Project, ids["weld"])
        with pytest.raises(Forbidden):  # a viewer of Weld
            create_kiosk_link(session=session, actor=who(ids, "ben"), project=weld, name="TV")
        with pytest.raises(NotFound):  # no role in Press at all
            create_kiosk_link(session=session, actor=who(ids, "cy"), project=press, name="TV")
        ana = who(ids, "ana")
        _, link = create_kiosk_link(session=session, actor=ana, project=press, name="TV")
        with pytest.raises(NotFound):
            revoke_kiosk_link(session=session, actor=who(ids, "ben"), link=link)
        with pytest.raises(BadName):
            create_kiosk_link(session=session, actor=ana, project=press, name="a\x00")
        assert session.get(KioskLink, link.id).revoked_at is None
