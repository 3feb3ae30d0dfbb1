"""The columns an import understands, and how per-curve values are normalised."""

from __future__ import annotations

import re

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


def result_of(text: str | None) -> str | None:
    """The store's OK/NOK/UNKNOWN for a result as plants write it, or None: case, spaces and
    dots do not count, so ``i.O.``/``n.i.O.`` (German "in Ordnung") read as IO/NIO."""
    return RESULT_ALIASES.get(re.sub(r"[\s.]", "", text or "").upper())


def describe_known() -> str:
    return "required: " + ", ".join(REQUIRED) + "; optional per curve: " + ", ".join(METADATA)
