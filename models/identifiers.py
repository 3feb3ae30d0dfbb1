"""Whitelist checks for names that end up inside SQL as identifiers.

Values always travel as bound parameters; identifiers (database and table names) cannot, so
they must match this pattern before they are quoted into a statement.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class InvalidIdentifierError(ValueError):
    """A database or table name that is not safe to place in SQL."""


def plain_name(name: str) -> str:
    """Return ``name`` unchanged, or raise if it is not a plain identifier (also safe as a
    directory name)."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise InvalidIdentifierError(
            f"{name!r} is not a valid name: use letters, digits and underscores, "
            "starting with a letter or underscore, at most 63 characters."
        )
    return name


def identifier(name: str) -> str:
    """Return ``name`` back-quoted for SQL, or raise if it is not a plain identifier."""
    return f"`{plain_name(name)}`"


def on_cluster(cluster: str | None) -> str:
    """`` ON CLUSTER `name` `` for DDL that must reach every node of a cluster; empty for one
    server."""
    return f" ON CLUSTER {identifier(cluster)}" if cluster else ""
