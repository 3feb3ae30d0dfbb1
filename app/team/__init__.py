"""The Team page's parts: your account and tokens, teams, project members and invitations,
the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

import panel as pn
import param

from models.times import TimeInputError, zone_of


class Clock(param.Parameterized):
    """The zone the Team page's tables show times in: the viewer's browser's, once it has said
    which (UTC before that, or when it names no zone this server knows). Tables watch ``zone``
    and redraw; their column titles name it."""

    zone = param.String(default="UTC")

    def when(self, value: datetime | None, *, seconds: bool = False) -> str:
        """A stored time (naive UTC, as the metadata store keeps them) on the viewer's clocks."""
        if value is None:
            return ""
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        local = aware.astimezone(zone_of(self.zone))
        return f"{local:%Y-%m-%d %H:%M:%S}" if seconds else f"{local:%Y-%m-%d %H:%M}"

    def titles(self, *columns: str) -> dict[str, str]:
        """Tabulator ``titles`` that name the zone of the time ``columns``."""
        return {column: f"{column} ({self.zone})" for column in columns}

    def follow(self, info: param.Parameterized | None) -> Clock:
        """Take the zone of ``info`` (Panel's ``BrowserInfo``), now and whenever it changes."""
        if info is None:
            return self

        def take(*_events: object) -> None:
            try:
                if info.timezone:
                    zone_of(info.timezone)
                    self.zone = info.timezone
            except TimeInputError:
                pass  # a zone this server's tz database does not know: stay on UTC

        info.param.watch(take, "timezone")
        take()
        return self


def chosen_name(select: pn.widgets.Select) -> str:
    """The shown name of a Select's value (its options map names to ids)."""
    return next((name for name, value in select.options.items() if value == select.value), "")
