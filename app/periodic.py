"""Work a server does on its own, every few seconds, beside the pages: the report and drift
mailers and the project mover.

One daemon thread per job. :meth:`Periodic.stop` wakes the thread from its wait and joins it,
so a server that stops never leaves a cycle half done behind it (up to :data:`JOIN_SECONDS`).
A cycle that raises is logged and the next one tries again: a mail server or an engine that is
away for a while must not end the job for the life of the process.
"""

from __future__ import annotations

import logging
import threading
from typing import ClassVar, Self

log = logging.getLogger(__name__)

JOIN_SECONDS = 60.0  # a cycle in flight (a PDF printing, a batch copying) may take this long


class Periodic:
    """Runs :meth:`cycle` every :attr:`period` seconds on a thread named :attr:`name` once
    :meth:`start` is called; tests call :meth:`cycle` themselves instead.

    A subclass says whether it waits a period before its first cycle (:attr:`wait_first`) and
    whether a cycle's result means there is more to do at once (:meth:`again`)."""

    name: ClassVar[str] = "periodic"
    # Wait a period before the first cycle (a mailer: the server starts first), or begin at
    # once (the mover: a move a stopped server left goes on).
    wait_first: ClassVar[bool] = True

    def __init__(self, *, period: float) -> None:
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def cycle(self) -> object:
        """One pass of the job; its result goes to :meth:`again`."""
        raise NotImplementedError

    def again(self, result: object) -> bool:
        """Whether the next cycle starts without waiting (the cycle found more work)."""
        return False

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the cycle in flight, if any; returns when the thread ended."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=JOIN_SECONDS)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        if self.wait_first and self._stop.wait(self.period):
            return
        while not self._stop.is_set():
            try:
                more = self.again(self.cycle())
            except Exception:  # the next cycle tries again
                log.exception("%s: a cycle failed", self.name)
                more = False
            if not more:
                self._stop.wait(self.period)
