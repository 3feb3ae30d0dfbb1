"""Evaluation rules in the metadata store: versions that judged parts never change, editing
makes a new version, retiring keeps them, engineers write and viewers read, all audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.access import Forbidden, NotFound, Principal
from models.names import BadName
from models.rules import (
    RetiredRule,
    as_stored,
    create_rule,
    current_version,
    edit_rule,
    mark_judged,
    project_rules,
    rename_rule,
    retire_rule,
    rule_versions,
)
from models.tables import (
    AuditEvent,
    EvaluationRule,
    FrozenRuleVersion,
    Project,
    ProjectMember,
    Role,
    RuleVersion,
    User,
)
from pipelines.rules import Rule, Scope, Window, rule_from_stored
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)

WINDOW = {"x0": 1.0, "x1": 2.0, "y0": 0.0, "y1": 5.0, "mode": "uni-box", "entry": "left"}


def make(session, actor, project, **changes):
    args = dict(name="press-in", process="press-fit", kind="window", params=WINDOW)
    return create_rule(session=session, actor=actor, project=project, **{**args, **changes})


def actions(session, project_id):
    return session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.target_id == str(project_id), AuditEvent.action.startswith("rule."))
        .order_by(AuditEvent.id)
    ).all()


def test_editing_a_judged_version_makes_a_new_one(plant):  # noqa: F811
    sessions, ids = plant
    ana = who(ids, "ana")
    with sessions() as session:
        press = session.get(Project, ids["press"])
        rule = make(session, ana, press, stations=["ST2", "ST1", "ST1"])
        session.commit()
        first = current_version(rule)
        assert (first.version, first.stations, first.programs) == (1, ["ST1", "ST2"], [])
        # Not judged yet: an edit changes version 1 in place.
        edit_rule(
            session=session, actor=ana, rule=rule, kind="window", params={**WINDOW, "x1": 3.0}
        )
        assert [v.version for v in rule.versions] == [1] and first.params["x1"] == 3.0
        mark_judged(session, [first])
        session.commit()
        assert first.judged_at is not None
        # Judged: the version is frozen, and an edit makes version 2.
        with pytest.raises(FrozenRuleVersion, match="Version 1 of this rule has judged parts"):
            first.params = {**WINDOW, "x1": 9.0}
        second = edit_rule(
            session=session, actor=ana, rule=rule, kind="window", params={**WINDOW, "x1": 4.0}
        )
        session.commit()
        assert (second.version, second.params["x1"]) == (2, 4.0)
        assert session.get(RuleVersion, first.id).params["x1"] == 3.0
        # The same again changes nothing and audits nothing.
        assert (
            edit_rule(session=session, actor=ana, rule=rule, kind="window", params=second.params)
            is second
        )
        assert [v.version for v in rule_versions(session, ana, rule)] == [1, 2]
        assert actions(session, ids["press"]) == ["rule.create", "rule.edit", "rule.edit"]
        last = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "rule.edit")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert last.detail["before"]["params"]["x1"] == 3.0
        assert last.detail["after"]["params"]["x1"] == 4.0
        assert last.detail["new_version"] is True and last.actor == "ana@plant.example"


def test_retired_rules_keep_their_versions_and_cannot_be_edited(plant):  # noqa: F811
    sessions, ids = plant
    ana = who(ids, "ana")
    with sessions() as session:
        press = session.get(Project, ids["press"])
        keep = make(session, ana, press, name="keep")
        old = make(session, ana, press, name="old", process="screwdriving")
        retire_rule(session=session, actor=ana, rule=old)
        retire_rule(session=session, actor=ana, rule=old)  # once is enough
        session.commit()
        assert [r.name for r in project_rules(session, ana, press)] == ["keep"]
        assert [r.name for r in project_rules(session, ana, press, retired=True)] == ["keep", "old"]
        assert project_rules(session, ana, press, process="screwdriving") == []
        with pytest.raises(RetiredRule, match="retired; make a new rule"):
            edit_rule(session=session, actor=ana, rule=old, kind="window", params=WINDOW)
        assert len(old.versions) == 1 and old.retired_by == "ana@plant.example"
        rename_rule(session=session, actor=ana, rule=keep, name="kept")
        session.commit()
        assert len(keep.versions) == 1 and keep.name == "kept"
        assert actions(session, ids["press"]).count("rule.retire") == 1
        assert "rule.rename" in actions(session, ids["press"])


def test_engineers_write_rules_viewers_read_others_see_nothing(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press, weld = session.get(Project, ids["press"]), session.get(Project, ids["weld"])
        rule = make(session, who(ids, "ana"), press)
        with pytest.raises(Forbidden, match="edit rules needs engineer"):
            make(session, who(ids, "ben"), weld)  # a viewer of Weld
        assert project_rules(session, who(ids, "ben"), weld) == []  # but may read
        with pytest.raises(NotFound):  # no role in Press at all
            project_rules(session, who(ids, "cy"), press)
        with pytest.raises(NotFound):
            retire_rule(session=session, actor=who(ids, "ben"), rule=rule)
        with pytest.raises(NotFound):
            edit_rule(session=session, actor=who(ids, "cy"), rule=rule, kind="line", params={})
        # An engineer of Weld may write there.
        dee = User(email="dee@plant.example", display_name="d")
        session.add(dee)
        session.add(ProjectMember(project=weld, user=dee, role=Role.ENGINEER))
        session.flush()
        make(session, Principal("dee@plant.example", dee.id), weld)
        with pytest.raises(BadName):
            make(session, who(ids, "ana"), press, name="  ")


def test_a_stored_version_becomes_a_checked_rule(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press = session.get(Project, ids["press"])
        rule = make(session, who(ids, "ana"), press, programs=["P1"])
        session.commit()
        made = rule_from_stored(**as_stored(current_version(rule)))
        assert made == Rule(
            "press-in",
            Scope("Press", "press-fit", programs=("P1",)),
            Window(1, 2, 0, 5, entry="left"),
            rule.id,
            1,
        )


def test_a_project_takes_its_rules_with_it(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press = session.get(Project, ids["press"])
        make(session, who(ids, "ana"), press)
        session.commit()
        session.delete(press)
        session.commit()
        assert session.scalars(sa.select(EvaluationRule)).all() == []
        assert session.scalars(sa.select(RuleVersion)).all() == []
