"""The API's audit CSV with values a spreadsheet would run as formulas."""

import csv
import io

import pytest

from models.audit import audit

pytestmark = pytest.mark.integration

HOSTILE = ('=HYPERLINK("http://evil.example")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-1+cmd|x")


def test_the_audit_csv_keeps_formulas_as_text(world):
    with world.store.sessions() as session:
        for value in HOSTILE:
            audit(session, value, "member.add", "project", world.project_a, note=value, n=-1.5)
        session.commit()
    answer = world.call("GET", f"/api/projects/{world.project_a}/audit?format=csv&limit=500")
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    actors = {r["actor"] for r in rows}
    assert {"'" + v for v in HOSTILE} <= actors
    assert not {a for a in actors if a[:1] in ("=", "+", "-", "@")}
    assert all(r["detail"][:1] not in ("=", "+", "-", "@") for r in rows)
