"""The Team page's parts: your account and tokens, teams, project members and invitations,
the audit trail."""

from __future__ import annotations

from datetime import datetime

import panel as pn


def when(value: datetime | None) -> str:
    """A stored time as every table of the Team page shows it: to the minute, in UTC (the
    column titles say so, see :func:`utc_titles`)."""
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def utc_titles(*columns: str) -> dict[str, str]:
    """Tabulator ``titles`` that name the zone of the time ``columns``."""
    return {column: f"{column} (UTC)" for column in columns}


def chosen_name(select: pn.widgets.Select) -> str:
    """The shown name of a Select's value (its options map names to ids)."""
    return next((name for name, value in select.options.items() if value == select.value), "")
