"""Latest-wins runner: outdated work never queues, stale results are never shown."""

import asyncio
import threading

from bokeh.document import Document
from panel.io.state import state

from app.explorer.latest import LatestOnly, in_session


def test_newer_requests_replace_waiting_ones_and_stale_results_are_dropped():
    delivered, ran = [], []
    first_started, release = threading.Event(), threading.Event()
    runner = LatestOnly(delivered.append, lambda e: delivered.append(e))

    def job(n, block=False):
        def run():
            ran.append(n)
            if block:
                first_started.set()
                assert release.wait(10)
            return n

        return run

    runner.submit(job(1, block=True))
    assert first_started.wait(10)
    for n in (2, 3, 4):  # arrive while 1 runs: each replaces the one waiting
        runner.submit(job(n))
    release.set()
    assert runner.wait(10)
    assert ran == [1, 4]  # 2 and 3 never started
    assert delivered == [4]  # 1 finished after newer requests: dropped
    assert runner.skipped == 3 and runner.delivered == 1


def test_failures_reach_the_error_callback():
    errors = []
    runner = LatestOnly(lambda r: None, errors.append)

    def broken():
        raise ValueError("engine said no")

    runner.submit(broken)
    assert runner.wait(10)
    assert [str(e) for e in errors] == ["engine said no"]


def test_an_idle_runner_can_run_again():
    results = []
    runner = LatestOnly(results.append, results.append)
    for n in range(3):
        runner.submit(lambda n=n: n)
        assert runner.wait(10)
    assert results == [0, 1, 2]


def test_cancel_drops_the_waiting_job_and_the_running_result():
    delivered, ran = [], []
    started, release = threading.Event(), threading.Event()
    runner = LatestOnly(delivered.append, delivered.append)

    def slow():
        ran.append("slow")
        started.set()
        assert release.wait(10)
        return "slow"

    runner.submit(slow)
    assert started.wait(10)
    runner.submit(lambda: ran.append("waiting") or "waiting")
    runner.cancel()
    release.set()
    assert runner.wait(10)
    assert ran == ["slow"] and delivered == []


def test_a_failing_callback_does_not_stop_the_runner():
    shown = []

    def deliver(result):
        if result == "bad":
            raise RuntimeError("the page could not show it")
        shown.append(result)

    runner = LatestOnly(deliver, shown.append)
    runner.submit(lambda: "bad")
    assert runner.wait(10)
    runner.submit(lambda: "good")
    assert runner.wait(10)
    assert shown == ["good"]


def test_a_first_result_is_shown_only_while_its_job_is_the_newest():
    delivered = []
    runner = LatestOnly(delivered.append, delivered.append)
    started, release = threading.Event(), threading.Event()

    def loading():
        runner.interim("first picture")
        started.set()
        assert release.wait(10)
        runner.interim("too late")  # a newer request came in meanwhile
        return "whole"

    runner.submit(loading)
    assert started.wait(10)
    runner.submit(lambda: "newer")
    release.set()
    assert runner.wait(10)
    assert delivered == ["first picture", "newer"]


def on_a_loop(main) -> threading.Thread:
    """Run coroutine function ``main`` on an event loop of a thread of its own, as a served
    session's (this one may already run one: Playwright's); returns that thread."""
    failed = []

    def run():
        try:
            asyncio.run(main())
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if failed:
        raise failed[0]
    return thread


def test_results_from_threads_reach_the_document_on_the_sessions_own_thread():
    """A worker never touches the document: called from a thread while the session holds it,
    Bokeh's ``add_next_tick_callback`` could lose the callback. The call is handed to the
    session's event loop, which adds it there, and the result then runs in the document."""
    doc = Document()
    adders, shown = [], []
    add = doc.add_next_tick_callback

    def recorded(callback):
        adders.append(threading.current_thread())
        return add(callback)

    doc.add_next_tick_callback = recorded

    async def session():
        deliver = in_session(lambda result: shown.append((result, state.curdoc)), doc)
        doc.hold("combine")  # as Panel holds it while it sends changes
        worker = threading.Thread(target=deliver, args=("picture",))
        worker.start()
        worker.join(10)
        assert adders == []  # nothing reached the document from the worker
        await asyncio.sleep(0.05)  # the loop's turn
        doc.unhold()

    loop_thread = on_a_loop(session)
    assert adders == [loop_thread]
    (callback,) = doc.session_callbacks  # a served session runs it on its next tick
    callback.callback()
    assert shown == [("picture", doc)]


def test_a_result_for_a_closed_session_is_dropped_quietly():
    """Bokeh refuses a callback once the session's document was destroyed (an
    ``AttributeError``, as measured on Bokeh 3.9); a late result is then dropped, and no error
    reaches the event loop's handler."""
    doc = Document()
    errors = []

    def destroyed(callback):
        raise AttributeError(
            "'DocumentCallbackManager' object has no attribute '_session_callbacks'"
        )

    doc.add_next_tick_callback = destroyed

    async def closed():
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: errors.append(context)
        )
        in_session(lambda result: None, doc)("late")
        await asyncio.sleep(0.05)

    on_a_loop(closed)
    assert errors == []
