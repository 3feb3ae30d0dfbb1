"""Overlap reading from the engine with the work on what was read, in one helper thread.

Two shapes, by who needs the engine's client:

* :func:`prefetch`: the producer (reads, generation) runs ahead in the helper thread; for a
  consumer that does not use the client the producer uses (drawing, or writing to another);
* :func:`overlapped`: reads stay in the caller's thread and the work on each chunk goes to the
  helper, for runs that also write back through the same client (judging rules over history):
  a client then serves one request at a time, which a ClickHouse server's HTTP session
  requires (it refuses a second query while one runs), and chDB does anyway.

The engine releases the GIL while it reads (measured in-process with chDB: a Python loop and a
query ran together), and the kernels release it while they run, so on two cores a read and
the work on the previous chunk run at once instead of taking turns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` while a background thread computes up to ``depth`` ahead.

    Memory stays bounded by ``depth`` items. An exception in the producer is re-raised here;
    if the consumer stops early, the producer stops at its next item.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(exc)
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="curvehouse-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


Part = TypeVar("Part")
Chunk = TypeVar("Chunk")
Done = TypeVar("Done")


def overlapped(
    parts: Iterable[Part],
    read: Callable[[Part], Chunk],
    work: Callable[[Chunk], Done],
    keep: Callable[[Done], None],
    *,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """For each part in order: ``read(part)`` in this thread, ``work(chunk)`` in a worker
    thread while the next part is read, then ``keep(result)`` back in this thread, in order
    (so ``keep`` may use the engine's client). ``stop()`` is asked before each read; work
    already under way is still kept. An error in any step stops the run and is raised here."""
    with ThreadPoolExecutor(1, thread_name_prefix="curvehouse-chunk") as pool:
        working: Future | None = None
        for part in parts:
            if stop():
                break
            chunk = read(part)
            if working is not None:
                keep(working.result())
            working = pool.submit(work, chunk)
        if working is not None:
            keep(working.result())
