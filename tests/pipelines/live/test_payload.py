"""MQTT payloads: the import's fields and checks; every refusal has a reason in words."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

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
