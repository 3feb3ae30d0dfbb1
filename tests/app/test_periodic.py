"""The background job every server thread shares: it runs on its own thread, a failing cycle is
logged and the next one runs, more work runs at once, and stop joins the thread."""

from __future__ import annotations

import logging
import threading

import pytest

from app.periodic import Periodic


class Counting(Periodic):
    name = "counting"

    def __init__(self, results: list, *, period: float, wait_first: bool = True) -> None:
        super().__init__(period=period)
        self.wait_first = wait_first
        self.results, self.cycles = results, 0
        self.done = threading.Event()

    def cycle(self):
        self.cycles += 1
        if not self.results:
            self.done.set()
            return False
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    def again(self, result: object) -> bool:
        return result == "more"


def test_a_failed_cycle_is_logged_and_the_next_one_runs(caplog):
    job = Counting([RuntimeError("mail server away"), "done"], period=0.01)
    with caplog.at_level(logging.ERROR, logger="app.periodic"):
        job.start()
        assert job.done.wait(5)
        job.stop()
    assert not job.running and job.cycles == 3
    [record] = caplog.records
    assert record.getMessage() == "counting: a cycle failed"
    assert "mail server away" in record.exc_text
    assert job._thread.name == "counting"


def test_more_work_runs_without_waiting_and_stop_joins_a_job_that_waits():
    # A period far beyond the test: only "more" can make the second and third cycles run.
    job = Counting(["more", "more"], period=3600, wait_first=False).start()
    assert job.done.wait(5)
    assert job.cycles == 3
    job.stop()  # wakes the hour-long wait at once
    assert not job.running


def test_waiting_first_runs_no_cycle_before_a_period_and_stop_ends_it():
    job = Counting(["done"], period=3600).start()
    job.stop()
    assert not job.running and job.cycles == 0


def test_a_job_without_a_cycle_says_so():
    with pytest.raises(NotImplementedError):
        Periodic(period=1).cycle()
