"""Rules as strokes over the picture: each kind's geometry, with a window's sides marked."""

from __future__ import annotations

import pytest

from pipelines.rules import Envelope, FeatureLimits, NoPassLine, Rule, Scope, Threshold, Window
from pipelines.rules.strokes import rule_strokes

SCOPE = Scope("p", "press")


def strokes(check):
    frame = rule_strokes([Rule("r", SCOPE, check)])
    assert set(frame["rule"]) <= {"r"}
    return {(row.x0, row.y0, row.x1, row.y1): row.part for row in frame.itertuples()}


def test_a_uni_box_marks_its_entry_and_exit_sides():
    drawn = strokes(Window(2, 6, 10, 40, entry="left", exit="top"))
    assert drawn == {
        (2, 10, 2, 40): "entry",
        (6, 10, 6, 40): "edge",
        (2, 10, 6, 10): "edge",
        (2, 40, 6, 40): "exit",
    }


@pytest.mark.parametrize(
    ("window", "parts"),
    [
        (Window(0, 1, 0, 1, entry="any", exit="right"), ["edge", "exit", "edge", "edge"]),
        (Window(0, 1, 0, 1, entry="left", exit="left"), ["entry", "edge", "edge", "edge"]),
        (Window(0, 1, 0, 1, mode="pass-through", entry="left"), ["edge"] * 4),
        (Window(0, 1, 0, 1, mode="not-touch"), ["forbidden"] * 4),
    ],
)
def test_sides_follow_the_mode_and_any_marks_nothing(window, parts):
    assert list(strokes(window).values()) == parts  # left, right, bottom, top


def test_lines_envelopes_and_thresholds():
    assert strokes(NoPassLine(1, 2, 3, 4)) == {(1, 2, 3, 4): "forbidden"}
    band = Envelope(0, 2, ((0, 0), (1, 1), (2, 1)), ((0, 5), (2, 6)))
    assert strokes(band) == {
        (0, 0, 1, 1): "bound",
        (1, 1, 2, 1): "bound",
        (0, 5, 2, 6): "bound",
    }
    assert strokes(Threshold(level=20, low=3, high=5)) == {(3, 20, 5, 20): "threshold"}
    assert strokes(Threshold(level=4, low=10, high=30, axis="x")) == {(4, 10, 4, 30): "threshold"}
    # A feature limit read at a place is drawn there; one of the whole curve is not drawn.
    assert strokes(FeatureLimits("y_at_x", 4, 6, a=1)) == {(1, 4, 1, 6): "threshold"}
    assert strokes(FeatureLimits("x_at_y", 2, 3, a=5)) == {(2, 5, 3, 5): "threshold"}
    assert strokes(FeatureLimits("area", 0, 1)) == {}


def test_no_rules_no_strokes():
    assert rule_strokes([]).empty
