"""A list of named, revocable grants of a project (kiosk links, ingest tokens): make one under a
name (its secret shown once), see which still work, revoke one. Subclasses say what a grant is
through the model functions they call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import panel as pn
from sqlalchemy.orm import Session

from app.markup import text
from app.services import Services
from models.access import AccessError, Principal
from models.names import BadName
from models.tables import Project

# A secret or a command shown once wraps instead of running off the card.
WRAP = "pre, code { white-space: pre-wrap; word-break: break-all; }"


class Revocables(pn.viewable.Viewer):
    """Grants of ``project`` (its id and name) managed by ``actor``."""

    title = ""
    intro = ""
    name_label, name_placeholder, make_label = "Name", "", "Make"
    nothing = "None works for this project now."
    # What a refused make raises: said in the card, in its words.
    refusals: tuple[type[Exception], ...] = (AccessError, BadName)

    def __init__(
        self, services: Services, actor: Principal, project_id: int, project: str, **params: Any
    ) -> None:
        super().__init__(**params)
        self._services, self._actor, self._project_id = services, actor, project_id
        self.project = project
        self.grant_name = pn.widgets.TextInput(
            label=self.name_label, placeholder=self.name_placeholder, width=260
        )
        self.make = pn.widgets.Button(label=self.make_label, color="primary", align="end")
        self.make.on_click(self._clicked)
        self.shown_once = pn.pane.Alert(
            "", alert_type="success", visible=False, stylesheets=[WRAP], sizing_mode="stretch_width"
        )
        self.refused = pn.pane.Alert("", alert_type="danger", visible=False)
        self.listed = pn.Column(sizing_mode="stretch_width")
        self._list()

    # What a grant is ---------------------------------------------------------------------------

    def _made(self, session: Session, project: Project, name: str) -> str:
        """Make one; the words that show its secret (once)."""
        raise NotImplementedError

    def _working(self, session: Session, project: Project) -> list[tuple[int, str, str, datetime]]:
        """``(id, what it is in markdown, made by, made at)`` of those that still work."""
        raise NotImplementedError

    def _revoked(self, session: Session, grant_id: int) -> None:
        """Revoke grant ``grant_id`` if it is this project's."""
        raise NotImplementedError

    # The list -----------------------------------------------------------------------------------

    def _clicked(self, _event: object) -> None:
        self.create()

    def refuse(self, exc: Exception) -> None:
        """Say in the card why a make was refused."""
        self.refused.object = text(str(exc))
        self.refused.visible = True

    def create(self) -> str | None:
        """Make one named as typed; its secret is shown once. Returns the words shown."""
        with self._services.metadata.sessions() as session:
            project = session.get(Project, self._project_id)
            try:
                shown = self._made(session, project, self.grant_name.value)
            except self.refusals as exc:
                self.refuse(exc)
                return None
            session.commit()
        self.refused.visible = False
        self.shown_once.object = shown
        self.shown_once.visible = True
        self.grant_name.value = ""
        self._list()
        return shown

    def revoke(self, grant_id: int) -> None:
        with self._services.metadata.sessions() as session:
            self._revoked(session, grant_id)
            session.commit()
        self._list()

    def _list(self) -> None:
        with self._services.metadata.sessions() as session:
            rows = self._working(session, session.get(Project, self._project_id))
        items = []
        for grant_id, what, by, made in rows:
            revoke = pn.widgets.Button(label="Revoke", color="danger", width=90)
            revoke.on_click(lambda _e, grant_id=grant_id: self.revoke(grant_id))
            made_by = f"made by {text(by)} on {made:%Y-%m-%d %H:%M} UTC"
            items.append(pn.Row(pn.pane.Markdown(f"{what}: {made_by}"), revoke))
        self.listed.objects = items or [pn.pane.Markdown(self.nothing)]

    def inputs(self) -> list[pn.viewable.Viewable]:
        """What a make asks for (a subclass may ask more than the name)."""
        return [self.grant_name]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Card(
            pn.pane.Markdown(self.intro),
            pn.Row(*self.inputs(), self.make),
            self.refused,
            self.shown_once,
            self.listed,
            title=self.title,
            collapsed=True,
            sizing_mode="stretch_width",
        )
