"""Kiosk links: one project's station board on a screen at the line, without anyone's password.

A project's admins (who may also add people to it) make a link, see it once, and revoke it;
whoever holds it sees that board, signed out, and nothing else. Every use looks it up again,
so a revoked link stops at the screen's next refresh."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, Principal, require
from models.audit import audit
from models.credentials import digest, new_secret
from models.names import label
from models.tables import KioskLink, Project, utcnow

KIOSK_PREFIX = "chk_"
# How often a link's last use is written: a screen asks every few seconds.
LAST_USED_EVERY = timedelta(minutes=1)


def create_kiosk_link(
    *, session: Session, actor: Principal, project: Project, name: str
) -> tuple[str, KioskLink]:
    """A new link to ``project``'s board: ``(secret shown once, stored row)``."""
    require(session, actor, project.id, Action.MANAGE_MEMBERS)
    name = label(name, "A kiosk link's name")
    secret, hashed = new_secret(KIOSK_PREFIX)
    link = KioskLink(project_id=project.id, name=name, created_by=str(actor), token_hash=hashed)
    session.add(link)
    session.flush()
    audit(session, str(actor), "kiosk.create", "project", project.id, link=link.id, name=name)
    return secret, link


def kiosk_links(session: Session, actor: Principal, project: Project) -> list[KioskLink]:
    """The project's links that still work, newest first (for those who may revoke them)."""
    require(session, actor, project.id, Action.MANAGE_MEMBERS)
    return list(
        session.scalars(
            sa.select(KioskLink)
            .where(KioskLink.project_id == project.id, KioskLink.revoked_at.is_(None))
            .order_by(KioskLink.id.desc())
        )
    )


def revoke_kiosk_link(*, session: Session, actor: Principal, link: KioskLink) -> None:
    require(session, actor, link.project_id, Action.MANAGE_MEMBERS)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        audit(session, str(actor), "kiosk.revoke", "project", link.project_id, link=link.id)


def kiosk_project(session: Session, secret: str) -> tuple[KioskLink, Project] | None:
    """The link ``secret`` opens and its project, or None (unknown or revoked)."""
    if not secret.startswith(KIOSK_PREFIX):
        return None
    link = session.scalars(
        sa.select(KioskLink).where(
            KioskLink.token_hash == digest(secret), KioskLink.revoked_at.is_(None)
        )
    ).first()
    if link is None:
        return None
    project = session.get(Project, link.project_id)
    if project is None:
        return None
    now = utcnow()
    if link.last_used_at is None or now - link.last_used_at > LAST_USED_EVERY:
        link.last_used_at = now
    return link, project
