"""Ingest tokens: made and revoked by a project's admins; the broker learns only a hash."""

from __future__ import annotations

import base64
import hashlib

import pytest
import sqlalchemy as sa

from models.access import Forbidden, NotFound
from models.ingest_tokens import (
    broker_logins,
    create_ingest_token,
    ingest_tokens,
    revoke_ingest_token,
)
from models.names import BadName
from models.tables import AuditEvent, IngestToken, Project
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)


def _pbkdf2_matches(stored: str, secret: str) -> bool:
    _, kind, rounds, salt, key = stored.split("$")
    made = hashlib.pbkdf2_hmac("sha512", secret.encode(), base64.b64decode(salt), int(rounds), 64)
    return kind == "7" and base64.b64encode(made).decode() == key


def test_an_admin_makes_a_token_the_broker_can_check_and_revokes_it(plant):  # noqa: F811
    sessions, ids = plant
    ana = who(ids, "ana")  # admin of Press through her team
    with sessions() as session:
        press = session.get(Project, ids["press"])
        secret, token = create_ingest_token(session=session, actor=ana, project=press, name="GW 1")
        session.commit()
        assert token.login.startswith("ing-") and secret.startswith("chi_")
        stored = session.get(IngestToken, token.id)
        assert secret not in (stored.token_hash + stored.broker_hash)
        assert _pbkdf2_matches(stored.broker_hash, secret)
        assert not _pbkdf2_matches(stored.broker_hash, secret + "x")
        assert broker_logins(session) == [(token.login, "Press", stored.broker_hash)]
        assert [t.id for t in ingest_tokens(session, ana, press)] == [token.id]
        revoke_ingest_token(session=session, actor=ana, token=token)
        session.commit()
        assert broker_logins(session) == [] and ingest_tokens(session, ana, press) == []
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target_id == str(ids["press"]))
        ).all()
        assert {"ingest_token.create", "ingest_token.revoke"} <= set(actions)


def test_only_admins_grant_ingest_and_logins_differ(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press, weld = session.get(Project, ids["press"]), session.get(Project, ids["weld"])
        with pytest.raises(Forbidden):  # a viewer of Weld
            create_ingest_token(session=session, actor=who(ids, "ben"), project=weld, name="GW")
        with pytest.raises(NotFound):  # no role in Press at all
            create_ingest_token(session=session, actor=who(ids, "cy"), project=press, name="GW")
        ana = who(ids, "ana")
        made = [
            create_ingest_token(session=session, actor=ana, project=press, name=f"GW {i}")[1]
            for i in range(3)
        ]
        assert len({t.login for t in made}) == 3
        with pytest.raises(NotFound):
            revoke_ingest_token(session=session, actor=who(ids, "ben"), token=made[0])
        with pytest.raises(Forbidden):
            ingest_tokens(session, who(ids, "ben"), weld)
        with pytest.raises(BadName):
            create_ingest_token(session=session, actor=ana, project=press, name="a\x00")
        assert session.get(IngestToken, made[0].id).revoked_at is None
