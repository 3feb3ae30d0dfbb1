"""Drift alerts by mail (issue 19 §6): each cycle, every project's stations are watched over the
parts of the last :data:`HISTORY` (:func:`pipelines.drifts.station_drifts`, the same alerts as
the Quality page and ``GET /api/projects/{id}/drifts``), and the alerts not mailed yet go out in
one mail per project through ``CURVEHOUSE_SMTP_URL``.

Who gets them: the project's members whose role may change its evaluation rules (engineers,
admins and owners, directly or through a team; :data:`RECIPIENTS`). A drift asks someone to look
at a station and perhaps at its limits, which is what those roles do; viewers only read, and
are often whole shifts of people. Locked-out people get nothing.

"Already mailed" is read from the audit trail, so a restart mails nothing twice and needs no
state of its own: every mailing is one ``drift.mail`` row naming its alerts (station, feature,
direction, and the span from the first drifting part to the last). An alert is new unless a
mailed one of the same station, feature and direction overlaps its span: the same drift seen
again a minute later, with more parts, is not mailed again. A refused mail is one
``drift.mail_failed`` row, and its alerts are still new at the next cycle.

Limits: a drift still going on :data:`HISTORY` after it was mailed has lost its start from the
window and is mailed once more; without a mail server nothing is read at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa

from app.api.scope import project_store
from app.periodic import Periodic
from models.access import Action, people_who_may
from models.audit import audit
from models.plants import PlantBook, load_plants
from models.tables import AuditEvent, Project
from models.times import utc_text
from pipelines.configured import StoredFeatures
from pipelines.curves import Curves
from pipelines.drifts import DriftAlert, station_drifts
from pipelines.kernels.features import FEATURES
from pipelines.views import CurveFilter
from providers.errors import ProviderError
from providers.mail import send_mail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.services import Services

log = logging.getLogger(__name__)

PERIOD_SECONDS = 60.0
HISTORY = timedelta(hours=24)  # the parts each cycle watches: enough for every station's σ
RECIPIENTS = Action.EDIT_RULES  # who is mailed: see the module
ACTOR = "drift-watch"
MAILED, FAILED = "drift.mail", "drift.mail_failed"
LOOK_BACK = 1000  # mailings read back from the audit trail per project and cycle
COLUMNS = ("plant", "station", "program", "started_at")


@dataclass(frozen=True)
class Mailed:
    """An alert as the audit trail keeps it."""

    station: str
    feature: str
    direction: str
    since: pd.Timestamp
    until: pd.Timestamp

    @classmethod
    def of(cls, alert: DriftAlert) -> Mailed:
        return cls(alert.station, alert.feature, alert.direction, alert.since, alert.until)

    @classmethod
    def from_detail(cls, item: dict) -> Mailed:
        return cls(
            item["station"],
            item["feature"],
            item["direction"],
            pd.Timestamp(item["since"]),
            pd.Timestamp(item["until"]),
        )

    def covers(self, alert: DriftAlert) -> bool:
        """Whether ``alert`` is this drift seen again: same station, feature and direction,
        spans that overlap."""
        return (
            (alert.station, alert.feature, alert.direction)
            == (self.station, self.feature, self.direction)
            and alert.since <= self.until
            and alert.until >= self.since
        )


def _detail(alert: DriftAlert) -> dict:
    return {
        "station": alert.station,
        "feature": alert.feature,
        "direction": alert.direction,
        "since": alert.since.isoformat(),
        "alarm": alert.alarm.isoformat(),
        "until": alert.until.isoformat(),
        "sigma": round(alert.shift_sigma, 2),
        "parts": len(alert.curve_ids),
    }


class AlertMailer(Periodic):
    """Mails new drift alerts every ``period`` seconds on a thread of its own (:meth:`start`);
    :meth:`cycle` is one pass (tests call it with the time they want)."""

    name = "alert-mailer"

    def __init__(
        self,
        services: Services,
        *,
        period: float = PERIOD_SECONDS,
        history: timedelta = HISTORY,
        plants: PlantBook | None = None,
    ) -> None:
        super().__init__(period=period)
        self.services, self.history = services, history
        self.plants = plants or load_plants()
        self._unmailable: set[int] = set()  # projects with alerts and no one to mail them to
        self._names: dict[str, str] = {}  # a configured feature's column -> its name

    def cycle(self, now: datetime | None = None) -> int:
        """Mail each project's new alerts over the parts started in the :attr:`history`
        before ``now`` (default: now); the number of mails the mail server took."""
        if not self.services.settings.smtp.configured:
            return 0
        moment = pd.Timestamp(now or datetime.now(UTC))
        with self.services.metadata.sessions() as session:
            projects = session.execute(sa.select(Project.id, Project.name)).all()
        sent = 0
        for project_id, name in projects:
            try:
                sent += self._project(project_id, name, moment)
            except Exception:  # one project's home away must not keep the others' alerts
                log.exception("drift alerts of project %s", name)
        return sent

    def alerts(self, project: str, now: pd.Timestamp) -> tuple[list[DriftAlert], pd.DataFrame]:
        """The drift alerts of ``project``'s parts started in the history before ``now``, on
        every feature (the fixed ones and the project's configured ones), and those parts'
        features."""
        store = project_store(self.services, project)
        window = CurveFilter.of(start=now - self.history, end=now)
        curves = Curves(store.client, store.database, projects=(project,)).matching(window)
        configured = StoredFeatures(self.services.metadata).of(project)
        features = curves.features(COLUMNS, configured)
        if features.empty:
            return [], features
        self._names = {c.column: c.name for c in configured}
        watched = [*FEATURES, *(c.column for c in configured)]
        return [a for feature in watched for a in station_drifts(features, feature)], features

    def _project(self, project_id: int, name: str, now: pd.Timestamp) -> int:
        alerts, features = self.alerts(name, now)
        if not alerts:
            return 0
        store = self.services.metadata
        with store.sessions() as session:
            mailed = mailed_alerts(session, project_id)
            new = sorted(
                (a for a in alerts if not any(m.covers(a) for m in mailed)),
                key=lambda a: (a.since, a.station),
            )
            if not new:
                return 0
            people = [u for u in people_who_may(session, project_id, RECIPIENTS) if not u.locked_at]
            if not people:
                if project_id not in self._unmailable:  # said once, not every minute
                    log.warning("drift alerts of project %s: no engineer, admin or owner", name)
                    self._unmailable.add(project_id)
                return 0
            self._unmailable.discard(project_id)
            recipients = [u.email for u in people]
            details = [_detail(a) for a in new]
            settings = self.services.settings
            try:
                send_mail(
                    settings.smtp.url.get_secret_value(),
                    settings.mail_from,
                    recipients,
                    self._subject(name, new, features),
                    self._body(name, new, features),
                )
            except ProviderError as exc:
                audit(session, ACTOR, FAILED, "project", project_id, alerts=details, error=str(exc))
                session.commit()
                return 0
            audit(
                session, ACTOR, MAILED, "project", project_id, alerts=details, recipients=recipients
            )
            session.commit()
        return 1

    # --- the mail ------------------------------------------------------------------------------

    def _zone(self, alert: DriftAlert, features: pd.DataFrame) -> str:
        plants = features.loc[features["station"] == alert.station, "plant"]
        return (self.plants.zone(str(plants.iloc[0])) if len(plants) else None) or "UTC"

    def _words(self, alert: DriftAlert, features: pd.DataFrame) -> str:
        return alert.words(self._zone(alert, features), name=self._names.get(alert.feature))

    def _subject(self, project: str, alerts: list[DriftAlert], features: pd.DataFrame) -> str:
        if len(alerts) == 1:
            alert = alerts[0]
            return f"Drift in {project}: {self._words(alert, features)}"
        stations = len({a.station for a in alerts})
        return f"Drift in {project}: {len(alerts)} alerts at {stations} station(s)"

    def _body(self, project: str, alerts: list[DriftAlert], features: pd.DataFrame) -> str:
        hours = self.history.total_seconds() / 3600
        lines = [
            f"Curvehouse watches the stations of project {project} for drift: each feature of a "
            f"station's parts in σ of its program, CUSUM over the parts of the last {hours:g} h. "
            "New since the last mail:",
            "",
        ]
        base = (self.services.settings.public_url or "").rstrip("/")
        for alert in alerts:
            zone = self._zone(alert, features)
            lines.append(f"- {self._words(alert, features)} ({zone} time)")
            lines.append(
                f"  In UTC: first drifting part {alert.since:%Y-%m-%d %H:%M}, alarm at "
                f"{alert.alarm:%Y-%m-%d %H:%M}, last drifting part {alert.until:%Y-%m-%d %H:%M}."
            )
            if base:
                link = _link(project, _process(alert, features), alert)
                lines.append(f"  Its parts in the Curve Explorer: {base}/{link}")
        lines += [
            "",
            f"You get this mail as an engineer, admin or owner of project {project}: the people "
            "who may change its evaluation rules. Each drift is mailed once.",
        ]
        return "\n".join(lines) + "\n"


def _process(alert: DriftAlert, features: pd.DataFrame) -> str:
    found = features.loc[features["station"] == alert.station, "process"]
    return str(found.iloc[0]) if len(found) else ""


def _link(project: str, process: str, alert: DriftAlert) -> str:
    """The explorer on the station's parts from the first drifting one to the last."""
    query = {
        "project": project,
        "process": process,
        "station": alert.station,
        "start": utc_text(alert.since),
        "end": utc_text(alert.until + pd.Timedelta(milliseconds=1)),
    }
    return "curves?" + urlencode(query)


def mailed_alerts(session: Session, project_id: int) -> list[Mailed]:
    """The alerts of ``project_id``'s last :data:`LOOK_BACK` drift mailings, as audited
    (refusals do not count, however many there were)."""
    rows = session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action == MAILED,
            AuditEvent.target_type == "project",
            AuditEvent.target_id == str(project_id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(LOOK_BACK)
    )
    return [
        Mailed.from_detail(item) for row in rows for item in (row.detail or {}).get("alerts", [])
    ]
