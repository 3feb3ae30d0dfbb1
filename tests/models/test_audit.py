"""The audit trail's one writer, and the use cases that call it."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import sqlalchemy as sa

from models import accounts, members, signins, teams
from models.audit import audit
from models.tables import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
MAKES_A_ROW = re.compile(r"(?<!class )\bAuditEvent\(")


def test_audit_adds_one_row_and_leaves_the_commit_to_the_caller(sessions):
    with sessions() as session:
        audit(
            session, "ana@plant.example", "member.add", "project", 7, ip="10.0.0.7", role="viewer"
        )
        session.flush()
        row = session.scalars(sa.select(AuditEvent)).one()
        assert (row.actor, row.action, row.target_type, row.target_id, row.detail, row.ip) == (
            "ana@plant.example",
            "member.add",
            "project",
            "7",
            {"role": "viewer"},
            "10.0.0.7",
        )
        session.rollback()
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_only_models_audit_makes_audit_rows():
    makers = [
        path.relative_to(ROOT).as_posix()
        for package in ("app", "models", "pipelines", "providers")
        for path in (ROOT / package).rglob("*.py")
        if MAKES_A_ROW.search(path.read_text())
    ]
    assert makers == ["models/audit.py"]


def _use_cases():
    """Every public function of the service modules that writes an audit row, and the use
    cases that write none themselves but are called from the app as such."""
    found = {
        f"{module.__name__}.{name}": function
        for module in (accounts, members, teams)
        for name, function in vars(module).items()
        if inspect.isfunction(function)
        and function.__module__ == module.__name__
        and not name.startswith("_")
        and "audit(" in inspect.getsource(function)
    }
    extra = (accounts.create_user, members.invite_member, signins.start_session, signins.sweep)
    return found | {f"{f.__module__}.{f.__name__}": f for f in extra}


def test_use_cases_take_keyword_arguments_session_first():
    use_cases = _use_cases()
    assert len(use_cases) >= 25
    for name, function in use_cases.items():
        parameters = list(inspect.signature(function).parameters.values())
        assert parameters[0].name == "session", name
        assert all(p.kind is p.KEYWORD_ONLY for p in parameters), name
        if "actor" in (p.name for p in parameters):
            assert parameters[1].name == "actor", name
