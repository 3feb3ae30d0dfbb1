"""Counts in words, the same on every page, summary and command: "1 curve", "1,204 curves"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` with thousands separators and ``noun`` in the number it needs (``plural``:
    when adding an "s" is wrong)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
