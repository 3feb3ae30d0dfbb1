"""Scheduled shift reports through a real SMTP server (aiosmtpd on a free port): a period is
mailed once, after its last shift ended, to every recipient with one PDF per shift whose
figures are the shift's as pandas counts them; each mailing is one audit row; a mail server
that refuses is audited and the period is tried again."""

from __future__ import annotations

import email
import uuid
from email import policy

import pandas as pd
import pytest
import sqlalchemy as sa

from app.report_mail import ReportMailer
from app.services import Services
from models.access import NotFound, Principal
from models.accounts import create_user
from models.reports import add_schedule
from models.settings import Settings
from models.tables import AuditEvent, Organisation, Project, ProjectMember, ReportSchedule, Role
from pipelines.store import DatasetSpec
from pipelines.synthetic import generate_demo
from tests.pipelines.reports.demo import SPEC, shift_figures, shift_rows
from tests.providers.test_mail import Inbox
from tests.providers.test_pdf import CHROMIUM, read_pdf
from tests.ui.conftest import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.ui,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM}"),
]
OPERATOR = Principal("ops@plant.example")
LEAD, QA = "lead@plant.example", "qa@plant.example"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def plant(embedded_provider, smtp, tmp_path):
    """Services mailing through the test server, project ``demo`` with the demo's curves on
    the built-in engine, and its rows as pandas reads them."""
    _, port = smtp
    database = f"mail_{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env().with_overrides(
        database=database,
        database_url=f"sqlite:///{tmp_path / 'meta.db'}",
        smtp={"url": f"smtp://127.0.0.1:{port}"},
        mail_from="reports@plant.example",
    )
    with Services(settings) as services:
        with services.metadata.sessions() as session:
            project = Project(organisation=Organisation(name="Plant"), name="demo")
            viewer = create_user(session=session, email="viewer@plant.example", password=None)
            session.add_all(
                [project, ProjectMember(project=project, user=viewer, role=Role.VIEWER)]
            )
            session.commit()
            project_id, viewer_id = project.id, viewer.id
        store = services.open_store()
        try:
            store.write(generate_demo(SPEC), DatasetSpec("demo", "demo", "d"))
            rows = store.client.query_df(
                "SELECT project, curve_id, plant, process, part_serial, toString(result) AS "
                f"result, started_at FROM `{database}`.curves WHERE project = 'demo'"
            )
            rows["started_at"] = pd.to_datetime(rows["started_at"]).dt.tz_localize("UTC")
            yield services, project_id, viewer_id, rows
        finally:
            store.client.command(f"DROP DATABASE IF EXISTS `{database}`")
            store.client.close()  # a client left open keeps later tests off their own engine


def schedule(services, project_id, who=OPERATOR, **kwargs):
    with services.metadata.sessions() as session:
        made = add_schedule(
            session=session,
            who=who,
            project_id=project_id,
            name="Leipzig late shift",
            plant="Leipzig",
            recipients=[LEAD, "QA@Plant.example"],
            **{"cadence": "shift", "shifts": ("B",), "now": utc("2026-11-16 12:00"), **kwargs},
        )
        session.commit()
        return made.id


def audit_rows(services, action):
    with services.metadata.sessions() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
        return [(r.actor, r.target_id, r.detail) for r in rows]


def test_a_shift_is_mailed_once_after_it_ends_with_its_figures(plant, smtp):
    services, project_id, _, rows = plant
    inbox, _ = smtp
    schedule_id = schedule(services, project_id)
    mailer = ReportMailer(services)
    assert mailer.cycle(now=utc("2026-11-16 21:59")) == 0  # shift B runs until 22:00 UTC
    assert inbox.messages == []
    assert mailer.cycle(now=utc("2026-11-16 22:01")) == 1
    assert mailer.cycle(now=utc("2026-11-16 22:02")) == 0  # mailed once

    [(sender, to, raw)] = inbox.messages
    assert sender == "reports@plant.example" and sorted(to) == [LEAD, QA]
    message = email.message_from_string(raw, policy=policy.default)
    assert message["Subject"] == "Leipzig late shift: Leipzig, 2026-11-16 B"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "shift-report-demo-Leipzig-2026-11-16-B.pdf"
    text, _ = read_pdf(attachment.get_content())
    window = (utc("2026-11-16 14:00"), utc("2026-11-16 22:00"))
    expected = shift_figures(shift_rows(rows, plant="Leipzig", window=window))
    assert expected["parts"] > 0
    assert f"{expected['parts']:,} Parts" in text
    assert f"{100 * expected['first_pass_yield']:.1f} % First-pass yield" in text

    [(actor, target, detail)] = audit_rows(services, "report.mail")
    assert (actor, target) == ("scheduler", str(project_id))
    assert detail["schedule"] == schedule_id and detail["period"] == "2026-11-16 B"
    assert sorted(detail["recipients"]) == [LEAD, QA]
    assert detail["files"] == ["shift-report-demo-Leipzig-2026-11-16-B.pdf"]
    with services.metadata.sessions() as session:
        assert session.get(ReportSchedule, schedule_id).mailed_until == window[1]


