"""A project's live ingest on its page: where machines publish its curves; on Curvehouse's own
broker the ingest tokens that may (made and revoked by its admins, the secret shown once with a
command that works as written), on a plant's broker the broker feeds its owners map; and the
messages refused, newest first, with the reason."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pandas as pd
import panel as pn
from sqlalchemy.orm import Session

from app.live import check_new_feed, save_feed
from app.markup import text
from app.revocable import Revocables
from app.services import Services
from models import broker_feeds, ingest_tokens
from models.access import AccessError, Action, Principal, allows
from models.dead_letters import recent_dead_letters
from models.names import BadName
from models.tables import BrokerFeed, IngestToken, Project, Role
from models.wording import counted
from pipelines.live.broker import topic_of
from pipelines.live.feeds import FeedCheckError

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


class BrokerFeeds(Revocables):
    """The project's broker feeds on the plant's broker, for its owners."""

    title = "Broker feeds: which topics of the plant's broker this project takes"
    intro = (
        "On the plant's broker a project takes curves only through its feeds: a topic (an MQTT "
        "filter, `+` for one level, `#` for the rest) read with a login you made on that broker "
        "for this project. The broker's own rules on that login decide what can arrive. The "
        "login is tried on the broker before the feed is saved, and its password is kept "
        "sealed. A new feed reads within 2 s; a revoked one stops as soon."
    )
    name_label, name_placeholder = "Name", "line 7 presses"
    make_label = "Map the topic"
    nothing = "No feed: nothing on the plant's broker reaches this project."
    refusals = (AccessError, BadName, FeedCheckError)

    def __init__(self, *args, **params) -> None:
        self._checked: tuple[str, str, str, str] | None = None  # what the broker took
        self.topic = pn.widgets.TextInput(
            label="Topic", placeholder="plant/line7/+/curves", width=240
        )
        self.username = pn.widgets.TextInput(label="Broker login", width=160)
        self.password = pn.widgets.PasswordInput(label="Its password", width=160)
        super().__init__(*args, **params)
        self.grant_name.width = 180

    def inputs(self) -> list[pn.viewable.Viewable]:
        fields = (self.grant_name, self.topic, self.username, self.password)
        return [pn.FlexBox(*fields, sizing_mode="stretch_width")]

    async def _clicked(self, _event: object) -> None:
        """The broker's check waits on the network: off the server's event loop, so no other
        page waits with it; then the feed is saved as :meth:`create` saves it."""
        self.make.disabled = True
        try:
            self._checked = await asyncio.to_thread(self._check)
        except self.refusals as exc:
            self.refuse(exc)
            return
        finally:
            self.make.disabled = False
        self.create()

    def _check(self) -> tuple[str, str, str, str]:
        with self._services.metadata.sessions() as session:
            return check_new_feed(
                self._services,
                session,
                actor=self._actor,
                project=session.get(Project, self._project_id),
                name=self.grant_name.value,
                topic=self.topic.value,
                username=self.username.value,
                password=self.password.value,
            )

    def create(self) -> str | None:
        shown = super().create()
        if shown is not None:
            self.topic.value = self.username.value = self.password.value = ""
        return shown

    def _made(self, session: Session, project: Project, name: str) -> str:
        checked, self._checked = self._checked or self._check(), None
        feed = save_feed(
            self._services, session, actor=self._actor, project=project, checked=checked
        )
        return (
            f"**Feed {text(feed.name)} mapped:** `{feed.topic}` now reaches this project "
            f"(read as `{feed.login['username']}`). Publish one curve there to see it arrive."
        )

    def _working(self, session: Session, project: Project) -> list[tuple[int, str, str, datetime]]:
        state = self._services.feed_state
        return [
            (
                f.id,
                f"**{text(f.name)}**: `{f.topic}`, read as `{f.login['username']}`"
                + (f" ({text(state(f.id))})" if state else ""),
                f.created_by,
                f.created_at,
            )
            for f in broker_feeds.broker_feeds(session, self._actor, project)
        ]

    def _revoked(self, session: Session, grant_id: int) -> None:
        feed = session.get(BrokerFeed, grant_id)
        if feed is not None and feed.project_id == self._project_id:
            broker_feeds.revoke_broker_feed(session=session, actor=self._actor, feed=feed)


class ProjectLive(pn.viewable.Viewer):
    """The live-ingest part of a project's page."""

    def __init__(self, *, services: Services, who: Principal) -> None:
        super().__init__()
        self.services, self.who = services, who
        self.project_id: int | None = None
        self.where = pn.pane.Markdown(name="live-where")
        # Ingest tokens (own broker) or broker feeds (a plant's), for those who may grant them.
        self.grants: Revocables | None = None
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
        if self.services.settings.mqtt_url:  # the plant's broker: its owners map feeds
            self.where.object = (
                "On the plant's broker"
                + (f" `{address}`" if address else "")
                + ", this project takes the topics its broker feeds read, and nothing else"
                + ("" if address else " (this server does not listen for live curves now)")
                + ". One JSON object per curve, or an array of them, with the fields of a CSV "
                "import."
            )
            grants = self.who.is_operator or allows(role, Action.MAP_FEEDS)
            kind = BrokerFeeds
        else:
            grants = self.who.is_operator or allows(role, Action.GRANT_INGEST)
            kind = IngestTokens
        self.grants = kind(self.services, self.who, project_id, name) if grants else None
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
