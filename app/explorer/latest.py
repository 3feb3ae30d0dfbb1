"""Latest-wins background work: rapid zooms never queue renders behind each other.

One worker thread per runner. While a job runs, a newer submission replaces any job still
waiting, so at most one job runs and one waits. When a job finishes after a newer one was
submitted, its result is dropped: the page only ever shows the newest request's answer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from panel.io.state import set_curdoc

log = logging.getLogger(__name__)


def in_session(fn: Callable[[Any], None], doc: Any) -> Callable[[Any], None]:
    """``fn`` as a runner's ``deliver`` or ``fail``: run in ``doc``'s session on its next tick
    (Bokeh models change only there), or at once when there is no document (tests,
    benchmarks).

    Made on the session's thread, it hands each call to that thread's event loop first
    (``call_soon_threadsafe``), and the callback is added to the document there. Added from a
    worker thread, it could be lost: while the session held the document (Panel holds it
    while sending changes), the callback's event joined the held events just as the session
    took them; a dashboard panel then stayed "Drawing…" for good (about 1 opening in 25
    under load)."""
    if doc is None:
        return fn
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:  # a document outside a running server
        loop = None

    def on_next_tick(run: Callable[[], None]) -> None:
        try:
            doc.add_next_tick_callback(run)
        except (AttributeError, RuntimeError):  # Bokeh's answer once the session closed
            log.debug("the session closed before a result could be shown")

    def later(arg: Any) -> None:
        def run() -> None:
            with set_curdoc(doc):
                fn(arg)

        if loop is None:
            on_next_tick(run)
            return
        try:
            loop.call_soon_threadsafe(on_next_tick, run)
        except RuntimeError:  # the server stopped
            log.debug("the server stopped before a result could be shown")

    return later


class LatestOnly:
    """Runs submitted jobs one at a time, newest first, delivering only fresh results.

    ``deliver(result)`` and ``fail(error)`` run on the worker thread; a served page hands them
    to its document's next tick.
    """

    def __init__(
        self, deliver: Callable[[Any], None], fail: Callable[[Exception], None], name: str = ""
    ) -> None:
        self._deliver = deliver
        self._fail = fail
        self._name = name or "latest-only"
        self._lock = threading.Lock()
        self._waiting: Callable[[], Any] | None = None
        self._generation = 0
        self._started = -1  # the generation of the job running
        self._running = False
        self._idle = threading.Event()
        self._idle.set()
        self.skipped = 0  # jobs replaced before they started, or finished stale
        self.delivered = 0

    def submit(self, job: Callable[[], Any]) -> None:
        with self._lock:
            self._generation += 1
            if self._waiting is not None:
                self.skipped += 1
            self._waiting = job
            if self._running:
                return
            self._running = True
            self._idle.clear()
        threading.Thread(target=self._work, name=self._name, daemon=True).start()

    def interim(self, result: Any) -> None:
        """A running job's first result (a picture while the rest loads), delivered now unless
        a newer request came in meanwhile; the job's own result still follows."""
        with self._lock:
            if self._generation != self._started:
                return
        self._deliver(result)

    def cancel(self) -> None:
        """Drop the waiting job, and the result of the running one."""
        with self._lock:
            self._generation += 1
            if self._waiting is not None:
                self.skipped += 1
            self._waiting = None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job runs or waits (and the last result was handed over)."""
        return self._idle.wait(timeout)

    def _work(self) -> None:
        try:
            self._loop()
        except BaseException:  # never leave the runner marked as busy
            with self._lock:
                self._running = False
                self._idle.set()
            raise

    def _loop(self) -> None:
        while True:
            with self._lock:
                job, self._waiting = self._waiting, None
                if job is None:  # decided under the lock, so a new submit starts a new worker
                    self._running = False
                    self._idle.set()
                    return
                generation = self._started = self._generation
            try:
                result, error = job(), None
            except Exception as exc:  # handed to the page, which shows it
                result, error = None, exc
            with self._lock:
                stale = generation != self._generation
                if stale:
                    self.skipped += 1
                else:
                    self.delivered += 1
            if stale:
                continue
            try:
                if error is None:
                    self._deliver(result)
                else:
                    self._fail(error)
            except Exception:  # a page that cannot show a result must not stop the runner
                log.exception("showing a background result failed")
