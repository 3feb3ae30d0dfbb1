"""The API reads ``started_after``/``started_before`` as the explorer reads From/Until: ISO 8601
only, anything else a 422 that shows the accepted form (through the real server)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

ACCEPTED = "Type dates as YYYY-MM-DD HH:MM, e.g. 2026-12-11 06:00"


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("11.12.2026", "'11.12.2026' is ambiguous (11 December or 12 November?)"),
        ("19.11.2026", "'19.11.2026' is not in year-month-day order"),
        ("12/11/2026", "'12/11/2026' is ambiguous (12 November or 11 December?)"),
    ],
)
def test_a_date_that_is_not_iso_is_refused_with_the_accepted_form(world, typed, why):
    base = f"/api/projects/{world.project_a}/curves"
    for path in (base, f"{base}/raster"):
        answer = world.call("GET", path, params={"started_before": typed})
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid"
        assert error["message"] == f"query: started_before: {why}. {ACCEPTED}."
        assert error["details"] == [{"field": "started_before", "message": f"{why}. {ACCEPTED}."}]


def test_iso_times_with_an_offset_or_none_select_the_same_window(world):
    base = f"/api/projects/{world.project_a}/curves"

    def started(**params) -> set[str]:
        answer = world.call("GET", base, params={**params, "limit": 500})
        assert answer.status_code == 200, answer.text
        return {c["started_at"][:19] for c in answer.json()["items"]}

    utc = started(started_after="2026-11-16T06:01:00Z", started_before="2026-11-16T06:03:00Z")
    assert utc == {"2026-11-16T06:01:00", "2026-11-16T06:02:00"}
    assert started(started_after="2026-11-16 06:01", started_before="2026-11-16 06:03") == utc
    berlin = started(
        started_after="2026-11-16T07:01:00+01:00", started_before="2026-11-16T07:03+01:00"
    )
    assert berlin == utc


def test_a_plus_lost_in_the_url_is_named(world):
    """``+01:00`` sent unencoded arrives as `` 01:00``: said so, not read as something else."""
    base = f"/api/projects/{world.project_a}/curves"
    answer = world.call("GET", f"{base}?started_after=2026-11-16T07:01:00+01:00")
    assert answer.status_code == 422
    assert (
        "lost the '+' of its offset (send it as %2B in a URL)" in answer.json()["error"]["message"]
    )
