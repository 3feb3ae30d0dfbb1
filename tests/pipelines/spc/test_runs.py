"""Run rules: each on a sequence made to break it, and all of them against a slow reference that
tests every window point by point."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.spc import RULES, Chart, violations
from pipelines.spc.runs import NELSON, WESTERN_ELECTRIC


def chart(z) -> Chart:
    z = np.asarray(z, float)
    n = len(z)
    return Chart(
        "individuals", z, np.zeros(n), np.full(n, -3.0), np.full(n, 3.0), np.ones(n), np.ones(n)
    )


def slow(rule: str, z: np.ndarray) -> list[int]:
    """Points completing the rule's pattern, by looking back from each point."""
    hits = []
    for i in range(len(z)):

        def last(k, i=i):
            return z[i - k + 1 : i + 1] if i + 1 >= k else None

        if rule == "beyond 3σ":
            hit = abs(z[i]) > 3
        elif rule in ("9 on one side", "8 on one side"):
            w = last(int(rule[0]))
            hit = w is not None and (all(w > 0) or all(w < 0))
        elif rule == "6 trending":
            w = last(6)
            hit = w is not None and (all(np.diff(w) > 0) or all(np.diff(w) < 0))
        elif rule == "14 alternating":
            w = last(14)
            d = np.sign(np.diff(w)) if w is not None else None
            hit = w is not None and all(d[1:] * d[:-1] < 0)
        elif rule == "2 of 3 beyond 2σ":
            w = last(3)
            hit = w is not None and (sum(w > 2) >= 2 or sum(w < -2) >= 2)
        elif rule == "4 of 5 beyond 1σ":
            w = last(5)
            hit = w is not None and (sum(w > 1) >= 4 or sum(w < -1) >= 4)
        elif rule == "15 within 1σ":
            w = last(15)
            hit = w is not None and all(abs(w) < 1)
        elif rule == "8 outside 1σ":
            w = last(8)
            hit = w is not None and all(abs(w) > 1)
        hits.append(bool(hit))
    flags = np.array(hits)
    if not RULES[rule].every_point:
        flags = flags & ~np.r_[False, flags[:-1]]
    return np.flatnonzero(flags).tolist()


@pytest.mark.parametrize("seed", range(12))
def test_every_rule_matches_the_slow_reference_on_random_charts(seed):
    rng = np.random.default_rng(seed)
    # Drifting, sticky and noisy stretches, so that every rule fires somewhere.
    z = np.concatenate(
        [
            rng.normal(0, 1, 60),
            rng.normal(1.5, 0.6, 30),
            rng.normal(0, 0.3, 30),
            np.cumsum(rng.normal(0.1, 0.2, 20)),
            rng.normal(0, 3, 30),
        ]
    )
    found = violations(chart(z), tuple(RULES))
    for rule in RULES:
        assert [v.index for v in found if v.rule == rule] == slow(rule, z), rule


@pytest.mark.parametrize(
    ("rule", "z", "at"),
    [
        ("beyond 3σ", [0, 0, 3.5, 0], [2]),
        ("9 on one side", [0.1] * 9 + [-0.1], [8]),
        ("6 trending", [0, 0.1, 0.2, 0.3, 0.4, 0.5], [5]),
        ("14 alternating", [(-1) ** i * 0.5 for i in range(14)], [13]),
        ("2 of 3 beyond 2σ", [2.5, 0, 2.5], [2]),
        ("4 of 5 beyond 1σ", [1.5, 1.5, 0, 1.5, 1.5], [4]),
        ("15 within 1σ", [0.2] * 15, [14]),
        ("8 outside 1σ", [1.5, -1.5] * 4, [7]),
    ],
)
def test_each_nelson_rule_on_a_sequence_made_to_break_it(rule, z, at):
    assert [v.index for v in violations(chart(z), NELSON) if v.rule == rule] == at


def test_a_run_flags_once_and_the_western_electric_set_uses_eight_in_a_row():
    z = [0.5] * 12
    assert [(v.rule, v.index) for v in violations(chart(z), NELSON) if "side" in v.rule] == [
        ("9 on one side", 8)
    ]
    assert [(v.rule, v.index) for v in violations(chart(z), WESTERN_ELECTRIC)] == [
        ("8 on one side", 7)
    ]
    with pytest.raises(ValueError, match="unknown run rule"):
        violations(chart(z), ("seven up",))
