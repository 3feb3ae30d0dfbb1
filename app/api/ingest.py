"""Live ingest of a project over MQTT: the ingest tokens its admins grant to machines and
gateways on Curvehouse's own broker, the broker feeds its owners map on a plant's broker, and
the dead letters (messages refused, with the reason) its members read."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.api.errors import not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import Page, Paging, Request
from app.api.scope import page_list, page_of, project_in
from app.live import map_feed
from models import broker_feeds, ingest_tokens
from models.access import Action
from models.dead_letters import dead_letters_of
from models.tables import BrokerFeed, DeadLetter, IngestToken
from pipelines.live.broker import topic_of

TAG = "live ingest"


class IngestTokenCreate(Request):
    name: str = Field(description="what publishes with it, e.g. 'press 3 gateway'")


class IngestTokenOut(BaseModel):
    id: int
    login: str = Field(description="the MQTT username")
    name: str
    topic: str = Field(description="where it may publish")
    created_by: str
    created_at: datetime


class IngestTokenMade(IngestTokenOut):
    secret: str = Field(description="the MQTT password: shown only in this answer")


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    reason: str = Field(description="a code: not_json, bad_field, not_finite, conflict, …")
    detail: str = Field(description="what was wrong, in words")
    curve_key: str | None
    topic: str
    payload_bytes: int
    payload_head: str = Field(description="the message's first 4 KB")


def _token_out(call: Call, token: IngestToken, project: str) -> dict:
    return {
        "id": token.id,
        "login": token.login,
        "name": token.name,
        "topic": topic_of(call.settings.mqtt_topic_prefix, project),
        "created_by": token.created_by,
        "created_at": token.created_at,
    }


@API.route(
    "GET",
    "/api/projects/{project_id}/ingest-tokens",
    "The project's working ingest tokens (MQTT publishers), newest first",
    query=Paging,
    response=Page[IngestTokenOut],
    permission=Action.GRANT_INGEST,
    tag=TAG,
)
def list_ingest_tokens(call: Call) -> Page[IngestTokenOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.GRANT_INGEST)
        tokens = ingest_tokens.ingest_tokens(session, call.who, project)
        items = [IngestTokenOut(**_token_out(call, t, project.name)) for t in tokens]
    return page_list(items, call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/ingest-tokens",
    "Grant a machine or gateway the right to publish this project's curves",
    body=IngestTokenCreate,
    response=IngestTokenMade,
    status=201,
    errors=(403,),
    permission=Action.GRANT_INGEST,
    tag=TAG,
    description="Answers the MQTT login and its secret; the secret is not kept and cannot be "
    "shown again. Curvehouse's own broker accepts the login within 2 s.",
)
def create_ingest_token(call: Call) -> IngestTokenMade:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.GRANT_INGEST)
        secret, token = ingest_tokens.create_ingest_token(
            session=session, actor=call.who, project=project, name=call.body.name
        )
        session.commit()
        return IngestTokenMade(**_token_out(call, token, project.name), secret=secret)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/ingest-tokens/{token_id}",
    "Revoke an ingest token: the broker refuses it within 2 s",
    status=204,
    errors=(403,),
    permission=Action.GRANT_INGEST,
    tag=TAG,
)
def revoke_ingest_token(call: Call) -> None:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.GRANT_INGEST)
        token = session.get(IngestToken, call.path["token_id"])
        if token is None or token.project_id != project.id or token.revoked_at is not None:
            raise not_found(
                f"Project {project.id} has no working ingest token {call.path['token_id']}."
            )
        ingest_tokens.revoke_ingest_token(session=session, actor=call.who, token=token)
        session.commit()


class BrokerFeedCreate(Request):
    name: str = Field(description="what it reads, e.g. 'line 7 presses'")
    topic: str = Field(
        description="an MQTT topic filter on the plant's broker, e.g. line7/+/curves"
    )
    username: str = Field(description="a login made on the plant's broker that may read the topic")
    password: str = Field(description="its password: sealed at rest, never answered")


class BrokerFeedOut(BaseModel):
    id: int
    name: str
    topic: str
    username: str
    created_by: str
    created_at: datetime


def _feed_out(feed: BrokerFeed) -> BrokerFeedOut:
    return BrokerFeedOut(
        id=feed.id,
        name=feed.name,
        topic=feed.topic,
        username=feed.login["username"],
        created_by=feed.created_by,
        created_at=feed.created_at,
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/broker-feeds",
    "The project's working broker feeds (topics of the plant's broker it takes), newest first",
    query=Paging,
    response=Page[BrokerFeedOut],
    permission=Action.MAP_FEEDS,
    tag=TAG,
)
def list_broker_feeds(call: Call) -> Page[BrokerFeedOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.MAP_FEEDS)
        items = [_feed_out(f) for f in broker_feeds.broker_feeds(session, call.who, project)]
    return page_list(items, call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/broker-feeds",
    "Map a topic of the plant's broker to this project, read with a login made there",
    body=BrokerFeedCreate,
    response=BrokerFeedOut,
    status=201,
    errors=(403, 422),
    permission=Action.MAP_FEEDS,
    tag=TAG,
    description="On a plant's broker (CURVEHOUSE_MQTT_URL) a project takes curves only through "
    "its feeds. The login is tried on the broker first (422 with the broker's words when it is "
    "refused); the listener reads the topic within 2 s.",
)
def create_broker_feed(call: Call) -> BrokerFeedOut:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.MAP_FEEDS)
        body = call.body
        feed = map_feed(
            call.ctx.services,
            session,
            actor=call.who,
            project=project,
            name=body.name,
            topic=body.topic,
            username=body.username,
            password=body.password,
        )
        session.commit()
        return _feed_out(feed)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/broker-feeds/{feed_id}",
    "Revoke a broker feed: its topic reaches the project no more within 2 s",
    status=204,
    errors=(403,),
    permission=Action.MAP_FEEDS,
    tag=TAG,
)
def revoke_broker_feed(call: Call) -> None:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.MAP_FEEDS)
        feed = session.get(BrokerFeed, call.path["feed_id"])
        if feed is None or feed.project_id != project.id or feed.revoked_at is not None:
            raise not_found(
                f"Project {project.id} has no working broker feed {call.path['feed_id']}."
            )
        broker_feeds.revoke_broker_feed(session=session, actor=call.who, feed=feed)
        session.commit()


@API.route(
    "GET",
    "/api/projects/{project_id}/dead-letters",
    "MQTT messages live ingest refused for this project, newest first, with the reason",
    query=Paging,
    response=Page[DeadLetterOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_dead_letters(call: Call) -> Page[DeadLetterOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        return page_of(session, dead_letters_of(project.id), call.query, _dead_letter_out)


def _dead_letter_out(row: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut.model_validate(row, from_attributes=True)
