"""A rule drawn on the raster: a box becomes a window's or a no-pass line's form, refined and
saved; the explorer draws it at once. Made in the metadata store as the REST API makes it."""

from __future__ import annotations

import html

import pytest

from app.explorer.explorer import CurveExplorer
from app.explorer.rule_draw import MODES, RuleDraft
from app.explorer.state import ExplorerState
from app.pages.curves import may_make_rules, process_rules, save_rule
from app.services import Services
from models import accounts
from models.access import Principal, Role
from models.settings import Settings
from models.tables import AuditEvent, ProjectMember
from pipelines.rules import Rule, Scope, Window
from pipelines.rules.runs import RUNS
from pipelines.rules.spec import WINDOW_MODES
from tests.app.explorer.test_explorer import demo  # noqa: F401  (the fixture)


def draft(saved: list, **state) -> RuleDraft:
    state = {"project": "press", "process": "press-fit", **state}
    return RuleDraft(ExplorerState(**state), save=lambda *rule: saved.append(rule))


def test_every_window_mode_is_offered():
    assert set(MODES.values()) == set(WINDOW_MODES)


def test_a_box_becomes_a_window_then_a_line_as_chosen():
    saved = []
    form = draft(saved, program=["P1"])
    assert not form.drafting  # nothing drawn yet: no form on the page
    assert form.__panel__().objects == []  # not even hidden: it is made on the first box
    form.from_box(4.123456, 812.34567, 2.000001, 505.5)  # dragged right to left, top down
    assert form.drafting and form.card.visible
    assert form.__panel__().objects == [form.card]
    assert (form.x0, form.x1, form.y0, form.y1) == (2.0, 4.123, 505.5, 812.3)
    assert form.rule() == (
        "window",
        {"x0": 2.0, "x1": 4.123, "y0": 505.5, "y1": 812.3, "mode": "uni-box"}
        | {"entry": "left", "exit": "right"},
    )
    form.mode = "not-touch"  # no sides to say
    assert form.rule()[1] == {"x0": 2.0, "x1": 4.123, "y0": 505.5, "y1": 812.3, "mode": "not-touch"}
    form.shape = "line"
    assert form.rule() == ("line", {"x0": 2.0, "y0": 505.5, "x1": 4.123, "y1": 812.3})
    form.diagonal = "falling"
    assert form.rule() == ("line", {"x0": 2.0, "y0": 812.3, "x1": 4.123, "y1": 505.5})
    form.rule_name = "  No jump "
    assert form.save()
    assert saved == [
        ("No jump", "press", "press-fit", "line", form.rule()[1], ["P1"]),
    ]
    assert form.message.startswith("Saved rule “No jump”")
    form.drop()
    assert not form.card.visible


def test_what_cannot_be_saved_is_said_and_nothing_is_made():
    saved = []
    form = draft(saved)
    form.from_box(1.0, 5.0, 1.0, 9.0)  # no width: a line along x = 1 is fine, a window not
    assert not form.save() and form.message == "Give the rule a name first."
    form.rule_name = "thin"
    assert not form.save()
    assert html.unescape(form.message).startswith("Not saved: The window's x0 and x1: the first")
    assert saved == []

    def refuse(*_rule):
        raise PermissionError("You may not make rules in press")

    refused = RuleDraft(ExplorerState(project="press", process="p"), save=refuse)
    refused.from_box(0, 0, 1, 1)
    refused.rule_name = "r"
    assert not refused.save() and refused.message == "Not saved: You may not make rules in press"


def test_no_form_without_a_process_or_the_role():
    saved = []
    assert not (form := draft(saved, process="")).from_box(0, 0, 1, 1) and not form.drafting
    viewer = RuleDraft(
        ExplorerState(project="press", process="p"),
        save=lambda *rule: saved.append(rule),
        may_draw=lambda project: False,
    )
    viewer.from_box(0, 0, 1, 1)
    assert not viewer.drafting


