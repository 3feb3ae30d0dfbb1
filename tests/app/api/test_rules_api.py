"""Evaluation rules over HTTP: made, listed, edited, frozen once they judged, retired, all in
the audit trail; a what-if agrees with :func:`pipelines.rules.judge_set` on the same curves
in memory; bad rules are refused in words; viewers read and outsiders see nothing."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from models.tables import AuditEvent
from pipelines.rules import Rule, Scope, judge_set, make_check
from pipelines.samples import CurveSet
from tests.app.api.conftest import PROJECT_A, hosted

pytestmark = pytest.mark.integration
SLOPES = range(1, 13)  # one press curve per slope: y = slope * x over x = 0..10
XS = np.arange(11, dtype=np.float64)
WINDOW = {"x0": 4.5, "x1": 5.5, "y0": 20, "y1": 40, "entry": "left", "exit": "right"}


def press_csv() -> bytes:
    """Twelve press curves (stations S1/S2 alternating, program P1, a minute apart) and three
    weld curves whose slopes would pass the window, outside the press rules' process."""
    lines = ["curve_key,x,y,station,program,process,result,started_at"]
    for n, slope in enumerate(SLOPES):
        station = ("S1", "S2")[n % 2]
        for x in XS:
            lines.append(
                f"P-{slope},{x:g},{slope * x:g},{station},P1,press,OK,2026-11-21T06:{n:02d}:00Z"
            )
    for n in range(3):
        for x in XS:
            lines.append(f"W-{n},{x:g},{6 * x:g},S1,P1,weld,OK,2026-11-21T07:{n:02d}:00Z")
    return ("\n".join(lines) + "\n").encode()


def in_memory(station: str | None = None) -> CurveSet:
    """The press curves as the CSV has them, ``curve_id`` being the slope."""
    slopes = [s for n, s in enumerate(SLOPES) if station in (None, ("S1", "S2")[n % 2])]
    meta = pd.DataFrame(
        {
            "curve_id": slopes,
            "station": [("S1", "S2")[(s - 1) % 2] for s in slopes],
            "program": "P1",
            "process": "press",
        }
    )
    offsets = np.arange(len(slopes) + 1, dtype=np.int64) * len(XS)
    x = np.tile(XS, len(slopes))
    y = np.concatenate([s * XS for s in slopes])
    return CurveSet(meta, offsets, x, y)


