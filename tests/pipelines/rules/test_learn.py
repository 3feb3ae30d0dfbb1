"""Envelopes learned from good parts: percentiles across the curves plus a margin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.rules import Rule, RuleError, Scope, judge_set, learn_envelope
from pipelines.samples import CurveSet
from tests.pipelines.rules.reference import concatenate


def press(rng, n, shift=0.0):
    curves = []
    for _ in range(n):
        x = np.sort(rng.uniform(0, 10, 200))
        x[0], x[-1] = 0.0, 10.0
        y = 3 * np.tanh(x - 4) + shift + rng.normal(0, 0.05, len(x))
        curves.append((x, y))
    return curves


def curve_set(curves):
    x, y, offsets = concatenate(curves)
    return CurveSet(pd.DataFrame({"curve_id": np.arange(len(curves))}), offsets, x, y)


def test_a_learned_band_holds_the_good_parts_and_refuses_a_shifted_one():
    rng = np.random.default_rng(5)
    good = curve_set(press(rng, 40))
    envelope = learn_envelope(good, 1, 9, points=80, low=0, high=100, margin=0.2)
    # The band at a grid x is the percentile of the curves' values there, moved out.
    at = envelope.lower[40][0]
    there = [np.interp(at, *c) for c in press(np.random.default_rng(5), 40)]
    assert envelope.lower[40][1] == pytest.approx(min(there) - 0.2)
    assert envelope.upper[40][1] == pytest.approx(max(there) + 0.2)
    rule = Rule("learned", Scope("p", "q"), envelope)
    assert judge_set(good, [rule])["passed"].all()
    fresh = judge_set(curve_set(press(rng, 20) + press(rng, 5, shift=1.0)), [rule])
    assert fresh["passed"].tolist() == [True] * 20 + [False] * 5
    assert set(fresh["code"][20:]) == {"above"}


def test_gaps_give_no_value_and_too_few_curves_are_refused():
    rng = np.random.default_rng(6)
    curves = press(rng, 6)
    curves[0][1][50:150] = np.nan  # a long gap: curve 0 says nothing in the middle
    envelope = learn_envelope(curve_set(curves), 1, 9, points=20, low=0, high=100)
    assert len(envelope.lower) == 20
    curves[1][1][50:150] = np.nan  # now only 4 curves reach the middle
    with pytest.raises(RuleError, match="Only 4 good curves reach x = "):
        learn_envelope(curve_set(curves), 1, 9, points=20)


def test_bad_requests_are_refused():
    good = curve_set(press(np.random.default_rng(7), 6))
    with pytest.raises(RuleError, match="percentiles"):
        learn_envelope(good, 1, 9, low=50, high=50)
    with pytest.raises(RuleError, match="margin"):
        learn_envelope(good, 1, 9, margin=-1)
    with pytest.raises(RuleError, match="x_min"):
        learn_envelope(good, 9, 1)
    back = curve_set([(np.array([0, 5, 4, 10.0]), np.zeros(4))] * 6)
    with pytest.raises(RuleError, match="Curve 0 turns back in x"):
        learn_envelope(back, 1, 9)