def test_a_box_on_the_raster_saved_is_drawn_at_once(demo):  # noqa: F811
    factory, database, _ = demo
    made: list[Rule] = []

    def save(name, project, process, kind, params, programs):
        made.append(Rule(name, Scope(project, process, tuple(programs)), Window(**params)))

    explorer = CurveExplorer(
        client_factory=factory,
        database=database,
        rules_of=lambda project, process: list(made),
        save_rule=save,
    )
    explorer.wait()
    assert explorer.plot._rules_data.strokes is None or explorer.plot._rules_data.strokes.empty
    (x0, x1), (y0, y1) = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    explorer.plot.on_bounds((x0 + (x1 - x0) / 4, y0, x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2))
    assert explorer.draft.drafting
    explorer.draft.rule_name = "drawn"
    assert explorer.draft.save(), explorer.draft.message
    explorer.wait()
    assert set(explorer.plot._rules_data.strokes["rule"]) == {"drawn"}
    explorer.close()


@pytest.fixture
def press(tmp_path):
    """Project "press" with Eve (viewer) and Dan (engineer)."""
    services = Services(Settings(home=tmp_path))
    people = {}
    with services.metadata.sessions() as session:
        project = accounts.default_project(session)
        project.name = "press"
        for name, role in (("eve", Role.VIEWER), ("dan", Role.ENGINEER)):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=None
            )
            session.add(ProjectMember(project=project, user=user, role=role))
            people[name] = Principal(user.email, user.id)
        session.commit()
    yield services, people
    services.close()


def test_the_page_makes_the_rule_for_engineers_only_and_audits_it(press):
    services, people = press
    dan, eve = people["dan"], people["eve"]
    assert may_make_rules(services, dan, "press") and not may_make_rules(services, eve, "press")
    window = {"x0": 1.0, "x1": 2.0, "y0": 3.0, "y1": 4.0, "mode": "pass-through"}
    save_rule(services, dan, "drawn", "press", "press-fit", "window", window, ["P1"])
    (rule,) = process_rules(services, eve, "press", "press-fit")  # a viewer sees it drawn
    run = RUNS.get("press", rule.rule_id)  # it judges the stored parts (none here) at once
    assert run is not None and run.wait(60)  # and closes its engine client when done
    assert (rule.name, rule.scope.programs, rule.check) == ("drawn", ("P1",), Window(**window))
    with pytest.raises(PermissionError):
        save_rule(services, eve, "mine", "press", "press-fit", "window", window, [])
    with pytest.raises(PermissionError, match="no project 'elsewhere'"):
        save_rule(services, dan, "x", "elsewhere", "press-fit", "window", window, [])
    with services.metadata.sessions() as session:
        rows = session.query(AuditEvent).filter_by(action="rule.create").all()
        assert [(r.actor, r.detail["name"]) for r in rows] == [(str(dan), "drawn")]


def test_a_drawn_rule_is_tried_on_the_parts_in_view_before_it_is_saved(demo):  # noqa: F811
    from pipelines.curves import Curves
    from pipelines.rules import judge

    factory, database, _ = demo
    saved = []
    explorer = CurveExplorer(
        client_factory=factory,
        database=database,
        save_rule=lambda *rule: saved.append(rule),
    )
    explorer.wait()
    (x0, x1), (y0, y1) = explorer.plot.image.view.x_range, explorer.plot.image.view.y_range
    explorer.plot.on_bounds((x0 + (x1 - x0) / 4, y0, x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2))
    words = html.unescape(explorer.draft.try_it())
    state = explorer.state
    _, params = explorer.draft.rule()
    rule = Rule("this rule", Scope(state.project, state.process), Window(**params))
    expected = judge(Curves(factory(), database).matching(state.curve_filter()), [rule])
    passed, judged = int(expected["passed"].sum()), len(expected)
    assert 0 < passed < judged
    assert words.startswith(
        f"**Tried on the {judged:,} parts of the filter in view: {passed:,} would pass, "
        f"{judged - passed:,} fail**"
    )
    assert words.count("\n- ") >= 1 and saved == []  # failing parts listed, nothing saved
    explorer.close()
