"""One MQTT message → validated curves, with the import's own checks.

A message is one JSON object per curve, or a JSON array of them, with exactly the fields of a
long-format import: ``curve_key``, ``x`` and ``y`` (arrays of numbers of the same length) and
the optional per-curve columns (``pipelines.ingest.columns``). Each curve then passes
:func:`pipelines.ingest.assemble.finish_curve`, the checks every imported curve passes.

Nothing raises: every refusal is a :class:`Refusal` with a reason code and words an engineer
can act on, so one bad curve never stops the good ones of the same message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import orjson

from pipelines.ingest.assemble import BadValue, Curve, finish_curve
from pipelines.ingest.columns import KNOWN, METADATA, describe_known
from pipelines.ingest.limits import MAX_FIELD_BYTES

# Curves one message may carry; a gateway sending more should split them.
MAX_CURVES_PER_MESSAGE = 10_000

# Reason codes of dead letters.
TOO_LARGE = "too_large"
NOT_JSON = "not_json"
NOT_FINITE = "not_finite"
BAD_FIELD = "bad_field"
UNKNOWN_PROJECT = "unknown_project"
NOT_ALLOWED = "not_allowed"  # its sender, or its topic, may not write to the project
CONFLICT = "conflict"
DUPLICATE_IN_MESSAGE = "duplicate_in_message"


@dataclass(frozen=True)
class Refusal:
    """Why a message, or one curve of it, was not stored."""

    reason: str
    detail: str
    curve_key: str | None = None


@dataclass
class Parsed:
    curves: list[Curve]
    refusals: list[Refusal]


def parse_message(payload: bytes, *, max_bytes: int) -> Parsed:
    """The good curves of one message and the refusals of the others."""
    if len(payload) > max_bytes:
        return _refused(
            TOO_LARGE,
            f"the message has {len(payload):,} bytes; at most {max_bytes:,} are read "
            "(CURVEHOUSE_MQTT_MAX_MESSAGE_KB). Send fewer curves per message",
        )
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        # orjson refuses NaN/Infinity tokens and numbers beyond a double (1e999) itself.
        if "infinity" in str(exc).lower() or any(t in payload for t in (b"NaN", b"Infinity")):
            return _refused(
                NOT_FINITE,
                "the message holds NaN, Infinity or a number too large for a double; x and y "
                "must be finite numbers",
            )
        return _refused(NOT_JSON, f"the message is not JSON: {exc}")
    if isinstance(document, dict):
        items = [document]
    elif isinstance(document, list) and document:
        items = document
    else:
        return _refused(
            BAD_FIELD, "the message must be one JSON object per curve, or an array of them"
        )
    if len(items) > MAX_CURVES_PER_MESSAGE:
        return _refused(
            TOO_LARGE,
            f"the message holds {len(items):,} curves; at most {MAX_CURVES_PER_MESSAGE:,}",
        )
    parsed, seen = Parsed([], []), set()
    for i, item in enumerate(items):
        where = f"curve {i + 1}" if len(items) > 1 else "the curve"
        try:
            curve = _curve(item, where)
        except _Refused as exc:
            parsed.refusals.append(exc.refusal)
            continue
        if curve.key in seen:
            parsed.refusals.append(
                Refusal(
                    DUPLICATE_IN_MESSAGE,
                    f"{where}: curve key {curve.key!r} appears twice in this message",
                    curve.key,
                )
            )
            continue
        seen.add(curve.key)
        parsed.curves.append(curve)
    return parsed


class _Refused(Exception):
    def __init__(self, reason: str, detail: str, key: str | None = None) -> None:
        self.refusal = Refusal(reason, detail, key)


def _refused(reason: str, detail: str) -> Parsed:
    return Parsed([], [Refusal(reason, detail)])


def _curve(item: object, where: str) -> Curve:
    if not isinstance(item, dict):
        raise _Refused(BAD_FIELD, f"{where} is not a JSON object; {describe_known()}")
    key = item.get("curve_key")
    label = key if isinstance(key, str) else None
    unknown = sorted(set(item) - KNOWN)
    if unknown:
        raise _Refused(
            BAD_FIELD, f"{where}: unknown field {unknown[0]!r}; {describe_known()}", label
        )
    missing = [f for f in ("curve_key", "x", "y") if f not in item]
    if missing:
        raise _Refused(BAD_FIELD, f"{where}: field {missing[0]!r} is missing", label)
    if not isinstance(key, str) or not key.strip():
        raise _Refused(BAD_FIELD, f"{where}: 'curve_key' must be non-empty text")
    if len(key.encode()) > MAX_FIELD_BYTES:
        raise _Refused(BAD_FIELD, f"{where}: 'curve_key' is longer than {MAX_FIELD_BYTES} bytes")
    where = f"{where} ({key!r})"
    x, y = (_numbers(item[f], f, where, key) for f in ("x", "y"))
    if len(x) != len(y):
        raise _Refused(BAD_FIELD, f"{where}: 'x' has {len(x)} values but 'y' has {len(y)}", key)
    meta: dict[str, str] = {}
    for column in METADATA:
        value = item.get(column)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _Refused(BAD_FIELD, f"{where}: {column!r} must be text", key)
        if len(value.encode()) > MAX_FIELD_BYTES:
            raise _Refused(
                BAD_FIELD, f"{where}: {column!r} is longer than {MAX_FIELD_BYTES} bytes", key
            )
        meta[column] = value
    curve = Curve(key, 0, [x], [y], meta)
    try:
        return finish_curve(curve)
    except BadValue as exc:
        raise _Refused(BAD_FIELD, f"{where}, field {exc.column!r}: {exc.message}", key) from None


def _numbers(values: object, field: str, where: str, key: str) -> np.ndarray:
    """``values`` as float64, refused unless every one is a JSON number (int or float).

    Bulk, because a per-value type check in Python was a third of the committer's time: one C
    pass (``struct``) converts ints and floats and raises for text, null, arrays and objects.
    It takes JSON ``true``/``false`` as 1.0/0.0, so only the positions holding 0 or 1 are then
    looked at one by one for a bool.
    """
    if not isinstance(values, list):
        raise _Refused(BAD_FIELD, f"{where}: {field!r} must be an array of numbers", key)
    array = np.empty(len(values), dtype=np.float64)
    try:
        struct.pack_into(f"{len(values)}d", array, 0, *values)
    except struct.error:
        raise _Refused(BAD_FIELD, f"{where}: {field!r} must be an array of numbers", key) from None
    except OverflowError:  # an int beyond a double (orjson itself makes those floats)
        raise _Refused(
            NOT_FINITE, f"{where}: {field!r} holds a value that is not finite", key
        ) from None
    suspects = np.flatnonzero((array == 0.0) | (array == 1.0))
    if suspects.size and bool in set(map(type, map(values.__getitem__, suspects.tolist()))):
        raise _Refused(BAD_FIELD, f"{where}: {field!r} must be an array of numbers", key)
    if not np.isfinite(array).all():  # 1e999 parses to inf
        raise _Refused(NOT_FINITE, f"{where}: {field!r} holds a value that is not finite", key)
    return array
