"""Chunked work beside the engine's reads: while one chunk is worked on in a worker thread, the
caller's thread reads the next one from the engine.

The engine releases the GIL while it reads (measured in-process with chDB: a Python loop and a
query ran together), and the kernels release it while they run, so on two cores reading chunk
k + 1 and judging chunk k overlap instead of taking turns. The engine's client stays in the
caller's thread and serves one request at a time: a ClickHouse server refuses a second query
in a session that is still answering one, and chDB serves one at a time anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

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
