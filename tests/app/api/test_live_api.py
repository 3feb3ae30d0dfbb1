"""Curves as they are committed: polling with a cursor, and the server-sent event stream."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.app.api.conftest import curves_csv, hosted

pytestmark = pytest.mark.integration
PAST = "2000-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def live_world(tmp_path_factory):
    with hosted(tmp_path_factory, "live") as world:
        yield world


def commit(world, prefix: str) -> None:
    """Four curves of parts made on 16 November, committed now."""
    answer = world.call(
        "POST",
        f"/api/projects/{world.project_a}/datasets?name={prefix}.csv",
        data=curves_csv(prefix),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.text


def poll(world, **params) -> dict:
    answer = world.call("GET", f"/api/projects/{world.project_a}/curves/committed", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_polling_with_the_cursor_gets_each_commit_once_however_old_its_parts(live_world):
    world = live_world
    first = poll(world)  # from now: nothing yet, and a cursor
    assert first["items"] == [] and first["more"] is False
    commit(world, "L1")
    time.sleep(1.2)  # commits settle for a second before they are handed out
    got = poll(world, after=first["next"])
    assert sorted(c["curve_key"] for c in got["items"]) == [f"L1-{i}" for i in range(4)]
    assert all(c["started_at"].startswith("2026-11-16") for c in got["items"])  # old parts
    assert poll(world, after=got["next"])["items"] == []
    # From the start, three at a time: every curve once, oldest commit first.
    seen, cursor, more = [], None, True
    while more:
        page = poll(world, limit=3, **({"after": cursor} if cursor else {"since": PAST}))
        seen += [c["curve_key"] for c in page["items"]]
        cursor, more = page["next"], page["more"]
    assert len(seen) == 8 and sorted(seen[:4]) == [f"A-{i}" for i in range(4)]  # the seed first
    assert sorted(seen[4:]) == [f"L1-{i}" for i in range(4)]
    committed = [c["committed_at"] for c in poll(world, since=PAST)["items"]]
    assert committed == sorted(committed)


def test_a_bad_cursor_is_refused_naming_it(live_world):
    answer = live_world.call(
        "GET", f"/api/projects/{live_world.project_a}/curves/committed?after=yesterday"
    )
    assert answer.status_code == 422 and "after" in answer.text


def events(response, wanted: int) -> list[tuple[str, dict]]:
    """The first ``wanted`` events of a stream: (id, data)."""
    found, event = [], {}
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("id: "):
            event["id"] = line[4:]
        elif line.startswith("data: "):
            event["data"] = json.loads(line[6:])
        elif line == "" and "data" in event:
            found.append((event["id"], event["data"]))
            event = {}
            if len(found) == wanted:
                break
    return found


def test_the_event_stream_sends_commits_and_resumes_after_the_last_event_seen(live_world):
    world = live_world
    url = f"{world.url}/api/projects/{world.project_a}/events"
    headers = {"Authorization": f"Bearer {world.tokens['owner']}"}
    with requests.get(url, params={"since": PAST}, headers=headers, stream=True, timeout=30) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        ((last, data),) = events(r, 1)
    before = {c["curve_key"] for c in data["items"]}
    assert {f"A-{i}" for i in range(4)} <= before
    with requests.get(
        url, headers={**headers, "Last-Event-ID": last}, stream=True, timeout=30
    ) as r:
        commit(world, "L2")
        ((_, data),) = events(r, 1)
    assert sorted(c["curve_key"] for c in data["items"]) == [f"L2-{i}" for i in range(4)]


def test_ingest_tokens_are_granted_listed_and_revoked_once(live_world):
    world = live_world
    base = f"/api/projects/{world.project_a}/ingest-tokens"
    made = world.call("POST", base, json={"name": "press 3 gateway"})
    assert made.status_code == 201, made.text
    token = made.json()
    assert token["login"].startswith("ing-") and token["secret"].startswith("chi_")
    assert token["topic"].endswith("/curves") and token["name"] == "press 3 gateway"
    listed = world.call("GET", base).json()
    assert [t["login"] for t in listed["items"]] == [token["login"]]
    assert "secret" not in listed["items"][0]  # shown once, in the answer that made it
    # Another project's member cannot revoke it: the project does not exist for them.
    assert world.call("DELETE", f"{base}/{token['id']}", "outsider").status_code == 404
    assert world.call("DELETE", f"{base}/{token['id']}").status_code == 204
    assert world.call("DELETE", f"{base}/{token['id']}").status_code == 404  # revoked already
    assert world.call("GET", base).json()["items"] == []
    other = f"/api/projects/{world.project_b}/ingest-tokens/{token['id']}"
    assert world.call("DELETE", other, "outsider").status_code == 404
    bad = world.call("POST", base, json={"name": ""})
    assert bad.status_code == 422, bad.text


def test_dead_letters_of_a_project_newest_first_to_its_members_only(live_world):
    from datetime import UTC, datetime, timedelta

    from models.tables import DeadLetter

    world = live_world
    now = datetime.now(UTC)
    with world.store.sessions() as session:
        for i, (project, reason) in enumerate(
            [(world.project_a, "not_json"), (world.project_a, "conflict"), (world.project_b, "x")]
        ):
            session.add(
                DeadLetter(
                    project_id=project,
                    project_name="p",
                    topic="curvehouse/p/curves",
                    reason=reason,
                    detail=f"detail {i}",
                    curve_key=None,
                    payload_head="{",
                    payload_bytes=1,
                    payload_sha256=f"{i:064d}",
                    received_at=now + timedelta(seconds=i),
                )
            )
        session.commit()
    path = f"/api/projects/{world.project_a}/dead-letters"
    got = world.call("GET", path, "viewer")
    assert got.status_code == 200, got.text
    page = got.json()
    assert [d["reason"] for d in page["items"]] == ["conflict", "not_json"]
    assert page["total"] == 2 and page["items"][0]["detail"] == "detail 1"
    assert world.call("GET", path, "outsider").status_code == 404
    assert world.call("GET", path + "?limit=1&offset=1").json()["items"][0]["reason"] == "not_json"
