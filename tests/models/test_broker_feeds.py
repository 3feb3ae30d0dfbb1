"""Broker feeds: only a project's owners map a plant broker's topic to it; the login they give
is sealed at rest and opened only for the listener; a topic feeds one project."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.access import Forbidden, NotFound, operator
from models.broker_feeds import (
    FeedLogin,
    broker_feeds,
    create_broker_feed,
    filter_matches,
    filters_overlap,
    revoke_broker_feed,
    topic_filter,
    working_feeds,
)
from models.names import BadName
from models.settings import Settings
from models.store import open_metadata
from models.tables import AuditEvent, Organisation, Project, ProjectMember, Role, User
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)
from tests.models.test_sealing import stored_bytes

SECRET = "plant-broker-Secret-7f3a"


def feed(session, actor, project, topic="plant/line7/+/curves", **given):
    return create_broker_feed(
        session=session,
        actor=actor,
        project=project,
        name=given.pop("name", "line 7 presses"),
        topic=topic,
        username=given.pop("username", "curvehouse-line7"),
        password=given.pop("password", SECRET),
    )


def test_only_owners_map_a_feed_and_what_they_map_reads_back(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press = session.get(Project, ids["press"])
        session.add(ProjectMember(project=press, user_id=ids["cy"], role=Role.OWNER))
        session.commit()
        with pytest.raises(Forbidden):  # Ana is an admin of Press: admins grant tokens only
            feed(session, who(ids, "ana"), press)
        with pytest.raises(NotFound):  # Ben has no role in Press
            feed(session, who(ids, "ben"), press)
        made = feed(session, who(ids, "cy"), press)
        session.commit()
        assert [f.id for f in broker_feeds(session, who(ids, "cy"), press)] == [made.id]
        with pytest.raises(Forbidden):
            broker_feeds(session, who(ids, "ana"), press)
        assert working_feeds(session) == [
            FeedLogin(made.id, "Press", "plant/line7/+/curves", "curvehouse-line7", SECRET)
        ]
        with pytest.raises(Forbidden):
            revoke_broker_feed(session=session, actor=who(ids, "ana"), feed=made)
        revoke_broker_feed(session=session, actor=who(ids, "cy"), feed=made)
        session.commit()
        assert working_feeds(session) == [] and broker_feeds(session, operator(), press) == []
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target_id == str(ids["press"]))
        ).all()
        assert {"broker_feed.create", "broker_feed.revoke"} <= set(actions)
        audited = " ".join(str(e.detail) for e in session.scalars(sa.select(AuditEvent)))
        assert SECRET not in audited


def test_one_topic_feeds_one_project(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press, weld = session.get(Project, ids["press"]), session.get(Project, ids["weld"])
        first = feed(session, operator(), press)
        with pytest.raises(BadName, match="Another feed reads"):
            feed(session, operator(), weld)
        feed(session, operator(), weld, topic="plant/line8/#")  # another topic is another feed
        revoke_broker_feed(session=session, actor=operator(), feed=first)
        feed(session, operator(), weld)  # once revoked, the topic is free again


@pytest.mark.parametrize(
    ("topic", "words"),
    [
        ("", "1 to 256"),
        ("x" * 257, "1 to 256"),
        ("$SYS/broker/#", "$ topics"),
        ("plant/#/curves", "# stands alone"),
        ("plant/line#", "# stands alone"),
        ("plant/line+/curves", "+ stands alone"),
        ("plant/\x00/curves", "control characters"),
    ],
)
def test_a_topic_filter_mqtt_would_refuse_is_refused_in_words(topic, words):
    with pytest.raises(BadName, match=words.replace("$", r"\$").replace("+", r"\+")):
        topic_filter(topic)


@pytest.mark.parametrize("topic", ["plant/line7/press/curves", "+/+/curves", "#", " a/b/# "])
def test_mqtt_topic_filters_are_taken(topic):
    assert topic_filter(topic) == topic.strip()


def test_the_login_is_sealed_in_the_store_file(tmp_path):
    settings = Settings(home=tmp_path)
    with open_metadata(settings) as store, store.sessions() as session:
        project = Project(name="Press", organisation=Organisation(name="Plant"))
        session.add_all([project, User(email="o@plant.example", display_name="o")])
        session.flush()
        feed(session, operator(), project)
        session.commit()
    raw = stored_bytes(tmp_path)
    assert b"plant/line7/+/curves" in raw  # the file is the store
    assert SECRET.encode() not in raw
    with open_metadata(settings) as store, store.sessions() as session:
        assert working_feeds(session)[0].password == SECRET


@pytest.mark.parametrize(
    ("topic", "words"),
    [
        ("curvehouse/+/curves", "would read every project's"),
        ("curvehouse/#", "would read every project's"),
        ("#", "would read every project's"),
        ("+/+/curves", "would read every project's"),
        ("curvehouse/Weld/curves", "is project 'Weld''s topic"),
        ("curvehouse/Weld/#", "is project 'Weld''s topic"),
        ("+/Weld/+", "is project 'Weld''s topic"),
    ],
)
def test_a_feed_never_reads_another_project_s_curvehouse_topic(plant, topic, words):  # noqa: F811
    sessions, ids = plant
    with sessions() as session, pytest.raises(BadName, match=words.replace("+", r"\+")):
        feed(session, operator(), session.get(Project, ids["press"]), topic=topic)


@pytest.mark.parametrize(
    "topic", ["curvehouse/Press/curves", "curvehouse/Press/#", "+/Press/curves", "plant/#"]
)
def test_its_own_curvehouse_topic_and_the_plant_s_topics_are_mapped(plant, topic):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        assert feed(session, operator(), session.get(Project, ids["press"]), topic=topic).id


def test_overlapping_filters_are_one_topic_feeding_two_projects(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press, weld = session.get(Project, ids["press"]), session.get(Project, ids["weld"])
        feed(session, operator(), press, topic="line7/+/curves")
        for topic in ("line7/#", "line7/press/curves", "line7/+/+", "line7/+/+/#"):
            with pytest.raises(BadName, match="Another feed reads some of the topics"):
                feed(session, operator(), weld, topic=topic)
        feed(session, operator(), weld, topic="line7/press/forces")  # beside it: fine


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/d", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("a/+", "a", False),
        ("#", "a/b", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_filters_match_as_mqtt_delivers(topic_filter, topic, matches):
    assert filter_matches(topic_filter, topic) is matches


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("a/+/c", "a/b/#", True),
        ("a/b", "a/#", True),
        ("a/b/c", "a/+/d", False),
        ("a/b", "a/b/c", False),
        ("+/x", "y/+", True),
    ],
)
def test_filters_overlap_when_a_topic_matches_both(a, b, overlap):
    assert filters_overlap(a, b) is overlap and filters_overlap(b, a) is overlap
