"""The board's kiosk links, for those who may give people access to the project: make one (its
address shown once, to open on the screen at the line), see which work, revoke one."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import panel as pn
from sqlalchemy.orm import Session

from app.markup import text
from app.revocable import Revocables
from models import kiosk
from models.tables import KioskLink, Project


class KioskLinks(Revocables):
    """Kiosk links of ``project``, managed by ``actor`` (who may manage its members)."""

    title = "Kiosk links for a screen at the line"
    intro = (
        "A kiosk link shows this board on a screen at the line without anyone's password: "
        "only this board, read-only, until you revoke it."
    )
    name_label, name_placeholder = "Name of the screen", "TV at line 1"
    make_label = "Make a kiosk link"
    nothing = "No kiosk link works for this project now."

    def _made(self, session: Session, project: Project, name: str) -> str:
        secret, _ = kiosk.create_kiosk_link(
            session=session, actor=self._actor, project=project, name=name
        )
        address = _origin() + "/board?" + urlencode({"project": self.project, "kiosk": secret})
        return (
            "**Open this address on the screen** (it is shown only now; anyone with it sees "
            f"this board, signed out, until it is revoked):\n\n`{address}`"
        )

    def _working(self, session: Session, project: Project) -> list[tuple[int, str, str, datetime]]:
        rows = []
        for link in kiosk.kiosk_links(session, self._actor, project):
            used = link.last_used_at
            seen = f"last used {used:%Y-%m-%d %H:%M} UTC" if used else "not opened yet"
            rows.append(
                (link.id, f"**{text(link.name)}** ({seen})", link.created_by, link.created_at)
            )
        return rows

    def _revoked(self, session: Session, grant_id: int) -> None:
        link = session.get(KioskLink, grant_id)
        if link is not None and link.project_id == self._project_id:
            kiosk.revoke_kiosk_link(session=session, actor=self._actor, link=link)


def _origin() -> str:
    """This server's address as the browser sees it (empty outside a page)."""
    where = pn.state.location
    if where is None or not where.hostname:
        return ""
    port = f":{where.port}" if where.port else ""
    return f"{where.protocol}//{where.hostname}{port}"
