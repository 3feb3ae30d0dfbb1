"""Verdicts with reasons in words, on curves in memory and on a project's stored curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.rules import (
    VERDICT_COLUMNS,
    Envelope,
    NoPassLine,
    Rule,
    Scope,
    Threshold,
    Window,
    judge,
    judge_set,
)
from pipelines.samples import CurveSet
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from tests.pipelines.rules.reference import concatenate

SCOPE = Scope("p", "press-fit")


def curve_set(curves, **columns):
    x, y, offsets = concatenate([(np.array(a, float), np.array(b, float)) for a, b in curves])
    meta = pd.DataFrame({"curve_id": np.arange(1, len(curves) + 1), **columns})
    return CurveSet(meta, offsets, x, y)


def verdicts(curves, check, scope=SCOPE, **columns):
    frame = judge_set(curve_set(curves, **columns), [Rule("r", scope, check, 4, 2)])
    assert list(frame.columns) == list(VERDICT_COLUMNS)
    return frame


def test_window_reasons_name_the_side_and_the_place_with_units():
    units = {"x_unit": ["mm"] * 4, "y_unit": ["kN"] * 4}
    curves = [
        ([0, 8], [2, 2]),
        ([4.21, 4.21], [5, 0]),
        ([3, 8], [2, 2]),
        ([0, 4, 8, 4, 8], [2, 2, 2, 3, 5]),
    ]
    frame = verdicts(curves, Window(2, 6, 1, 4, entry="left", exit="right"), **units)
    assert frame["passed"].tolist() == [True, False, False, False]
    assert frame["reason"].tolist() == [
        "entered through the left at x = 2 mm and left through the right at x = 6 mm",
        "entered through the top at x = 4.21 mm, not left",
        "starts inside the window, at x = 3 mm",
        "came back into the window through the right at x = 6 mm",
    ]
    assert frame["code"].tolist() == ["pass", "wrong_entry", "started_inside", "reentered"]
    assert frame[["x", "y"]].to_numpy().tolist()[1] == [4.21, 4.0]
    assert (frame["rule_id"] == 4).all() and (frame["rule_version"] == 2).all()


def test_reasons_of_the_other_kinds():
    frame = verdicts([([0, 7.9, 9], [0, 3, 3])], NoPassLine(7.9, 0, 7.9, 10), x_unit=["mm"])
    assert frame["reason"][0] == "crossed the no-pass line at x = 7.9 mm, y = 3"
    env = Envelope(1, 9, [(0, 0), (10, 0)], [(0, 4), (5, 2), (10, 4)])
    frame = verdicts([([3, 7], [2.5, 2.5]), ([0, 10], [1, 1]), ([20, 30], [1, 1])], env)
    assert frame["reason"].tolist() == [
        "went above the upper bound at x = 3.75 (by up to 0.5)",
        "stayed inside the envelope",
        "has no samples between x = 1 and 9",
    ]
    frame = verdicts(
        [([0, 2, 4], [0, 10, 20]), ([0, 1], [0, 1])],
        Threshold(15, 2.5, 3.5),
        x_unit=["mm", "mm"],
        y_unit=["N", "N"],
    )
    assert frame["reason"].tolist() == [
        "reached y = 15 N at x = 3 mm, inside [2.5, 3.5] mm",
        "never reached y ≥ 15 N",
    ]
    assert frame["passed"].tolist() == [True, False]
    frame = verdicts([([0, 2, 4], [0, 10, 20])], Threshold(3, 14, 16, axis="x"))
    assert frame["reason"][0] == "reached x = 3 at y = 15, inside [14, 16]"
    assert frame[["x", "y"]].to_numpy().tolist() == [[3.0, 15.0]]


def test_a_rule_judges_only_its_programs_and_stations():
    curves = [([0, 8], [2, 2])] * 3
    scope = Scope("p", "press-fit", programs=["P1"], stations=["S1", "S2"])
    frame = verdicts(
        curves, Window(2, 6, 1, 4), scope, program=["P1", "P1", "P2"], station=["S1", "S3", "S2"]
    )
    assert frame["curve_id"].tolist() == [1]
    other = Scope("q", "press-fit")
    assert verdicts(curves, Window(2, 6, 1, 4), other, project=["p"] * 3).empty


def test_empty_curves_fail_every_kind():
    for check in (Window(0, 1, 0, 1, mode="not-touch"), NoPassLine(0, 0, 1, 1)):
        frame = verdicts([([], []), ([np.nan], [1.0])], check)
        assert frame["code"].tolist() == ["empty", "empty"]
        assert frame["reason"].tolist() == ["has no samples"] * 2
        assert not frame["passed"].any()


@pytest.mark.integration
def test_stored_curves_are_judged_in_chunks_like_in_memory(store):
    store.write(generate_demo(DemoSpec(curves=60, seed=4)), DatasetSpec("a", "demo", "a"))
    store.write(generate_demo(DemoSpec(curves=20, seed=5)), DatasetSpec("b", "demo", "b"))
    curves = Curves(store.client, store.database)
    press = curves.filter(project="a", process="press-fit")
    whole = press.samples()
    x_max = float(np.nanmax(whole.x))
    y_max = float(np.nanmax(whole.y))
    stations = sorted(set(whole.meta["station"]))
    rules = [
        Rule("window", Scope("a", "press-fit"), Window(0.2 * x_max, 0.6 * x_max, 0, 0.5 * y_max)),
        Rule(
            "late force",
            Scope("a", "press-fit", stations=stations[:1]),
            Threshold(0.5 * y_max, 0, 0.7 * x_max),
        ),
        Rule("other project", Scope("b", "press-fit"), NoPassLine(0, 0, x_max, y_max)),
        Rule("no curves", Scope("a", "no-such-process"), NoPassLine(0, 0, 1, 1)),
    ]
    got = judge(curves, rules, chunk_samples=5_000)  # several chunks
    assert got["rule"].unique().tolist() == ["window", "late force", "other project"]
    expected = pd.concat(
        [judge_set(whole, [rule]).sort_values("curve_id") for rule in rules[:2]],
        ignore_index=True,
    )
    mine = got[got["rule"].isin(["window", "late force"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, expected)
    assert len(mine[mine["rule"] == "window"]) == len(whole)
    assert set(mine["passed"]) == {True, False}  # the demo's shapes differ enough
    assert mine["reason"].str.contains(" mm| kN").all()  # the demo's units
    b = Curves(store.client, store.database).filter(project="b", process="press-fit").count()
    assert len(got[got["rule"] == "other project"]) == b
    # A reader limited to project b never judges a's curves.
    only_b = Curves(store.client, store.database, projects=("b",))
    assert judge(only_b, rules[:2]).empty


def test_a_narrowed_rule_judges_the_right_samples():
    curves = [([0, 8], [2, 2]), ([3, 8], [2, 2]), ([], []), ([0, 4, 8, 4, 8], [2, 2, 2, 3, 5])]
    scope = Scope("p", "press-fit", stations=["S"])
    frame = verdicts(curves, Window(2, 6, 1, 4), scope, station=["T", "S", "S", "S"])
    assert frame["curve_id"].tolist() == [2, 3, 4]
    assert frame["code"].tolist() == ["started_inside", "empty", "reentered"]
