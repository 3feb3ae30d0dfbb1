"""The Team page's parts: your account and tokens, teams, project members and invitations,
the audit trail."""

from __future__ import annotations

import panel as pn


def chosen_name(select: pn.widgets.Select) -> str:
    """The shown name of a Select's value (its options map names to ids)."""
    return next((name for name, value in select.options.items() if value == select.value), "")
