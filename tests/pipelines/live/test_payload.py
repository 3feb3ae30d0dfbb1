"""MQTT payloads: the import's fields and checks; every refusal has a reason in words."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.live.payload import parse_message

MAX = 1 << 20


def body(**fields) -> dict:
    return {"curve_key": "P-1/ST010", "x": [0, 0.5, 1.0], "y": [1, 2.5, 3], **fields}


def parse(document) -> tuple:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return parse_message(raw, max_bytes=MAX)


def test_one_object_with_every_per_curve_column():
    parsed = parse(
        body(station="ST010", result="i.O.", started_at="2026-12-05T06:00:00Z", shift="A")
    )
    assert parsed.refusals == []
    (curve,) = parsed.curves
    assert curve.key == "P-1/ST010"
    np.testing.assert_array_equal(curve.xs[0], [0, 0.5, 1.0])
    assert curve.meta["result"] == "OK"  # normalised exactly as an import does
    assert curve.meta["started_at"] == pd.Timestamp("2026-12-05T06:00:00Z")


def test_an_array_keeps_its_good_curves_and_refuses_the_bad_ones():
    parsed = parse([body(curve_key="A"), body(curve_key="B", x=[1]), body(curve_key="C")])
    assert [c.key for c in parsed.curves] == ["A", "C"]
    (refusal,) = parsed.refusals
    assert (refusal.reason, refusal.curve_key) == ("bad_field", "B")
    assert "curve 2" in refusal.detail and "'x' has 1 values but 'y' has 3" in refusal.detail


@pytest.mark.parametrize(
    ("document", "reason", "says"),
    [
        (b"{not json", "not_json", "not JSON"),
        (b'{"curve_key": "A", "x": [0, NaN], "y": [1, 2]}', "not_finite", "NaN, Infinity"),
        (b'{"curve_key": "A", "x": [0, 1e999], "y": [1, 2]}', "not_finite", "too large"),
        (body(y=[1, True, 3]), "bad_field", "'y' must be an array of numbers"),
        (body(x="0,1,2"), "bad_field", "'x' must be an array of numbers"),
        (body(colour="red"), "bad_field", "unknown field 'colour'; required: curve_key, x, y"),
        ({"x": [0, 1], "y": [0, 1]}, "bad_field", "field 'curve_key' is missing"),
        (body(curve_key="  "), "bad_field", "'curve_key' must be non-empty text"),
        (body(x=[0], y=[1]), "bad_field", "has 1 sample; a curve needs at least 2"),
        (body(result="maybe"), "bad_field", "'maybe' is not a result; use OK or NOK"),
        (body(started_at="11.12.2026"), "bad_field", "field 'started_at'"),
        (body(station=10), "bad_field", "'station' must be text"),
        ([], "bad_field", "one JSON object per curve, or an array"),
        ("text", "bad_field", "one JSON object per curve, or an array"),
        ([body(), body()], "duplicate_in_message", "appears twice in this message"),
    ],
)
def test_each_bad_message_is_refused_with_its_reason(document, reason, says):
    parsed = parse(document)
    assert [r.reason for r in parsed.refusals] == [reason]
    assert says in parsed.refusals[0].detail


def test_a_too_large_message_is_refused_unread():
    parsed = parse_message(b"x" * 101, max_bytes=100)
    assert parsed.curves == []
    assert parsed.refusals[0].reason == "too_large"
    assert "101 bytes; at most 100" in parsed.refusals[0].detail


def per_value_numbers(values: object) -> str | np.ndarray:
    """The check ``_numbers`` made value by value before it was made bulk: the reference."""
    if not isinstance(values, list) or not all(type(v) is float or type(v) is int for v in values):
        return "bad_field"
    array = np.asarray(values, dtype=np.float64)
    return array if np.isfinite(array).all() else "not_finite"


NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from([0, 1, 0.0, 1.0, -0.0]),
)
ANYTHING = st.one_of(
    NUMBERS, st.booleans(), st.none(), st.text(max_size=3), st.lists(NUMBERS, max_size=2)
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.lists(NUMBERS, min_size=2, max_size=50),
        st.lists(st.one_of(NUMBERS, NUMBERS, NUMBERS, ANYTHING), min_size=2, max_size=50),
        st.lists(st.sampled_from([0, 1, 0.0, 1.0, True, False]), min_size=2, max_size=20),
        ANYTHING,
    )
)
def test_numbers_are_refused_exactly_as_value_by_value(values):
    y = list(range(len(values))) if isinstance(values, list) else [0, 1]
    parsed = parse({"curve_key": "A", "x": values, "y": y})
    expected = per_value_numbers(values)
    if isinstance(expected, str):
        assert [r.reason for r in parsed.refusals] == [expected]
        says = "must be an array of numbers" if expected == "bad_field" else "is not finite"
        assert f"'x' {says}" in parsed.refusals[0].detail
    elif len(expected) < 2:
        assert "a curve needs at least 2" in parsed.refusals[0].detail
    else:
        assert parsed.refusals == []
        np.testing.assert_array_equal(parsed.curves[0].xs[0], expected)
        assert parsed.curves[0].xs[0].dtype == np.float64


def test_a_bool_among_zeros_and_ones_is_found_wherever_it_is():
    for spot in range(4):
        for flag in (True, False):
            x = [0, 1.0, 0.0, 1]
            x[spot] = flag
            (refusal,) = parse(body(x=x, y=[1, 2, 3, 4])).refusals
            assert "'x' must be an array of numbers" in refusal.detail