def test_a_refused_mail_is_audited_and_tried_again(plant, smtp):
    services, project_id, _, _ = plant
    inbox, _ = smtp
    # The key figures alone: the density pictures made a report take 4 s, and this test
    # renders three (the first test draws and prints a whole one).
    schedule_id = schedule(services, project_id, cadence="daily", shifts=(), panels=("kpis",))
    closed = free_port()
    broken = Services(services.settings.with_overrides(smtp={"url": f"smtp://127.0.0.1:{closed}"}))
    # Leipzig's days end with shift C (22:00-06:00 UTC): the 16th is due at 06:00 on the 17th,
    # the 17th at 06:00 on the 18th. The first refused, the second waits for it.
    printed = []

    def printer(html: str) -> bytes:  # chromium's printing is the first test's
        printed.append(html)
        return f"%PDF-1.4 report {len(printed)}".encode()

    with broken:
        assert ReportMailer(broken, printer=printer).cycle(now=utc("2026-11-18 06:30")) == 0
    [(_, _, failed)] = audit_rows(services, "report.mail_failed")
    assert failed["period"] == "2026-11-16" and "Could not send mail" in failed["error"]
    assert audit_rows(services, "report.mail") == []
    assert ReportMailer(services, printer=printer).cycle(now=utc("2026-11-18 06:31")) == 2
    first, second = (
        email.message_from_string(raw, policy=policy.default) for _, _, raw in inbox.messages
    )
    # A day of consecutive shifts is one report of the day, its shifts side by side.
    names = [a.get_filename() for a in first.iter_attachments()]
    assert names == ["day-report-demo-Leipzig-2026-11-16.pdf"]
    assert "the day report of Leipzig" in first.get_body(("plain",)).get_content()
    # The refused cycle printed the 16th's report; the mail carries the second printing.
    assert [a.get_content() for a in first.iter_attachments()] == [b"%PDF-1.4 report 2"]
    assert len(printed) == 3 and all("Per shift" in html for html in printed)
    assert second["Subject"].endswith("2026-11-17")
    mailed = audit_rows(services, "report.mail")
    assert [(d["schedule"], d["period"]) for _, _, d in mailed] == [
        (schedule_id, "2026-11-16"),
        (schedule_id, "2026-11-17"),
    ]


def test_a_day_of_shifts_with_gaps_mails_each_shift(plant, smtp):
    """Shifts A and C of a day leave B between them: one report cannot cover them as one
    stretch, so each gets its own, in one mail."""
    services, project_id, _, _ = plant
    inbox, _ = smtp
    schedule(services, project_id, cadence="daily", shifts=("A", "C"), panels=("kpis",))
    mailer = ReportMailer(services, printer=lambda html: b"%PDF-1.4 " + html[:20].encode())
    assert mailer.cycle(now=utc("2026-11-17 06:30")) == 1
    [(_, _, raw)] = inbox.messages
    message = email.message_from_string(raw, policy=policy.default)
    assert [a.get_filename() for a in message.iter_attachments()] == [
        f"shift-report-demo-Leipzig-2026-11-16-{s}.pdf" for s in "AC"
    ]
    assert "the shift reports of Leipzig" in message.get_body(("plain",)).get_content()


def test_a_viewer_cannot_schedule_mail(plant):
    services, project_id, viewer_id, _ = plant
    from models.access import AccessError

    with pytest.raises((AccessError, NotFound)):
        schedule(services, project_id, who=Principal("viewer@plant.example", viewer_id))
