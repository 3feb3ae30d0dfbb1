"""A project's live ingest on its page: where machines publish its curves, the ingest tokens
that may (made and revoked by its admins, the secret shown once with a command that works as
written), and the messages refused, newest first, with the reason."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import panel as pn
from sqlalchemy.orm import Session

from app.markup import text
from app.revocable import Revocables
from app.services import Services
from models import ingest_tokens
from models.access import Action, Principal, allows
from models.dead_letters import recent_dead_letters
from models.tables import IngestToken, Project, Role
from models.wording import counted
from pipelines.live.broker import topic_of

SHOWN_LETTERS = 20
EXAMPLE_CURVE = {"curve_key": "P-0001/ST010", "station": "ST010", "x": [0, 1, 2], "y": [0, 5, 9]}


def publish_command(address: str | None, login: str, secret: str, topic: str) -> str:
    """A ``mosquitto_pub`` line that publishes one small curve with this login."""
    host, _, port = (address or "BROKER:1883").rpartition(":")
    return (
        f"mosquitto_pub -h {host} -p {port} -u {login} -P '{secret}' -q 1 "
        f"-t '{topic}' -m '{json.dumps(EXAMPLE_CURVE)}'"
    )


class IngestTokens(Revocables):
    """The project's ingest tokens, for those who may grant them (admins and owners)."""

    title = "Ingest tokens: who may publish curves over MQTT"
    intro = (
        "An ingest token is a broker login for one machine or gateway: it may publish this "
        "project's curves and nothing else. Curvehouse's own broker accepts a new token within "
        "2 s and refuses a revoked one as soon."
    )
    name_label, name_placeholder = "What publishes with it", "press 3 gateway"
    make_label = "Make an ingest token"
    nothing = "No ingest token works for this project now."

    def _made(self, session: Session, project: Project, name: str) -> str:
        secret, token = ingest_tokens.create_ingest_token(
            session=session, actor=self._actor, project=project, name=name
        )
        topic = topic_of(self._services.settings.mqtt_topic_prefix, project.name)
        command = publish_command(self._services.mqtt_address, token.login, secret, topic)
        return (
            f"**MQTT login `{token.login}`, password below** (shown only now; it is not kept):"
            f"\n\n`{secret}`\n\nTry it, one curve:\n\n```\n{command}\n```"
        )

    def _working(self, session: Session, project: Project) -> list[tuple[int, str, str, datetime]]:
        return [
            (t.id, f"**{text(t.name)}**, login `{t.login}`", t.created_by, t.created_at)
            for t in ingest_tokens.ingest_tokens(session, self._actor, project)
        ]

    def _revoked(self, session: Session, grant_id: int) -> None:
        token = session.get(IngestToken, grant_id)
        if token is not None and token.project_id == self._project_id:
            ingest_tokens.revoke_ingest_token(session=session, actor=self._actor, token=token)


class ProjectLive(pn.viewable.Viewer):
    """The live-ingest part of a project's page."""

    def __init__(self, *, services: Services, who: Principal) -> None:
        super().__init__()
        self.services, self.who = services, who
        self.project_id: int | None = None
        self.where = pn.pane.Markdown(name="live-where")
        self.grants: IngestTokens | None = None  # for those who may grant them
        self.tokens = pn.Column(sizing_mode="stretch_width")
        self.letters_said = pn.pane.Markdown(name="dead-letters")
        self.letters = pn.widgets.Tabulator(
            pd.DataFrame(),
            show_index=False,
            disabled=True,
            visible=False,
            layout="fit_data_stretch",
            formatters={"what was wrong": {"type": "textarea"}},
            widths={"what was wrong": 420},
            sizing_mode="stretch_width",
        )
        self.refresh_letters = pn.widgets.Button(label="Refresh", width=90)
        self.refresh_letters.on_click(lambda _e: self.read_letters())

    def show(self, session: Session, project_id: int, name: str, role: Role | None) -> None:
        self.project_id = project_id
        topic = topic_of(self.services.settings.mqtt_topic_prefix, name)
        address = self.services.mqtt_address
        self.where.object = (
            # A project's name has no backtick (models.names), so the code span holds it whole.
            f"Machines and gateways publish this project's curves to `{topic}`"
            + (
                f" on `{address}`."
                if address
                else ". This server does not listen for live curves now "
                "(`curvehouse listen` may run elsewhere; see the README's *Live ingest*)."
            )
            + " One JSON object per curve, or an array of them, with the fields of a CSV import."
        )
        grants = self.who.is_operator or allows(role, Action.GRANT_INGEST)
        self.grants = IngestTokens(self.services, self.who, project_id, name) if grants else None
        self.tokens.objects = [self.grants] if grants else []
        self.read_letters(session)

    def read_letters(self, session: Session | None = None) -> None:
        """Read the newest refused messages again."""
        if self.project_id is None:
            return
        if session is None:
            with self.services.metadata.sessions() as own:
                return self.read_letters(own)
        rows, total, last = recent_dead_letters(
            session, self.who, self.project_id, limit=SHOWN_LETTERS
        )
        if not total:
            self.letters_said.object = "No message for this project was refused."
            self.letters.visible = False
            return
        newest = "" if total <= len(rows) else f"; the newest {len(rows)}"
        self.letters_said.object = (
            f"**{counted(total, 'message')} refused**, the last at {last:%Y-%m-%d %H:%M:%S} UTC"
            f"{newest} (all of them: `GET /api/projects/{self.project_id}/dead-letters`):"
        )
        self.letters.value = pd.DataFrame(
            {
                "received (UTC)": [f"{r.received_at:%Y-%m-%d %H:%M:%S}" for r in rows],
                "reason": [r.reason for r in rows],
                "curve": [r.curve_key or "" for r in rows],
                "what was wrong": [r.detail for r in rows],
                "bytes": [r.payload_bytes for r in rows],
            }
        )
        self.letters.visible = True

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Card(
            self.where,
            self.tokens,
            pn.Row(pn.pane.Markdown("#### Refused messages"), self.refresh_letters),
            self.letters_said,
            self.letters,
            title="Live ingest over MQTT",
            collapsed=True,
            sizing_mode="stretch_width",
        )
