"""Report schedules: a project's shift report mailed after each shift, day or week.

Mailing a project's figures to people is sharing them, so making a schedule needs
``share_views`` (engineer) in the project, as sharing a saved view does. What a report shows is
checked where it is made (``pipelines.reports``); here only the stored shape is bounded. The
mailer (``app.report_mail``) reads schedules, and :func:`mark_mailed` moves one past a period
once its mail went out, with the audit row of that mailing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, NotFound, Principal, require
from models.audit import audit
from models.names import BadName, label
from models.plants import PlantBook, load_plants
from models.tables import ReportSchedule, normal_email, utcnow

# How often a schedule mails: after each shift, after each day's last shift, or each week's
# (Monday to Sunday, on the clocks the plant's shifts are kept by).
CADENCES = ("shift", "daily", "weekly")
MAX_RECIPIENTS = 50
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# What an edit may change (the rest is the schedule's history: who made it, when, how far mailed).
EDITABLE = ("name", "plant", "cadence", "recipients", "shifts", "filters", "panels")


def add_schedule(
    *,
    session: Session,
    who: Principal,
    project_id: int,
    name: str,
    plant: str,
    cadence: str,
    recipients: Sequence[str],
    shifts: Sequence[str] = (),
    filters: Mapping[str, Sequence[str]] | None = None,
    panels: Sequence[str] = (),
    now: datetime | None = None,
    plants: PlantBook | None = None,
) -> ReportSchedule:
    """A new schedule of ``project_id``, mailing the periods that end from ``now`` on;
    audited. :class:`~models.names.BadName` says what is wrong with a field; the plant's
    shifts are ``plants``' (default: the packaged plant book)."""
    require(session, who, project_id, Action.SHARE_VIEWS)
    fields = _checked(
        name=name, plant=plant, cadence=cadence, recipients=recipients, shifts=shifts,
        plants=plants,
    )  # fmt: skip
    schedule = ReportSchedule(
        project_id=project_id,
        created_by=who.label,
        filters={k: [str(v) for v in values] for k, values in (filters or {}).items()},
        panels=[str(p) for p in panels],
        mailed_until=now or utcnow(),
        **fields,
    )
    session.add(schedule)
    session.flush()
    audit(
        session,
        who.label,
        "report.schedule",
        "project",
        project_id,
        schedule=schedule.id,
        name=schedule.name,
        cadence=cadence,
        recipients=schedule.recipients,
    )
    return schedule


def change_schedule(
    *,
    session: Session,
    who: Principal,
    project_id: int,
    schedule_id: int,
    changes: Mapping[str, object],
    plants: PlantBook | None = None,
) -> ReportSchedule:
    """Change some of a schedule's fields (``share_views``, as making it); audited
    (``report.reschedule``, naming the fields changed). ``changes`` holds any of ``name``,
    ``plant``, ``cadence``, ``recipients``, ``shifts``, ``filters``, ``panels``; the schedule
    as changed is checked whole, as a new one is, and its mailings go on from where they got
    to. A schedule of another project is :class:`~models.access.NotFound`."""
    require(session, who, project_id, Action.SHARE_VIEWS)
    schedule = session.get(ReportSchedule, schedule_id)
    if schedule is None or schedule.project_id != project_id:
        raise NotFound(f"There is no report schedule {schedule_id} in this project.")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise BadName(f"a report schedule has no field {unknown[0]!r} to change")
    merged = {f: changes.get(f, getattr(schedule, f)) for f in ("name", "plant", "cadence")}
    merged |= {f: changes.get(f, getattr(schedule, f)) for f in ("recipients", "shifts")}
    fields = _checked(**merged, plants=plants)
    if "filters" in changes:
        filters = changes["filters"] or {}
        fields["filters"] = {k: [str(v) for v in values] for k, values in filters.items() if values}
    if "panels" in changes:
        fields["panels"] = [str(p) for p in changes["panels"] or ()]
    changed = sorted(f for f, value in fields.items() if getattr(schedule, f) != value)
    for field_name in changed:
        setattr(schedule, field_name, fields[field_name])
    if changed:
        session.flush()
        audit(
            session, who.label, "report.reschedule", "project", project_id,
            schedule=schedule.id, name=schedule.name, changed=changed,
        )  # fmt: skip
    return schedule


def _checked(
    *,
    name: str,
    plant: str,
    cadence: str,
    recipients: Sequence[str],
    shifts: Sequence[str],
    plants: PlantBook | None,
) -> dict[str, object]:
    """A schedule's checked fields, as stored; :class:`BadName` says what is wrong."""
    if cadence not in CADENCES:
        raise BadName(f"no report cadence {cadence!r}; choose one of {', '.join(CADENCES)}")
    known = (plants or load_plants()).shifts_of(plant.strip())
    unknown = [s for s in shifts if s not in known.starts]
    if unknown:
        raise BadName(
            f"plant {plant.strip()!r} has no shift {unknown[0]!r}; its shifts are "
            f"{', '.join(known.starts)}"
        )
    addresses = [normal_email(r) for r in recipients]
    bad = [a for a in addresses if not _EMAIL.fullmatch(a)]
    if bad or not addresses or len(addresses) > MAX_RECIPIENTS:
        raise BadName(
            f"recipients must be 1 to {MAX_RECIPIENTS} e-mail addresses"
            + (f", not {bad[0]!r}" if bad else "")
        )
    return {
        "name": label(name, "report name"),
        "plant": label(plant, "plant"),
        "cadence": cadence,
        "recipients": list(dict.fromkeys(addresses)),
        "shifts": [label(s, "shift") for s in shifts],
    }


def schedules(session: Session, project_id: int | None = None) -> list[ReportSchedule]:
    """Every schedule (of ``project_id``, when given), oldest first."""
    query = sa.select(ReportSchedule).order_by(ReportSchedule.id)
    if project_id is not None:
        query = query.where(ReportSchedule.project_id == project_id)
    return list(session.scalars(query))


def remove_schedule(*, session: Session, who: Principal, project_id: int, schedule_id: int) -> None:
    """Stop and delete a schedule of ``project_id`` (``share_views``); audited. A schedule of
    another project is :class:`~models.access.NotFound`, as a missing one."""
    require(session, who, project_id, Action.SHARE_VIEWS)
    schedule = session.get(ReportSchedule, schedule_id)
    if schedule is None or schedule.project_id != project_id:
        raise NotFound(f"There is no report schedule {schedule_id} in this project.")
    audit(
        session, who.label, "report.unschedule", "project", project_id,
        schedule=schedule.id, name=schedule.name,
    )  # fmt: skip
    session.delete(schedule)


def mark_mailed(
    session: Session, schedule: ReportSchedule, *, until: datetime, **detail: object
) -> None:
    """``schedule`` mailed its period up to ``until``: moved on, and the mailing audited with
    ``detail`` (period, recipients, shifts). Nothing is committed here."""
    schedule.mailed_until = until
    audit(
        session, "scheduler", "report.mail", "project", schedule.project_id,
        schedule=schedule.id, **detail,
    )  # fmt: skip
