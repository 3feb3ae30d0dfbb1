"""Evaluation rules (issue 19 §1): checked rule values, and verdicts on curves.

>>> rule = Rule("press-in", Scope("line-7", "press-fit"), Window(2, 6, 100, 400, entry="left"))
>>> judge(curves, [rule])          # stored curves, through a Curves reader
>>> judge_set(curve_set, [rule])   # curves in memory
"""

from pipelines.rules.judge import CODE_NAMES, VERDICT_COLUMNS, covered, judge, judge_set
from pipelines.rules.learn import learn_envelope
from pipelines.rules.spec import (
    KINDS,
    Envelope,
    FeatureLimits,
    NoPassLine,
    Rule,
    RuleError,
    Scope,
    Threshold,
    Window,
    make_check,
    rule_from_stored,
)

__all__ = [
    "CODE_NAMES",
    "KINDS",
    "VERDICT_COLUMNS",
    "Envelope",
    "FeatureLimits",
    "NoPassLine",
    "Rule",
    "RuleError",
    "Scope",
    "Threshold",
    "Window",
    "covered",
    "judge",
    "judge_set",
    "learn_envelope",
    "make_check",
    "rule_from_stored",
]
