"""Ingest tokens: who may publish a project's curves over MQTT.

A project's admins make a token for a machine or a gateway: its login (the MQTT username,
``ing-`` and 12 hex digits, not secret) and its secret (the MQTT password, shown once). On
Curvehouse's own broker a token may publish to its project's topic and nowhere else; the broker
refuses the login once the token is revoked (its open connection is dropped when the listener
next reads the logins, within seconds). Every make and revoke is audited."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, Principal, require
from models.audit import audit
from models.credentials import mosquitto_hash, new_secret
from models.names import label
from models.tables import IngestToken, Project, utcnow

LOGIN_PREFIX = "ing-"
SECRET_PREFIX = "chi_"


def create_ingest_token(
    *, session: Session, actor: Principal, project: Project, name: str
) -> tuple[str, IngestToken]:
    """A new token for ``project``: ``(secret shown once, stored row)``."""
    require(session, actor, project.id, Action.GRANT_INGEST)
    name = label(name, "An ingest token's name")
    secret, hashed = new_secret(SECRET_PREFIX)
    token = IngestToken(
        project_id=project.id,
        login=LOGIN_PREFIX + secrets.token_hex(6),
        name=name,
        created_by=str(actor),
        token_hash=hashed,
        broker_hash=mosquitto_hash(secret),
    )
    session.add(token)
    session.flush()
    audit(
        session,
        str(actor),
        "ingest_token.create",
        "project",
        project.id,
        token=token.id,
        login=token.login,
        name=name,
    )
    return secret, token


def ingest_tokens(session: Session, actor: Principal, project: Project) -> list[IngestToken]:
    """The project's tokens that still work, newest first (for those who may grant them)."""
    require(session, actor, project.id, Action.GRANT_INGEST)
    return list(
        session.scalars(
            sa.select(IngestToken)
            .where(IngestToken.project_id == project.id, IngestToken.revoked_at.is_(None))
            .order_by(IngestToken.id.desc())
        )
    )


def revoke_ingest_token(*, session: Session, actor: Principal, token: IngestToken) -> None:
    require(session, actor, token.project_id, Action.GRANT_INGEST)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(
            session,
            str(actor),
            "ingest_token.revoke",
            "project",
            token.project_id,
            token=token.id,
            login=token.login,
        )


def broker_logins(session: Session) -> list[tuple[str, str, str]]:
    """Every working token as ``(login, project name, broker hash)``, for the broker's
    password file and ACL; sorted, so an unchanged set compares equal."""
    rows = session.execute(
        sa.select(IngestToken.login, Project.name, IngestToken.broker_hash)
        .join(Project, Project.id == IngestToken.project_id)
        .where(IngestToken.revoked_at.is_(None))
        .order_by(IngestToken.login)
    )
    return [tuple(row) for row in rows]
