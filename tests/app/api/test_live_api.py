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
