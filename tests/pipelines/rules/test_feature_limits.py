"""Feature limits (issue 19 §1, "any feature inside [low, high]"): a fixed feature or a
configured measure of each curve against its limits, with the reason in words and units; the
values equal the slow reference on random curves with gaps; a curve with no value fails."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.rules import FeatureLimits, Rule, RuleError, Scope, rule_from_stored
from tests.pipelines.features_reference import (
    reference_crossing,
    reference_features,
    reference_slope,
)
from tests.pipelines.rules.test_judge import verdicts
from tests.pipelines.test_features import random_curves

UNITS = {"x_unit": ["mm"] * 4, "y_unit": ["kN"] * 4}
# Peak 10 at x = 2; y = 5 at x = 1; x = 1 where y first reaches 5; slope 5 over 0..2.
RAMP = ([0, 1, 2, 3], [0, 5, 10, 4])


def test_a_fixed_feature_inside_above_below_and_on_its_limits():
    curves = [RAMP, ([0, 1], [0, 12]), ([0, 1], [0, 3]), ([0, 1], [0, 11])]
    frame = verdicts(curves, FeatureLimits("peak_y", 4, 11), **UNITS)
    assert frame["passed"].tolist() == [True, False, False, True]  # on the limit: inside
    assert frame["code"].tolist() == ["pass", "above", "below", "pass"]
    assert frame["reason"].tolist() == [
        "the peak y is 10 kN, inside [4, 11] kN",
        "the peak y is 12 kN, above [4, 11] kN",
        "the peak y is 3 kN, below [4, 11] kN",
        "the peak y is 11 kN, inside [4, 11] kN",
    ]
    assert frame[["x", "y"]].to_numpy().tolist()[0] == [2.0, 10.0]  # the peak


def test_measures_are_read_where_the_rule_says_and_never_reaching_fails():
    units = {k: v[:2] for k, v in UNITS.items()}
    short = ([0, 0.5], [0, 2])  # never reaches x = 1 nor y = 5
    frame = verdicts([RAMP, short], FeatureLimits("y_at_x", 4, 6, a=1), **units)
    assert frame["reason"].tolist() == [
        "y at x = 1 mm is 5 kN, inside [4, 6] kN",
        "has no value of y at x = 1 mm (never reached), limits [4, 6] kN",
    ]
    assert frame["code"].tolist() == ["pass", "no_value"] and frame["x"].tolist()[0] == 1
    frame = verdicts([RAMP, short], FeatureLimits("x_at_y", 0, 0.9, a=5), **units)
    assert frame["reason"].tolist()[0] == (
        "x where y first reaches 5 kN is 1 mm, above [0, 0.9] mm"
    )
    frame = verdicts([RAMP, short], FeatureLimits("slope", 4.5, 5.5, a=0, b=2), **units)
    assert frame["passed"].tolist() == [True, False]
    assert frame["reason"].tolist()[0] == (
        "the slope over x = 0 to 2 mm is 5 kN/mm, inside [4.5, 5.5] kN/mm"
    )


def test_a_curve_without_finite_samples_is_empty():
    frame = verdicts([([], []), ([np.nan], [1.0])], FeatureLimits("area", 0, 1))
    assert frame["code"].tolist() == ["empty", "empty"] and not frame["passed"].any()


@pytest.mark.parametrize("seed", [0, 1])
def test_verdicts_follow_the_reference_values_on_random_curves(seed):
    curves = random_curves(seed)
    checks = [
        (FeatureLimits("area", -5, 5), lambda x, y: reference_features(x, y)["area"]),
        (FeatureLimits("final_y", -2, 2), lambda x, y: reference_features(x, y)["final_y"]),
        (FeatureLimits("y_at_x", -3, 3, a=2), lambda x, y: reference_crossing(x, y, 2)),
        (FeatureLimits("x_at_y", 0, 4, a=1), lambda x, y: reference_crossing(y, x, 1)),
        (FeatureLimits("slope", -1, 1, a=0, b=3), lambda x, y: reference_slope(x, y, 0, 3)),
    ]
    for check, reference in checks:
        frame = verdicts(curves, check)
        for (x, y), passed, code in zip(curves, frame["passed"], frame["code"], strict=True):
            value = reference(np.asarray(x, float), np.asarray(y, float))
            if code == "empty":
                assert not np.isfinite(x * y).any() if len(x) else True
                continue
            assert passed == (np.isfinite(value) and check.low <= value <= check.high), check
            assert (code == "no_value") == (not np.isfinite(value))


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"feature": "force", "low": 0, "high": 1}, "must be one of peak_y"),
        ({"feature": "peak_y", "low": 2, "high": 1}, "must not be above"),
        ({"feature": "y_at_x", "low": 0, "high": 1}, "y_at_x's x \\(a\\) must be a number"),
        ({"feature": "slope", "low": 0, "high": 1, "a": 3, "b": 1}, "x range"),
        ({"feature": "peak_y", "low": 0, "high": 1, "a": 3}, "peak_y takes no a"),
    ],
)
def test_a_limit_that_cannot_judge_is_refused_in_words(params, words):
    with pytest.raises(RuleError, match=words):
        rule_from_stored(name="r", project="p", process="q", kind="feature", params=params)


def test_a_stored_feature_limit_reads_back_the_same():
    rule = Rule("stiffness", Scope("p", "press-fit"), FeatureLimits("slope", 4, 6, a=0, b=2))
    stored = rule.stored()
    assert stored == {
        "kind": "feature",
        "params": {"feature": "slope", "low": 4.0, "high": 6.0, "a": 0.0, "b": 2.0},
    }
    again = rule_from_stored(name="stiffness", project="p", process="press-fit", **stored)
    assert again.check == rule.check
