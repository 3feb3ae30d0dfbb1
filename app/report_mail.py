"""Scheduled shift reports: each schedule's periods that ended are rendered, printed to PDF
and mailed through ``CURVEHOUSE_SMTP_URL``, one mail per period: the day's or week's report
when its shifts follow each other, else one PDF per shift.

One mailer per server process, started by ``curvehouse serve`` beside the cluster poller. Its
state is the metadata store (each schedule's ``mailed_until``), so a restart resumes it and a
period is mailed once: a schedule moves on, with the audit row of that mailing, only after the
mail server took the mail. A mail that fails is audited as such and tried again next cycle.
Without a mail server nothing is rendered and nothing moves on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from app.api.scope import project_store
from app.periodic import Periodic
from models.audit import audit
from models.plants import PlantBook, load_plants
from models.reports import mark_mailed, schedules
from models.tables import Project, ReportSchedule
from pipelines.curves import Curves
from pipelines.reports import PANELS, ReportDefinition, ShiftRef, render_shift_report
from pipelines.reports.schedule import Period, ended_periods
from pipelines.views import CurveFilter, FilterError
from providers.errors import ProviderError
from providers.mail import send_mail
from providers.pdf import print_pdf

if TYPE_CHECKING:
    from app.services import Services

PERIOD_SECONDS = 60.0


class ReportMailer(Periodic):
    """Mails due reports every ``period`` seconds on a thread of its own (:meth:`start`);
    :meth:`cycle` is one pass (tests call it with the time they want)."""

    name = "report-mailer"

    def __init__(
        self,
        services: Services,
        *,
        period: float = PERIOD_SECONDS,
        plants: PlantBook | None = None,
        printer: Callable[[str], bytes] | None = None,
    ) -> None:
        """``printer``: a report's HTML to PDF bytes (default: chromium, on this thread)."""
        super().__init__(period=period)
        self.services = services
        self.plants = plants or load_plants()
        chromium = services.settings.chromium
        self.printer = printer or (lambda html: print_pdf(html, chromium=chromium))

    def cycle(self, now: datetime | None = None) -> int:
        """Mail every period that ended by ``now`` (default: now); the number of mails sent."""
        settings = self.services.settings
        if not settings.smtp.configured:
            return 0
        moment = pd.Timestamp(now or datetime.now(UTC))
        store = self.services.metadata
        due: list[tuple[int, Period]] = []
        with store.sessions() as session:
            for s in schedules(session):
                try:
                    periods = ended_periods(
                        cadence=s.cadence,
                        plant=s.plant,
                        shifts=tuple(s.shifts),
                        after=pd.Timestamp(s.mailed_until),
                        now=moment,
                        book=self.plants,
                    )
                except FilterError as exc:  # a plant's shifts renamed since: said, not fatal
                    print(f"report mailer: schedule {s.id}: {exc}", flush=True)
                    continue
                due += [(s.id, period) for period in periods]
        sent, failed = 0, set()
        for schedule_id, period in due:
            if schedule_id in failed:  # its later periods wait, so none is skipped
                continue
            with store.sessions() as session:
                schedule = session.get(ReportSchedule, schedule_id)
                project = session.get(Project, schedule.project_id) if schedule else None
                if schedule is None or project is None:
                    continue
                try:
                    attachments = self._reports(schedule, project.name, period)
                    send_mail(
                        settings.smtp.url.get_secret_value(),
                        settings.mail_from,
                        schedule.recipients,
                        f"{schedule.name}: {schedule.plant}, {period.key}",
                        _body(schedule, project.name, period),
                        attachments=attachments,
                    )
                except (ProviderError, FilterError) as exc:
                    audit(
                        session, "scheduler", "report.mail_failed", "project", project.id,
                        schedule=schedule.id, period=period.key, error=str(exc),
                    )  # fmt: skip
                    session.commit()
                    failed.add(schedule_id)
                    continue
                mark_mailed(
                    session,
                    schedule,
                    until=period.end.to_pydatetime(),
                    period=period.key,
                    recipients=schedule.recipients,
                    shifts=[f"{w.ref.day.isoformat()} {w.ref.shift}" for w in period.shifts],
                    files=[name for name, _, _ in attachments],
                )
                session.commit()
                sent += 1
        return sent

    def _reports(
        self, schedule: ReportSchedule, project: str, period: Period
    ) -> list[tuple[str, str, bytes]]:
        """The PDFs of ``period``, printed on this thread: one report of the whole day or
        week when its shifts follow each other (all of them, or a run of them), else one per
        shift."""
        store = project_store(self.services, project)
        curves = Curves(store.client, store.database, projects=(project,))
        where = CurveFilter.of(**schedule.filters)
        panels = tuple(schedule.panels) or PANELS
        files = []
        for window in period.shifts[:1] if period.combined else period.shifts:
            ref = ShiftRef(schedule.plant, window.ref.day, window.ref.shift)
            definition = ReportDefinition(project=project, shift=ref, where=where, panels=panels)
            report = render_shift_report(
                curves, definition, plants=self.plants, period=period if period.combined else None
            )
            pdf = self.printer(report.html)
            files.append((report.filename("pdf"), "application/pdf", pdf))
        return files


def _body(schedule: ReportSchedule, project: str, period: Period) -> str:
    first, last = period.shifts[0], period.shifts[-1]
    many = "s" if len(period.shifts) > 1 else ""
    what = f"the {period.noun} report" if period.combined else f"the shift report{many}"
    return (
        f"{schedule.name}: {what} of "
        f"{schedule.plant} in project {project}, {period.key} "
        f"({len(period.shifts)} shift{'s' if len(period.shifts) > 1 else ''}, from "
        f"{first.ref.day.isoformat()} {first.ref.shift} to {last.ref.day.isoformat()} "
        f"{last.ref.shift}), attached as PDF.\n\nMailed by Curvehouse on schedule "
        f"{schedule.id} ({schedule.cadence}).\n"
    )
