"""The columns an import understands, and how per-curve values are normalised."""

from __future__ import annotations

from pipelines.batch import TEXT_COLUMNS

REQUIRED = ("curve_key", "x", "y")
METADATA_TEXT = TEXT_COLUMNS
METADATA_TIME = ("started_at", "ended_at")
METADATA = (*METADATA_TEXT, *METADATA_TIME, "result")
KNOWN = frozenset((*REQUIRED, *METADATA))

RESULT_ALIASES = {
    "": "UNKNOWN",
    "UNKNOWN": "UNKNOWN",
    "OK": "OK",
    "PASS": "OK",
    "IO": "OK",
    "NOK": "NOK",
    "NG": "NOK",
    "FAIL": "NOK",
    "NIO": "NOK",
}


def describe_known() -> str:
    return "required: " + ", ".join(REQUIRED) + "; optional per curve: " + ", ".join(METADATA)
