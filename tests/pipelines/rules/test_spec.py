"""Rules are checked when made: bad ones are refused with a message naming the field."""

from __future__ import annotations

import pytest

from pipelines.rules import (
    Envelope,
    NoPassLine,
    Rule,
    RuleError,
    Scope,
    Threshold,
    Window,
    make_check,
    rule_from_stored,
)

SCOPE = Scope("line-7", "press-fit")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: Window(5, 5, 0, 1), "x0 and x1: the first value (5) must be below the second (5)"),
        (lambda: Window(6, 5, 0, 1), "x0 and x1"),
        (lambda: Window(0, 1, 2, 1), "y0 and y1"),
        (lambda: Window(0, 1, 0, 1, entry="north"), "entry side must be one of left, right"),
        (lambda: Window(0, 1, 0, 1, exit="up"), "exit side must be one of"),
        (lambda: Window(0, 1, 0, 1, mode="inside"), "mode must be one of uni-box"),
        (lambda: Window("a", 1, 0, 1), "x0 must be a number, not 'a'"),
        (lambda: Window(float("nan"), 1, 0, 1), "x0 must be a finite number"),
        (lambda: NoPassLine(1, 1, 1, 1), "two ends are the same point"),
        (lambda: Envelope(0, 10, [(0, 0)], [(0, 1), (10, 1)]), "lower bound needs at least two"),
        (lambda: Envelope(0, 10, [(0, 0), (0, 1)], [(0, 1), (10, 1)]), "x values must increase"),
        (lambda: Envelope(0, 10, [(1, 0), (10, 0)], [(0, 1), (10, 1)]), "must cover the envelope"),
        (
            lambda: Envelope(0, 10, [(0, 0), (10, 2)], [(0, 1), (10, 1)]),
            "above its upper bound at x = 10",
        ),
        (lambda: Envelope(0, 10, 5, [(0, 1), (10, 1)]), "must be a list of (x, y) points"),
        (lambda: Envelope(3, 3, [(0, 0), (10, 0)], [(0, 1), (10, 1)]), "x_min and x_max"),
        (lambda: Threshold(10, 5, 4), "low (5) must not be above its high (4)"),
        (lambda: Threshold(10, 4, 5, axis="z"), "axis must be one of x, y"),
        (lambda: Threshold(10, 4, 5, direction="up"), "direction must be one of rising"),
        (lambda: Scope("", "press-fit"), "needs a project"),
        (lambda: Scope("p", " "), "needs a process"),
        (lambda: Scope("p", "q", stations=["ST1", ""]), "Stations may not contain an empty"),
        (lambda: Rule("", SCOPE, Window(0, 1, 0, 1)), "needs a name"),
        (lambda: Rule("r", SCOPE, "window"), "Unknown rule check"),
        (lambda: make_check("spline", {}), "Unknown rule kind 'spline'"),
        (lambda: make_check("window", {"x0": 0, "x1": 1, "y0": 0, "y1": 1, "z": 1}), "has no z"),
        (lambda: make_check("threshold", {"level": 1}), "needs high, low"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(make, words):
    with pytest.raises(RuleError) as error:
        make()
    assert words in str(error.value)


def test_a_rule_survives_the_store_round_trip():
    checks = [
        Window(1, 2, 3, 4, mode="uni-box", entry="left", exit="top"),
        NoPassLine(0, 1, 2, 3),
        Envelope(1, 9, [(0, 0), (10, 0)], [(0, 4), (5, 2), (10, 4)]),
        Threshold(15, 2.5, 3.5, axis="x", direction="falling"),
    ]
    for check in checks:
        rule = Rule("r", Scope("p", "q", programs=["P2", "P1"], stations=("S",)), check, 7, 3)
        stored = rule.stored()
        import json

        again = rule_from_stored(
            name="r",
            project="p",
            process="q",
            programs=["P1", "P2"],
            stations=["S"],
            rule_id=7,
            version=3,
            **json.loads(json.dumps(stored)),
        )
        assert again == rule
        assert again.scope.programs == ("P1", "P2")


def test_numbers_are_stored_as_floats():
    window = Window("1", 2, 3, 4)
    assert window.x0 == 1.0 and isinstance(window.x0, float)
