"""Text people and files give us: names (projects, teams, tokens, display names) and imported
values. One definition of what they may hold, for the API, the pages, the command line and
imports alike.

Control characters are refused everywhere: a NUL cuts strings short in C libraries and
terminals, escape sequences rewrite a terminal, and line breaks forge lines in logs and CSV
exports. A tab is the one control character kept in imported values (``\\t`` in a label is
harmless); names are stripped of surrounding white space, so a tab can only sit inside one.
"""

from __future__ import annotations

import re

# C0 controls except tab, and DEL. Written for both Python's ``re`` and RE2 (Arrow's
# ``match_substring_regex``), so imports check the same characters as names.
CONTROL_PATTERN = r"[\x00-\x08\x0a-\x1f\x7f]"
_CONTROL = re.compile(CONTROL_PATTERN)
# Project and team names: what the pages and the API show and people type.
GROUP_NAME = re.compile(r"\w[\w .\-]{0,99}")
LONGEST_LABEL = 100


class BadName(ValueError):
    """A name or value that holds what it may not; the message says what and where."""


def control_character(text: str) -> str | None:
    """The first control character in ``text`` (``"0x00"``), or None."""
    found = _CONTROL.search(text)
    return None if found is None else f"0x{ord(found.group()):02x}"


def printable(text: str, what: str) -> str:
    """``text`` unchanged, once it holds no control characters (``what`` names it in the
    message: "A token's name")."""
    bad = control_character(text)
    if bad is not None:
        raise BadName(f"{what} may not hold control characters; this one holds {bad}.")
    return text


def label(text: str, what: str, *, longest: int = LONGEST_LABEL) -> str:
    """``text`` trimmed, once it is 1 to ``longest`` characters without control characters."""
    text = printable(text.strip(), what)
    if not 1 <= len(text) <= longest:
        raise BadName(f"{what} has 1 to {longest} characters, not {len(text)}.")
    return text


def group_name(name: str, noun: str) -> str:
    """``name`` trimmed, once it is a valid project or team name (``noun``): 1-100 letters,
    digits, spaces, dots, hyphens or underscores, starting with a letter or digit."""
    name = name.strip()
    if not GROUP_NAME.fullmatch(name):
        raise BadName(
            f"A {noun} name has 1-100 letters, digits, spaces, dots, hyphens or underscores, "
            f"starting with a letter or digit; got {name[:120]!r}."
        )
    return name
