"""Report schedules in the metadata store: who may make one (share_views: an engineer, not a
viewer, nobody outside the project), what is refused, the audit rows of making one and of each
mailing, and migration 0014 going up and down."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Forbidden, NotFound
from models.names import BadName
from models.reports import add_schedule, mark_mailed, schedules
from models.store import current_revision, migrate
from models.tables import AuditEvent, Project, ReportSchedule
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)
from tests.models.test_migrations import MONDAY, downgrade, insert

NOON = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def insert_lists(connection: sa.Connection, table: str, **values: object) -> int:
    """:func:`tests.models.test_migrations.insert`, with lists as JSON too."""
    params = [
        sa.bindparam(k, v, type_=sa.JSON() if isinstance(v, list | dict) else None)
        for k, v in values.items()
    ]
    statement = sa.text(
        f"INSERT INTO {table} ({', '.join(values)}) "
        f"VALUES ({', '.join(':' + name for name in values)}) RETURNING id"
    ).bindparams(*params)
    return connection.execute(statement).scalar_one()


def make(session, ids, person="ana", project="press", **changes):
    spec = {
        "name": "Late shift",
        "plant": "Leipzig",
        "cadence": "shift",
        "recipients": ["Lead@Plant.example", "lead@plant.example", "qa@plant.example"],
        "shifts": ["B"],
        "filters": {"station": ["S1"]},
        "panels": ["kpis"],
        "now": NOON,
        **changes,
    }
    return add_schedule(session=session, who=who(ids, person), project_id=ids[project], **spec)


def test_an_engineer_schedules_a_report_and_it_is_audited(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        made = make(session, ids)
        session.commit()
        [stored] = schedules(session)
        assert stored.id == made.id
        assert stored.recipients == ["lead@plant.example", "qa@plant.example"]  # one each
        assert (stored.cadence, stored.shifts, stored.mailed_until) == ("shift", ["B"], NOON)
        [row] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "report.schedule"))
        assert (row.actor, row.target_id) == ("ana@plant.example", str(ids["press"]))
        assert row.detail["recipients"] == stored.recipients


def test_a_viewer_or_an_outsider_cannot(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        with pytest.raises(Forbidden):
            make(session, ids, "ben", "weld")
        with pytest.raises(NotFound):
            make(session, ids, "cy")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cadence": "hourly"}, "shift, daily, weekly"),
        ({"recipients": []}, "1 to 50 e-mail addresses"),
        ({"recipients": ["lead at plant"]}, "not 'lead at plant'"),
        ({"name": " "}, "report name"),
        ({"plant": "a\x00b"}, "plant"),
    ],
)
def test_what_is_refused_says_why(plant, changes, message):  # noqa: F811
    sessions, ids = plant
    with sessions() as session, pytest.raises(BadName, match=message):
        make(session, ids, **changes)


def test_a_mailing_moves_the_schedule_on_with_its_audit_row(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        made = make(session, ids)
        until = datetime(2026, 11, 16, 22, 0, tzinfo=UTC)
        mark_mailed(session, made, until=until, period="2026-11-16 B", recipients=["x@y.z"])
        session.commit()
        assert session.get(ReportSchedule, made.id).mailed_until == until
        [row] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "report.mail"))
        assert row.actor == "scheduler" and row.detail["period"] == "2026-11-16 B"


def test_schedules_go_with_their_project(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        make(session, ids)
        session.commit()
        session.delete(session.get(Project, ids["press"]))
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(ReportSchedule)) == 0


def test_migration_0014_adds_the_table_and_goes_down_and_up(engine):
    migrate(engine, "0013")
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant F", created_at=MONDAY)
        project = insert(
            connection, "projects", organisation_id=organisation, name="Line 9", created_at=MONDAY
        )
    assert "report_schedules" not in sa.inspect(engine).get_table_names()
    migrate(engine, "0014")
    assert current_revision(engine) == "0014"
    with engine.begin() as connection:
        insert_lists(
            connection,
            "report_schedules",
            project_id=project,
            name="nightly",
            created_by="operator",
            plant="Leipzig",
            shifts=[],
            cadence="daily",
            recipients=["lead@plant.example"],
            filters={},
            panels=[],
            mailed_until=MONDAY,
            created_at=MONDAY,
        )
    with Session(engine) as session:
        [stored] = schedules(session)
        assert (stored.name, stored.recipients, stored.mailed_until) == (
            "nightly",
            ["lead@plant.example"],
            MONDAY,
        )
    downgrade(engine, "0013")
    assert "report_schedules" not in sa.inspect(engine).get_table_names()
    migrate(engine)
