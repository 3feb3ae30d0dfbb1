"""Broker feeds: which topics of the plant's broker reach a project, and with whose login.

On Curvehouse's own broker an ingest token decides who may publish a project's curves. A
plant's broker (``CURVEHOUSE_MQTT_URL``) keeps its own logins and ACL, and its publishers
cannot be seen by a subscriber, so there a project's owner maps a topic filter to the project
with a login the owner made on that broker: Curvehouse reads the topic with that login, and
what arrives is the project's. The plant's ACL on the login bounds what an owner can map, so
no project takes a line it was not given. The login is sealed at rest (``models/sealing.py``);
making and revoking a feed is audited."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, Principal, require
from models.audit import audit
from models.names import BadName, label, printable
from models.tables import BrokerFeed, Project, utcnow

LONGEST_TOPIC = 256
LONGEST_LOGIN = 200


@dataclass(frozen=True)
class FeedLogin:
    """A working feed as the listener needs it."""

    id: int
    project: str
    topic: str
    username: str
    password: str = field(repr=False)


def topic_filter(topic: str) -> str:
    """``topic`` trimmed, once it is an MQTT topic filter a feed may read: 1 to 256 characters,
    ``+`` only as a whole level, ``#`` only as the whole last one, not a ``$`` system topic."""
    topic = printable(topic.strip(), "A feed's topic")
    if not 1 <= len(topic) <= LONGEST_TOPIC:
        raise BadName(f"A feed's topic has 1 to {LONGEST_TOPIC} characters, not {len(topic)}.")
    if topic.startswith("$"):
        raise BadName(f"A feed reads curves, not the broker's own $ topics: {topic!r}.")
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise BadName(f"In {topic!r}, # stands alone as the last level (line7/#).")
        if "+" in level and level != "+":
            raise BadName(f"In {topic!r}, + stands alone for one level (line7/+/curves).")
    return topic


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Whether MQTT delivers ``topic`` to a subscription to ``topic_filter`` (``+`` one level,
    ``#`` the rest, the level above included)."""
    wanted, levels = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(wanted):
        if level == "#":
            return True
        if i >= len(levels) or level not in ("+", levels[i]):
            return False
    return len(wanted) == len(levels)


def filters_overlap(a: str, b: str) -> bool:
    """Whether some topic matches both filters."""
    left, right = a.split("/"), b.split("/")
    for i in range(max(len(left), len(right))):
        x = left[i] if i < len(left) else None
        y = right[i] if i < len(right) else None
        if "#" in (x, y):
            return True
        if x is None or y is None or (x != y and "+" not in (x, y)):
            return False
    return True


# Never a project's name (models.names.GROUP_NAME): a topic of "any other project".
_NO_PROJECT = "\u00a7"


def _curvehouse_topics(topic: str, prefix: str, project: str) -> None:
    """Refuse a filter that reads another project's Curvehouse topic (``<prefix>/<p>/curves``):
    a feed is how a project takes its own curves, never how it reads another's."""
    if filter_matches(topic, f"{prefix}/{_NO_PROJECT}/curves"):
        raise BadName(
            f"{topic!r} would read every project's {prefix}/<project>/curves; a feed may read "
            f"only its own project's: {prefix}/{project}/curves."
        )
    levels, at = topic.split("/"), len(prefix.split("/"))  # where the project's name sits
    named = levels[at] if len(levels) > at else None
    if named not in (None, project) and filter_matches(topic, f"{prefix}/{named}/curves"):
        raise BadName(
            f"{topic!r} is project {named!r}'s topic; a feed may read only its own "
            f"project's: {prefix}/{project}/curves."
        )


def feed_login(username: str, password: str) -> tuple[str, str]:
    """The broker login as a feed keeps it: a username of 1 to 200 characters (trimmed) and a
    password of at most 200, neither with control characters."""
    username = label(username, "The broker login's username", longest=LONGEST_LOGIN)
    password = printable(password, "The broker login's password")
    if len(password) > LONGEST_LOGIN:
        raise BadName(f"The broker login's password has at most {LONGEST_LOGIN} characters.")
    return username, password


def new_feed(
    *,
    session: Session,
    actor: Principal,
    project: Project,
    name: str,
    topic: str,
    username: str,
    password: str,
    prefix: str,
) -> tuple[str, str, str, str]:
    """``(name, topic, username, password)`` as a new feed of ``project`` keeps them, once
    ``actor`` may map it and nothing refuses it: the filter's form, another project's
    Curvehouse topic (``prefix``), a working feed reading some of the same topics."""
    require(session, actor, project.id, Action.MAP_FEEDS)
    name = label(name, "A feed's name")
    topic = topic_filter(topic)
    _curvehouse_topics(topic, prefix, project.name)
    username, password = feed_login(username, password)
    working = session.scalars(sa.select(BrokerFeed.topic).where(BrokerFeed.revoked_at.is_(None)))
    if any(filters_overlap(topic, other) for other in working):
        raise BadName(
            f"Another feed reads some of the topics {topic!r} would; one topic feeds one "
            "project. Revoke that feed first, or read narrower topics."
        )
    return name, topic, username, password


def create_broker_feed(
    *,
    session: Session,
    actor: Principal,
    project: Project,
    name: str,
    topic: str,
    username: str,
    password: str,
    prefix: str = "curvehouse",
) -> BrokerFeed:
    """Map ``topic`` of the plant's broker to ``project``, read with ``username``/``password``
    (checked against the broker by the caller first: ``pipelines.live.feeds.check_feed``);
    ``prefix`` is Curvehouse's topic prefix (:func:`new_feed` says what is refused)."""
    name, topic, username, password = new_feed(
        session=session,
        actor=actor,
        project=project,
        name=name,
        topic=topic,
        username=username,
        password=password,
        prefix=prefix,
    )
    feed = BrokerFeed(
        project_id=project.id,
        name=name,
        topic=topic,
        login={"username": username, "password": password},
        created_by=str(actor),
    )
    session.add(feed)
    session.flush()
    audit(
        session,
        str(actor),
        "broker_feed.create",
        "project",
        project.id,
        feed=feed.id,
        topic=topic,
        username=username,
        name=name,
    )
    return feed


def broker_feeds(session: Session, actor: Principal, project: Project) -> list[BrokerFeed]:
    """The project's working feeds, newest first (for those who may map them)."""
    require(session, actor, project.id, Action.MAP_FEEDS)
    return list(
        session.scalars(
            sa.select(BrokerFeed)
            .where(BrokerFeed.project_id == project.id, BrokerFeed.revoked_at.is_(None))
            .order_by(BrokerFeed.id.desc())
        )
    )


def revoke_broker_feed(*, session: Session, actor: Principal, feed: BrokerFeed) -> None:
    require(session, actor, feed.project_id, Action.MAP_FEEDS)
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
        audit(
            session,
            str(actor),
            "broker_feed.revoke",
            "project",
            feed.project_id,
            feed=feed.id,
            topic=feed.topic,
        )


def working_feeds(session: Session) -> list[FeedLogin]:
    """Every working feed, by id, with its login opened: for the listener only."""
    rows = session.execute(
        sa.select(BrokerFeed.id, Project.name, BrokerFeed.topic, BrokerFeed.login)
        .join(Project, Project.id == BrokerFeed.project_id)
        .where(BrokerFeed.revoked_at.is_(None))
        .order_by(BrokerFeed.id)
    )
    return [
        FeedLogin(fid, project, topic, login["username"], login["password"])
        for fid, project, topic, login in rows
    ]
