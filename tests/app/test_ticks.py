"""A page's clock runs its callback without marking the server busy."""

from __future__ import annotations

import asyncio

import panel as pn

from app.ticks import every


def test_ticks_run_without_marking_the_server_busy():
    # Panel's busy state is one for the whole process: a tick that set it restyled the busy
    # indicator of every open page, twice a tick.
    calls, seen = [], []
    watcher = pn.state.param.watch(lambda event: seen.append(event.new), "busy")

    async def run() -> None:
        tick = every(lambda: calls.append(1), 40)
        await asyncio.sleep(0.3)
        tick.stop()

    try:
        asyncio.run(run())
    finally:
        pn.state.param.unwatch(watcher)
    assert len(calls) >= 3
    assert True not in seen


def test_a_tick_stops_after_its_timeout():
    calls = []

    async def run() -> None:
        every(lambda: calls.append(1), 30, timeout_ms=100)
        await asyncio.sleep(0.4)

    asyncio.run(run())
    assert 1 <= len(calls) <= 5
