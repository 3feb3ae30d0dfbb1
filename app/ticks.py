"""A page's own clock: polls and live ticks that run every so often while the page is open.

Panel's ``pn.state.add_periodic_callback`` marks the process busy for each tick, and its busy
state is one for the whole server: every tick of every open page set the busy indicator of
every open page, twice. With a handful of explorers open (each polls its rules' runs every
second) that took about 4 % of the server's time and sent each browser two changes a second.
These ticks run in the background: no page is shown busy for a poll.
"""

from __future__ import annotations

from collections.abc import Callable

from panel.io.callbacks import PeriodicCallback


def every(
    callback: Callable[[], object], period_ms: int, *, timeout_ms: int | None = None
) -> PeriodicCallback:
    """Call ``callback`` every ``period_ms`` in the current session, until it is stopped,
    ``timeout_ms`` have passed, or the session ends (Bokeh removes the session's callbacks
    with it)."""
    tick = PeriodicCallback(
        callback=callback, period=period_ms, timeout=timeout_ms, background=True
    )
    tick.start()
    return tick
