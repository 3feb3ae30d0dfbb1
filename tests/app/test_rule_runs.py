"""Runs a restart cut short start again by themselves (:class:`app.rule_runs.RunResumer`),
judging only the parts still missing a verdict of the rule's current version."""

from __future__ import annotations

import threading
import uuid

import pytest

import pipelines.rules.runs as runs_module
from app.rule_runs import RunResumer
from app.services import Services
from models import rules as stored
from models.access import Principal
from models.accounts import create_user
from models.settings import Settings
from models.tables import Organisation, Project, ProjectMember, Role
from pipelines.rules import rule_from_stored
from pipelines.rules.runs import RUNS
from pipelines.rules.verdicts import run_count
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration
WINDOW = {"x0": 1.0, "x1": 4.0, "y0": 0.0, "y1": 50.0, "mode": "pass-through"}


@pytest.fixture
def line(embedded_provider, tmp_path):
    """Project ``demo`` with 40 demo curves on the built-in engine and an engineer."""
    database = f"resume_{uuid.uuid4().hex[:8]}"
    client = embedded_provider.client()
    store = CurveStore.open(client, database)
    store.write(generate_demo(DemoSpec(curves=40, seed=2)), DatasetSpec("demo", "demo", "d"))
    settings = Settings.from_env().with_overrides(
        database=database, database_url=f"sqlite:///{tmp_path / 'meta.db'}"
    )
    try:
        with Services(settings) as services, services.metadata.sessions() as session:
            project = Project(organisation=Organisation(name="Plant"), name="demo")
            user = create_user(session=session, email="dan@plant.example", password=None)
            session.add_all(
                [project, ProjectMember(project=project, user=user, role=Role.ENGINEER)]
            )
            session.commit()

            yield services, store, project.id, Principal(user.email, user.id)
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{database}`")
        client.close()


def make_rule(services, project_id, actor, name, *, frozen=True, retired=False):
    """A rule as a server left it: made, its version frozen (its run was started), and no
    verdict stored, as when the server stopped before the run wrote any."""
    with services.metadata.sessions() as session:
        project = session.get(Project, project_id)
        rule = stored.create_rule(
            session=session,
            actor=actor,
            project=project,
            name=name,
            process="press-fit",
            kind="window",
            params=WINDOW,
        )
        session.flush()
        if frozen:
            stored.mark_judged(session, [stored.current_version(rule)])
        if retired:
            stored.retire_rule(session=session, actor=actor, rule=rule)
        session.commit()
        return rule_from_stored(**stored.as_stored(stored.current_version(rule)))


def renamed(batches):
    for batch in batches:
        batch.meta["curve_key"] = "later-" + batch.meta["curve_key"]
        yield batch


def test_a_cut_short_run_goes_on_and_only_missing_parts_are_judged(line):
    services, store, project_id, dan = line
    rule = make_rule(services, project_id, dan, "cut short")
    for name, kwargs in (("never ran", {"frozen": False}), ("retired", {"retired": True})):
        make_rule(services, project_id, dan, name, **kwargs)
    resumer = RunResumer(services)
    count = run_count(store.client, store.database, rule)
    assert count.total > 0 and count.judged == 0

    assert [r.rule_id for r in resumer.cycle()] == [rule.rule_id]  # only the frozen, unretired
    assert RUNS.get("demo", rule.rule_id).wait(60)
    assert run_count(store.client, store.database, rule).done
    assert resumer.cycle() == []  # nothing missing: no run

    # Parts committed without its verdicts (a store with no rules, as a move or an old
    # import leaves them) are judged at the next cycle, and only they.
    store.write(
        renamed(generate_demo(DemoSpec(curves=20, seed=9))), DatasetSpec("demo", "import", "e")
    )
    before = run_count(store.client, store.database, rule)
    assert not before.done
    assert [r.rule_id for r in resumer.cycle()] == [rule.rule_id]
    run = RUNS.get("demo", rule.rule_id)
    assert run.wait(60) and run.state == "done"
    after = run_count(store.client, store.database, rule)
    assert after.done and after.judged == before.total
    verdicts = store.client.query(
        f"SELECT count() - uniqExact(curve_id) FROM {store.db}.curve_verdicts "
        "WHERE rule_id = {r:UInt64}",
        parameters={"r": rule.rule_id},
    ).result_rows[0][0]
    assert verdicts == 0  # none judged twice


def test_a_process_rules_are_judged_together_each_with_its_progress(line, monkeypatch):
    """Several rules of a process missing parts start as one run, which reads each chunk's
    samples once for all of them; each rule's run says how far it is."""
    services, store, project_id, dan = line
    rules = [make_rule(services, project_id, dan, name) for name in ("first", "second")]
    calls = []
    judge = runs_module.judge_history

    def recorded(client, database, judged, **kwargs):
        calls.append(sorted(r.rule_id for r in judged))
        return judge(client, database, judged, **kwargs)

    monkeypatch.setattr(runs_module, "judge_history", recorded)
    started = RunResumer(services).cycle()
    for rule in rules:
        run = RUNS.get("demo", rule.rule_id)
        assert run.wait(60) and run.state == "done", run.error
        count = run_count(store.client, store.database, rule)
        assert count.done and run.judged == run.total == count.total > 0
    assert sorted(r.rule_id for r in started) == sorted(r.rule_id for r in rules)
    assert calls == [sorted(r.rule_id for r in rules)]  # one run, one read of the samples


def test_a_run_that_keeps_failing_waits_longer_each_time(line, monkeypatch):
    """A run that leaves the same parts unjudged (here: one that never gets going) is not
    started every minute: twice the wait after each try, at once when the parts change."""
    import app.rule_runs as resumer_module

    services, store, project_id, dan = line
    rule = make_rule(services, project_id, dan, "stuck")
    started = []
    monkeypatch.setattr(resumer_module, "start", lambda services, *rules: started.extend(rules))
    resumer = RunResumer(services, period=60)
    assert resumer.cycle() == [rule] and resumer.cycle() == []  # waits 120 s now
    key = ("demo", rule.rule_id, rule.version)
    missing, when, tries = resumer._tried[key]
    resumer._tried[key] = (missing, when - 121, tries)  # two minutes on
    assert resumer.cycle() == [rule] and resumer._tried[key][2] == 2
    assert resumer.cycle() == []  # now four minutes
    store.write(
        renamed(generate_demo(DemoSpec(curves=5, seed=11))), DatasetSpec("demo", "import", "f")
    )
    assert resumer.cycle() == [rule]  # more parts missing: at once
    assert len(started) == 3


def test_a_running_run_is_left_alone_and_an_older_version_never_stops_a_newer(line):
    """The resumer reads the versions before it looks at the runs: a version saved meanwhile
    is already running, and starting the older one must neither double it nor stop it."""
    from dataclasses import replace

    services, _, project_id, dan = line
    rule = make_rule(services, project_id, dan, "long")
    gate = threading.Event()

    def slow_store():
        gate.wait(30)
        return services.homes.store(services.homes.of("demo"), project="demo")

    newer = RUNS.start(replace(rule, version=rule.version + 1), slow_store)
    try:
        assert RunResumer(services).cycle() == []  # its rule is running: left alone
        assert RUNS.start(rule, slow_store) is newer and newer.state == "running"
    finally:
        gate.set()
    assert newer.wait(60) and newer.state == "done"
