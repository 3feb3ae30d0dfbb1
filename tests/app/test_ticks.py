"""A page's clock runs its callback without marking the server busy."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine

import panel as pn

from app.ticks import every


def in_a_loop_of_its_own(main: Callable[[], Coroutine]) -> None:
    """Run ``main()`` on a thread with its own event loop: a test process may already hold a
    running loop on its main thread (another module's server), where ``asyncio.run`` refuses."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the test's thread
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    if failed:
        raise failed[0]


def test_ticks_run_without_marking_the_server_busy():
    # Panel's busy state is one for the whole process: a tick that set it restyled the busy
    # indicator of every open page, twice a tick.
    calls, seen = [], []
    watcher = pn.state.param.watch(lambda event: seen.append(event.new), "busy")

    async def main() -> None:
        tick = every(lambda: calls.append(1), 40)
        await asyncio.sleep(0.3)
        tick.stop()

    try:
        in_a_loop_of_its_own(main)
    finally:
        pn.state.param.unwatch(watcher)
    assert len(calls) >= 3
    assert True not in seen


def test_a_tick_stops_after_its_timeout():
    calls = []

    async def main() -> None:
        every(lambda: calls.append(1), 30, timeout_ms=100)
        await asyncio.sleep(0.4)

    in_a_loop_of_its_own(main)
    assert 1 <= len(calls) <= 5
