"""Drift alerts by mail through a real SMTP server (aiosmtpd on a free port), on a stored demo
whose sensor drifts are known from the generator: the drift is mailed with its station and
start, once, to the engineers, admins and owners only; a refused mail is audited and sent at
the next cycle; a restarted mailer mails nothing twice."""

from __future__ import annotations

import email
import uuid
from email import policy

import pandas as pd
import pytest
import sqlalchemy as sa

from app.alert_mail import FAILED, MAILED, AlertMailer, Mailed
from app.services import Services
from models.access import Principal
from models.accounts import create_user
from models.feature_definitions import create_feature
from models.settings import Settings
from models.tables import (
    AuditEvent,
    Organisation,
    Project,
    ProjectMember,
    Role,
    User,
    utcnow,
)
from pipelines.configured import StoredFeatures, fill_project
from pipelines.curves import Curves
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from tests.providers.test_mail import Inbox
from tests.ui.conftest import free_port

pytestmark = pytest.mark.integration

# Two days at the density of the 10,000-curve week: each station makes ~60 parts a shift.
SPEC = DemoSpec(curves=3000, days=2, seed=7)
OWNER, ENGINEER = "owner@plant.example", "engineer@plant.example"
VIEWER, LOCKED = "viewer@plant.example", "locked@plant.example"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture(scope="module")
def demo(embedded_provider):
    """The demo's curves in a database of their own on the built-in engine (written once for
    the module), and their rows as the engine has them."""
    database = f"drift_{uuid.uuid4().hex[:8]}"
    client = embedded_provider.client()
    try:
        store = CurveStore.open(client, database)
        store.write(generate_demo(SPEC), DatasetSpec("demo", "demo", "d"))
        rows = Curves(client, database).metadata(
            None, columns=["curve_id", "station", "process", "started_at", "defect"]
        )
        rows["started_at"] = pd.to_datetime(rows["started_at"]).dt.tz_localize("UTC")
        yield database, rows
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{database}`")
        client.close()  # a client left open keeps later tests off their own engine


@pytest.fixture
def plant(demo, smtp, tmp_path):
    """Services mailing through the test server, reading the demo's database, with project
    ``demo`` and four members."""
    database, rows = demo
    _, port = smtp
    settings = Settings.from_env().with_overrides(
        database=database,
        database_url=f"sqlite:///{tmp_path / 'meta.db'}",
        smtp={"url": f"smtp://127.0.0.1:{port}"},
        mail_from="curvehouse@plant.example",
        public_url="https://curvehouse.plant.example/",
    )
    with Services(settings) as services:
        with services.metadata.sessions() as session:
            project = Project(organisation=Organisation(name="Plant"), name="demo")
            session.add(project)
            for address, role in (
                (OWNER, Role.OWNER),
                (ENGINEER, Role.ENGINEER),
                (VIEWER, Role.VIEWER),
                (LOCKED, Role.ENGINEER),
            ):
                user = create_user(session=session, email=address, password=None)
                user.locked_at = utcnow() if address == LOCKED else None
                session.add(ProjectMember(project=project, user=user, role=role))
            session.commit()
            project_id = project.id
        yield services, project_id, rows


def audited(services, action):
    with services.metadata.sessions() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
        return [(r.actor, r.target_id, r.detail) for r in rows]


def first_drift(rows: pd.DataFrame) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """The demo's first sensor drift that rejected parts after a shift of history (before,
    a station's programs have too few parts to judge by): its station, the start of the shift
    it drifted in (the generator's drift grows from the shift's start) and its first rejected
    part."""
    drifted = rows[rows["defect"] == "drift"].sort_values("started_at")
    history = rows["started_at"].min() + pd.Timedelta(hours=8)
    for station, rejected in zip(drifted["station"], drifted["started_at"], strict=True):
        hours = rejected - rejected.floor("D")
        start = max(h for h in (-2, 6, 14, 22) if pd.Timedelta(hours=h) <= hours)
        shift = rejected.floor("D") + pd.Timedelta(hours=start)  # -2: shift C of the day before
        if shift >= history:
            return station, shift, rejected
    raise AssertionError("the demo has no drift after its first shift")


def test_the_demos_drift_is_mailed_once_to_engineers_with_its_station_and_start(plant, smtp):
    services, project_id, rows = plant
    inbox, _ = smtp
    station, shift, rejected = first_drift(rows)
    now = rejected + pd.Timedelta(minutes=30)

    # The mail server refuses: audited with the alerts, nothing counts as mailed.
    closed = free_port()
    broken = Services(services.settings.with_overrides(smtp={"url": f"smtp://127.0.0.1:{closed}"}))
    with broken:
        assert AlertMailer(broken).cycle(now=now) == 0
    [(actor, target, failed)] = audited(services, FAILED)
    assert (actor, target) == ("drift-watch", str(project_id))
    assert "Could not send mail" in failed["error"]
    assert station in {a["station"] for a in failed["alerts"]}
    assert audited(services, MAILED) == [] and inbox.messages == []

    # The next cycle sends them.
    assert AlertMailer(services).cycle(now=now) == 1
    [(sender, to, raw)] = inbox.messages
    assert sender == "curvehouse@plant.example"
    assert sorted(to) == [ENGINEER, OWNER]  # not the viewer, not the locked-out engineer
    message = email.message_from_string(raw, policy=policy.default)
    body = message.get_body().get_content()
    [(_, _, mailed)] = audited(services, MAILED)
    assert sorted(mailed["recipients"]) == [ENGINEER, OWNER]
    assert [a["station"] for a in mailed["alerts"]] == [
        a["station"] for a in failed["alerts"]
    ]  # the refused mail's alerts, no more, no fewer

    # The drift the generator made is among them: at its station, going up, starting in the
    # shift it was made in and raising its alarm before the first part it got rejected.
    ours = [a for a in mailed["alerts"] if a["station"] == station and a["direction"] == "up"]
    # Every feature is watched: the sensor's offset raises the peak too, not only the area.
    assert {"area", "peak_y"} <= {a["feature"] for a in ours}, mailed["alerts"]
    [alert] = [a for a in ours if a["feature"] == "area"]
    since, alarm = pd.Timestamp(alert["since"]), pd.Timestamp(alert["alarm"])
    assert shift <= since < rejected and alarm < rejected, (shift, since, alarm, rejected)
    assert f"{station} area drifting up since " in body
    assert (
        f"In UTC: first drifting part {since:%Y-%m-%d %H:%M}, alarm at {alarm:%Y-%m-%d %H:%M}"
        in body
    )
    links = body.count("https://curvehouse.plant.example/curves?project=demo&process=")
    assert f"station={station}" in body and links == len(mailed["alerts"])
    subject = message["Subject"]
    assert subject.startswith("Drift in demo: ")
    if len(mailed["alerts"]) == 1:
        assert station in subject

    # Mailed once: the same drifts a few minutes later, with more parts, and a restarted
    # mailer, are not mailed again (a drift begun since, on any feature, may be).
    later = now + pd.Timedelta(minutes=20)
    AlertMailer(services).cycle(now=later)
    first = [Mailed.from_detail(a) for a in mailed["alerts"]]
    for _, _, again in audited(services, MAILED)[1:]:
        for alert in again["alerts"]:
            seen = Mailed.from_detail(alert)
            assert not any(m == seen or _overlap(m, seen) for m in first), alert


def _overlap(a: Mailed, b: Mailed) -> bool:
    same = (a.station, a.feature, a.direction) == (b.station, b.feature, b.direction)
    return same and a.since <= b.until and a.until >= b.since


def test_without_a_mail_server_nothing_is_read_or_audited(plant):
    services, _, rows = plant
    _, _, rejected = first_drift(rows)
    quiet = Services(services.settings.with_overrides(smtp={"url": None}))
    with quiet:
        assert AlertMailer(quiet).cycle(now=rejected) == 0
    assert audited(services, FAILED) == [] and audited(services, MAILED) == []


def test_configured_features_are_watched_by_their_names(plant):
    """A feature engineers defined drifts with the sensor too: its alerts come with the
    others, in the mail under the name they gave it."""
    services, project_id, rows = plant
    station, _shift, rejected = first_drift(rows)
    process = str(rows.loc[rows["station"] == station, "process"].iloc[0])
    with services.metadata.sessions() as session:
        owner = session.scalars(sa.select(User).where(User.email == OWNER)).one()
        made = create_feature(
            session=session,
            actor=Principal(owner.email, owner.id),
            project=session.get(Project, project_id),
            process=process,
            name="force at 5 mm",
            kind="y_at_x",
            a=5.0,
        )
        session.commit()
        column = f"feature_{made.id}"
    store = services.open_store()
    try:
        assert fill_project(store, "demo", StoredFeatures(services.metadata).of("demo")) > 0
    finally:
        store.client.close()
    mailer = AlertMailer(services)
    alerts, features = mailer.alerts("demo", rejected + pd.Timedelta(hours=2))
    mine = [a for a in alerts if a.feature == column and a.station == station]
    up = [a for a in mine if a.direction == "up"]
    assert up, [(a.station, a.feature, a.direction) for a in alerts]
    assert f"{station} force at 5 mm drifting up since " in mailer._words(up[0], features)