@pytest.fixture(scope="module")
def rules_world(tmp_path_factory):
    with hosted(tmp_path_factory, "rules") as world:
        answer = world.call(
            "POST",
            f"/api/projects/{world.project_a}/datasets?name=press.csv",
            data=press_csv(),
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 201, answer.text
        yield world


def rules(world, method: str, tail: str = "", who: str = "engineer", **kwargs):
    return world.call(method, f"/api/projects/{world.project_a}/rules{tail}", who, **kwargs)


def body(name: str, **params) -> dict:
    return {"name": name, "process": "press", "kind": "window", "params": {**WINDOW, **params}}


def trail(world, action: str, rule_id: int) -> list[AuditEvent]:
    with world.store.sessions() as session:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        return [e for e in events if e.detail.get("rule") == rule_id]


def test_a_rule_is_made_listed_and_audited(rules_world):
    world = rules_world
    made = rules(world, "POST", json=body("press-in", x0="4.5"))
    assert made.status_code == 201, made.text
    rule = made.json()
    assert (rule["name"], rule["process"], rule["current"]["version"]) == ("press-in", "press", 1)
    assert rule["current"]["params"] == {
        **WINDOW,
        "x0": 4.5,
        "y0": 20.0,
        "y1": 40.0,
        "mode": "uni-box",
    }
    assert [v["version"] for v in rule["versions"]] == [1]
    assert rule["created_by"] == world.emails["engineer"]
    listed = rules(world, "GET", who="viewer").json()["items"]
    assert rule["id"] in [r["id"] for r in listed]
    (event,) = trail(world, "rule.create", rule["id"])
    assert event.actor == world.emails["engineer"] and event.target_id == str(world.project_a)
    assert event.detail["params"]["x1"] == 5.5 and event.detail["version"] == 1
    got = rules(world, "GET", f"/{rule['id']}", who="viewer").json()
    assert got["current"] == rule["current"]


def test_bad_rules_are_refused_in_words(rules_world):
    world = rules_world
    cases = {
        "The window's x0 and x1: the first value (6) must be below the second (5.5)": body(
            "bad", x0=6
        ),
        "A window rule has no radius; it has x0, x1, y0, y1, mode, entry, exit": body(
            "bad", radius=3
        ),
        "The window's entry side must be one of left, right, bottom, top, any, not 'up'": body(
            "bad", entry="up"
        ),
        "A threshold rule needs high, low": {
            "name": "bad",
            "process": "press",
            "kind": "threshold",
            "params": {"level": 3},
        },
        "The envelope's lower bound is above its upper bound at x = 4": {
            "name": "bad",
            "process": "press",
            "kind": "envelope",
            "params": {
                "x_min": 0,
                "x_max": 4,
                "lower": [[0, 0], [4, 8]],
                "upper": [[0, 1], [4, 1]],
            },
        },
    }
    for words, sent in cases.items():
        answer = rules(world, "POST", json=sent)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["message"] == words
        what_if = rules(world, "POST", "/what-if", who="viewer", json={"rule": sent})
        assert what_if.status_code == 422 and what_if.json()["error"]["message"] == words
    assert rules(world, "POST", json={**body("bad"), "kind": "circle"}).status_code == 422
    listed = rules(world, "GET", params={"retired": "true"}).json()["items"]
    assert "bad" not in [r["name"] for r in listed]


@pytest.mark.parametrize("station", [None, "S2"])
def test_a_what_if_judges_like_judge_set(rules_world, station):
    world = rules_world
    sent = body("trial")
    filters = {"station": [station]} if station else {}
    answer = rules(
        world,
        "POST",
        "/what-if",
        who="viewer",
        json={"rule": sent, "curves": filters, "limit": 500},
    )
    assert answer.status_code == 200, answer.text
    got = answer.json()
    rule = Rule("trial", Scope(PROJECT_A, "press"), make_check("window", WINDOW))
    expected = judge_set(in_memory(station), [rule])
    failed = expected[~expected["passed"]]
    assert got["judged"] == len(expected) == (6 if station else len(SLOPES))
    assert (got["passed"], got["failed"]) == (int(expected["passed"].sum()), len(failed))
    assert 0 < got["passed"] < got["judged"]  # the window tells the slopes apart
    assert got["codes"] == failed["code"].value_counts().to_dict()
    by_key = {f["curve_key"]: f for f in got["failures"]}
    assert set(by_key) == {f"P-{s}" for s in failed["curve_id"]}
    for row in failed.itertuples():
        shown = by_key[f"P-{row.curve_id}"]
        assert (shown["code"], shown["reason"]) == (row.code, row.reason)
        assert shown["x"] == (None if np.isnan(row.x) else pytest.approx(row.x))
        assert shown["y"] == (None if np.isnan(row.y) else pytest.approx(row.y))
        assert shown["program"] == "P1" and shown["part_serial"] == ""
    assert got["version"] == 0 and got["rule"] == "trial"


def test_a_what_if_shows_the_first_failures_and_changes_nothing(rules_world):
    world = rules_world
    before = rules(world, "GET", params={"retired": "true"}).json()["total"]
    answer = rules(world, "POST", "/what-if", who="viewer", json={"rule": body("t"), "limit": 2})
    got = answer.json()
    everything = rules(world, "POST", "/what-if", json={"rule": body("t"), "limit": 500}).json()
    ids = sorted(f["curve_id"] for f in everything["failures"])
    assert [f["curve_id"] for f in got["failures"]] == ids[:2]
    assert got["failed"] == everything["failed"] > 2
    assert rules(world, "GET", params={"retired": "true"}).json()["total"] == before
    late = {"rule": body("t"), "curves": {"started_after": "2026-11-21T06:10:00Z"}}
    assert rules(world, "POST", "/what-if", json=late).json()["judged"] == 2  # slopes 11, 12


def test_editing_judging_freezing_and_retiring(rules_world):
    world = rules_world
    rule = rules(world, "POST", json={**body("frozen"), "run": False}).json()
    one = f"/{rule['id']}"
    # A draft (not run, not judged yet): the edit changes version 1 in place.
    draft = {"kind": "window", "params": {**WINDOW, "y1": 45}, "run": False}
    edited = rules(world, "PUT", one, json=draft)
    assert edited.status_code == 200, edited.text
    assert [v["version"] for v in edited.json()["versions"]] == [1]
    assert edited.json()["current"]["params"]["y1"] == 45.0
    judged = rules(world, "POST", f"{one}/judge", json={"limit": 3})
    assert judged.status_code == 200, judged.text
    verdicts = judged.json()
    sent = make_check("window", {**WINDOW, "y1": 45})
    expected = judge_set(in_memory(), [Rule("frozen", Scope(PROJECT_A, "press"), sent)])
    assert (verdicts["judged"], verdicts["failed"]) == (
        len(SLOPES),
        int((~expected["passed"]).sum()),
    )
    assert verdicts["version"] == 1 and len(verdicts["failures"]) == 3
    first = rules(world, "GET", one, who="viewer").json()["versions"][0]
    assert first["judged_at"] is not None
    # Judged: the edit makes version 2, and version 1 stays as it judged.
    changed = rules(
        world,
        "PUT",
        one,
        json={"name": "frozen-2", "kind": "window", "params": WINDOW, "stations": ["S1"]},
    ).json()
    assert [v["version"] for v in changed["versions"]] == [1, 2]
    assert changed["versions"][0] == first
    assert changed["current"]["stations"] == ["S1"]
    assert changed["current"]["judged_at"] is not None  # it judges history at once
    assert changed["name"] == "frozen-2"
    second = rules(world, "POST", f"{one}/judge", json={}).json()
    assert (second["version"], second["judged"], second["rule"]) == (2, 6, "frozen-2")
    # Retired: gone from the list, kept with retired=true, and no more edits or judging.
    assert rules(world, "DELETE", one).status_code == 204
    assert rule["id"] not in [r["id"] for r in rules(world, "GET").json()["items"]]
    kept = {r["id"]: r for r in rules(world, "GET", params={"retired": "true"}).json()["items"]}
    assert kept[rule["id"]]["retired_by"] == world.emails["engineer"]
    refused = rules(world, "PUT", one, json={"kind": "window", "params": WINDOW})
    assert refused.status_code == 409 and "retired" in refused.json()["error"]["message"]
    assert rules(world, "POST", f"{one}/judge", json={}).status_code == 409
    # The audit trail has every change, with what it was before.
    edits = trail(world, "rule.edit", rule["id"])
    assert [e.detail["new_version"] for e in edits] == [False, True]
    assert edits[1].detail["before"]["params"]["y1"] == 45.0
    assert [e.detail["judged"] for e in trail(world, "rule.judge", rule["id"])] == [12, 6]
    assert len(trail(world, "rule.rename", rule["id"])) == 1
    assert len(trail(world, "rule.retire", rule["id"])) == 1


def test_viewers_read_and_outsiders_see_nothing(rules_world):
    world = rules_world
    rule = rules(world, "POST", json={**body("roles"), "run": False}).json()
    one = f"/{rule['id']}"
    for method, tail, sent in (
        ("POST", "", body("viewer's")),
        ("PUT", one, {"kind": "window", "params": WINDOW}),
        ("DELETE", one, None),
        ("POST", f"{one}/judge", {}),
        ("POST", f"{one}/run", None),
    ):
        answer = rules(world, method, tail, who="viewer", json=sent)
        assert answer.status_code == 403, answer.text
        answer = rules(world, method, tail, who="outsider", json=sent)
        assert answer.status_code == 404, answer.text
    for tail in ("", one, f"{one}/run"):
        assert rules(world, "GET", tail, who="viewer").status_code == 200
        assert rules(world, "GET", tail, who="outsider").status_code == 404
    trial = {"rule": body("t")}
    assert rules(world, "POST", "/what-if", who="outsider", json=trial).status_code == 404
    assert rules(world, "GET", one, who="viewer").json()["current"]["judged_at"] is None
    # The outsider's own rule is not reachable through project A's path, nor A's through B's.
    theirs = world.call(
        "POST", f"/api/projects/{world.project_b}/rules", "outsider", json=body("b")
    ).json()
    assert rules(world, "GET", f"/{theirs['id']}", who="owner").status_code == 404
    b_path = f"/api/projects/{world.project_b}/rules/{rule['id']}"
    assert world.call("GET", b_path, "outsider").status_code == 404


def test_an_envelope_learned_over_http_is_learn_envelope_on_the_same_curves(rules_world):
    from dataclasses import asdict

    from pipelines.rules import learn_envelope

    ask = {"process": "press", "x_min": 1, "x_max": 9, "points": 9, "low": 10, "high": 90}
    answer = rules(rules_world, "POST", "/learn-envelope", "viewer", json={**ask, "margin": 0.5})
    assert answer.status_code == 200, answer.text
    learned = answer.json()
    # The OK press curves only (the weld curves are another process), as in memory.
    expected = learn_envelope(in_memory(), 1, 9, points=9, low=10, high=90, margin=0.5)
    assert learned["curves"] == len(SLOPES)
    for side in ("lower", "upper"):
        np.testing.assert_allclose(learned["params"][side], asdict(expected)[side])
    # The 10th-90th band leaves the steepest and shallowest slopes outside.
    rule = Rule("learned", Scope(PROJECT_A, "press"), make_check("envelope", learned["params"]))
    assert learned["passing"] == int(judge_set(in_memory(), [rule])["passed"].sum())
    assert 0 < learned["passing"] < len(SLOPES)
    # The answer's params make a rule as they are.
    saved = rules(
        rules_world,
        "POST",
        json={
            "name": "learned band",
            "process": "press",
            "kind": "envelope",
            "params": learned["params"],
        },
    )
    assert saved.status_code == 201, saved.text
    # Too few curves at an x, or none at all, are said in words.
    narrow = rules(
        rules_world,
        "POST",
        "/learn-envelope",
        json={**ask, "curves": {"station": ["S1"], "started_before": "2026-11-21T06:03:00Z"}},
    )
    assert narrow.status_code == 422 and "good curves reach" in narrow.text
    none = rules(rules_world, "POST", "/learn-envelope", json={**ask, "process": "glue"})
    assert none.status_code == 422 and "No curves match" in none.text


def run_of(world, rule_id: int, who: str = "viewer") -> dict:
    """The rule's run once it is no longer running (polled, a few seconds at most)."""
    deadline = time.monotonic() + 60
    while True:
        answer = rules(world, "GET", f"/{rule_id}/run", who=who)
        assert answer.status_code == 200, answer.text
        run = answer.json()
        if run["state"] != "running" or time.monotonic() > deadline:
            return run
        time.sleep(0.05)


def keys(world, who: str = "viewer", **params) -> list[str]:
    answer = world.call(
        "GET", f"/api/projects/{world.project_a}/curves", who, params={"limit": 500, **params}
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == len(page["items"])
    return sorted(c["curve_key"] for c in page["items"])


def failing(check: dict) -> set[int]:
    rule = Rule("r", Scope(PROJECT_A, "press"), make_check("window", check))
    verdicts = judge_set(in_memory(), [rule])
    return set(verdicts.loc[~verdicts["passed"], "curve_id"].tolist())


def test_a_rule_judges_history_and_its_stored_verdicts_filter_the_curves(rules_world):
    world = rules_world
    made = rules(world, "POST", json=body("stored"))
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["current"]["judged_at"] is not None  # frozen before it judged
    run = run_of(world, rule["id"])
    assert run == {**run, "state": "done", "judged": len(SLOPES), "total": len(SLOPES)}
    failed = {f"P-{s}" for s in failing(WINDOW)}
    press = {f"P-{s}" for s in SLOPES}
    assert 0 < len(failed) < len(SLOPES)
    assert keys(world, verdict="fail", rule=rule["id"]) == sorted(failed)
    assert keys(world, verdict="pass", rule=rule["id"]) == sorted(press - failed)
    assert keys(world, rule=rule["id"]) == sorted(press)  # judged: the weld curves are not
    missing = world.call(
        "GET",
        f"/api/projects/{world.project_a}/curves",
        "viewer",
        params={"verdict": "fail", "rule": 999_999},
    )
    assert missing.status_code == 404 and "no rule 999999" in missing.json()["error"]["message"]
    # Viewers read verdicts; only engineers and above start runs.
    assert rules(world, "POST", f"/{rule['id']}/run", who="viewer").status_code == 403

    # Curves imported later are judged at their commit, by the same current version.
    late = "\n".join(
        ["curve_key,x,y,station,program,process,result,started_at"]
        + [
            f"L-{s},{x:g},{s * x:g},S1,P1,press,OK,2026-11-22T06:{s:02d}:00Z"
            for s in (3, 5)
            for x in XS
        ]
    )
    answer = world.call(
        "POST",
        f"/api/projects/{world.project_a}/datasets?name=late.csv",
        data=(late + "\n").encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.text
    assert rules(world, "GET", f"/{rule['id']}/run", who="viewer").json()["judged"] == 14
    late_failed = {f"L-{s}" for s in (3, 5) if s in failing(WINDOW)}
    assert keys(world, verdict="fail", rule=rule["id"]) == sorted(failed | late_failed)

    # A new version judges history again, and its verdicts decide from then on.
    wider = {**WINDOW, "y0": 0, "y1": 70}
    changed = rules(world, "PUT", f"/{rule['id']}", json={"kind": "window", "params": wider})
    assert [v["version"] for v in changed.json()["versions"]] == [1, 2]
    run = run_of(world, rule["id"])
    assert (run["version"], run["state"], run["judged"], run["total"]) == (2, "done", 14, 14)
    now_failed = {f"P-{s}" for s in failing(wider)} | {
        f"L-{s}" for s in (3, 5) if s in failing(wider)
    }
    assert now_failed != failed | late_failed
    assert keys(world, verdict="fail", rule=rule["id"]) == sorted(now_failed)
    # A run asked for again judges nothing new and says so.
    again = rules(world, "POST", f"/{rule['id']}/run")
    assert again.status_code == 202, again.text
    assert run_of(world, rule["id"])["judged"] == 14


def test_a_feature_limit_over_http_judges_each_slope(rules_world):
    """y at x = 5 of the press curves is 5 × slope: limits 20–40 pass slopes 4 to 8."""
    world = rules_world
    limits = {"feature": "y_at_x", "a": 5, "low": 20, "high": 40}
    sent = {"name": "force at 5", "process": "press", "kind": "feature", "params": limits}
    # The twelve press curves of the first import (another test imports two more later).
    first = {"started_before": "2026-11-22T00:00:00Z"}
    trial = {"rule": sent, "limit": 500, "curves": first}
    answer = rules(world, "POST", "/what-if", who="viewer", json=trial)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert (got["judged"], got["passed"]) == (len(SLOPES), 5)  # slopes 4, 5, 6, 7, 8
    failed = {f["curve_key"]: f["reason"] for f in got["failures"]}
    assert set(failed) == {f"P-{s}" for s in SLOPES if not 4 <= s <= 8}
    assert failed["P-9"] == "y at x = 5 is 45, above [20, 40]"
    made = rules(world, "POST", json=sent)
    assert made.status_code == 201, made.text
    assert made.json()["current"]["params"] == {
        **limits,
        "a": 5.0,
        "low": 20.0,
        "high": 40.0,
        "b": None,
    }
    bad = rules(world, "POST", json={**sent, "params": {"feature": "y_at_x", "low": 0, "high": 1}})
    assert bad.status_code == 422 and "y_at_x's x (a) must be a number" in bad.text
