"""The board's kiosk links, for those who may give people access to the project: make one (its
address shown once, to open on the screen at the line), see which work, revoke one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import panel as pn

from app.markup import text
from app.services import Services
from models import kiosk
from models.access import AccessError, Principal
from models.names import BadName
from models.tables import KioskLink, Project


class KioskLinks(pn.viewable.Viewer):
    """Kiosk links of ``project`` (its id and name), managed by ``actor`` (who may manage
    its members)."""

    def __init__(
        self, services: Services, actor: Principal, project_id: int, project: str, **params: Any
    ) -> None:
        super().__init__(**params)
        self._services, self._actor, self._project_id = services, actor, project_id
        self.project = project
        self.screen_name = pn.widgets.TextInput(
            name="Name of the screen", placeholder="TV at line 1", width=260
        )
        self.make = pn.widgets.Button(label="Make a kiosk link", color="primary")
        self.make.on_click(lambda _e: self.create())
        self.shown_once = pn.pane.Alert("", alert_type="success", visible=False)
        self.refused = pn.pane.Alert("", alert_type="danger", visible=False)
        self.listed = pn.Column(sizing_mode="stretch_width")
        self._list()

    def create(self) -> str | None:
        """Make a link named as typed; its address is shown once. Returns the address."""
        with self._services.metadata.sessions() as session:
            project = session.get(Project, self._project_id)
            try:
                secret, _ = kiosk.create_kiosk_link(
                    session=session, actor=self._actor, project=project, name=self.screen_name.value
                )
            except (AccessError, BadName) as exc:
                self._refuse(str(exc))
                return None
            session.commit()
        address = _origin() + "/board?" + urlencode({"project": self.project, "kiosk": secret})
        self.refused.visible = False
        self.shown_once.object = (
            "**Open this address on the screen** (it is shown only now; anyone with it sees "
            f"this board, signed out, until it is revoked):\n\n`{address}`"
        )
        self.shown_once.visible = True
        self.screen_name.value = ""
        self._list()
        return address

    def revoke(self, link_id: int) -> None:
        with self._services.metadata.sessions() as session:
            link = session.get(KioskLink, link_id)
            if link is not None and link.project_id == self._project_id:
                kiosk.revoke_kiosk_link(session=session, actor=self._actor, link=link)
                session.commit()
        self._list()

    def _list(self) -> None:
        with self._services.metadata.sessions() as session:
            links = kiosk.kiosk_links(session, self._actor, session.get(Project, self._project_id))
            rows = [
                (link.id, link.name, link.created_by, link.created_at, link.last_used_at)
                for link in links
            ]
        items = []
        for link_id, name, by, made, used in rows:
            revoke = pn.widgets.Button(label="Revoke", color="danger", width=90)
            revoke.on_click(lambda _e, link_id=link_id: self.revoke(link_id))
            seen = f"last used {used:%Y-%m-%d %H:%M} UTC" if used else "not opened yet"
            items.append(
                pn.Row(
                    pn.pane.Markdown(
                        f"**{text(name)}**: made by {text(by)} on {made:%Y-%m-%d %H:%M} UTC, {seen}"
                    ),
                    revoke,
                )
            )
        self.listed.objects = items or [
            pn.pane.Markdown("No kiosk link works for this project now.")
        ]

    def _refuse(self, words: str) -> None:
        self.refused.object = text(words)
        self.refused.visible = True

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Card(
            pn.pane.Markdown(
                "A kiosk link shows this board on a screen at the line without anyone's "
                "password: only this board, read-only, until you revoke it."
            ),
            pn.Row(self.screen_name, self.make, align="end"),
            self.refused,
            self.shown_once,
            self.listed,
            title="Kiosk links for a screen at the line",
            collapsed=True,
            sizing_mode="stretch_width",
        )


def _origin() -> str:
    """This server's address as the browser sees it (empty outside a page)."""
    where = pn.state.location
    if where is None or not where.hostname:
        return ""
    port = f":{where.port}" if where.port else ""
    return f"{where.protocol}//{where.hostname}{port}"
