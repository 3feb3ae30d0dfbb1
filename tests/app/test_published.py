"""Read-only results: only publish() sets them, and watchers see every publication."""

import sys
import threading

import param
import pytest

from app.published import publish


class Results(param.Parameterized):
    message = param.String(default="", constant=True)
    count = param.Integer(default=0, constant=True)


def test_publish_sets_what_nobody_else_may():
    results = Results()
    publish(results, message="done", count=3)
    assert (results.message, results.count) == ("done", 3)
    with pytest.raises(TypeError, match="Constant"):
        results.message = "changed"
    with pytest.raises(TypeError, match="Constant"):
        Results().count = 1  # the class's parameters are constant again, too


def test_watchers_can_see_every_publication_even_of_the_same_value():
    results, seen = Results(), []
    results.param.watch(lambda e: seen.append(e.new), "message", onlychanged=False)
    for message in ("", "x", "x"):
        publish(results, message=message)
    assert seen == ["", "x", "x"]


def test_publications_from_threads_do_not_trip_over_each_other():
    """Runners deliver on their own threads outside a served session (tests, benchmarks);
    switching threads often makes overlapping publications (and their failures) likely."""
    results, errors = Results(), []

    def work():
        try:
            for n in range(2000):
                publish(results, message=str(n), count=n)
        except Exception as exc:
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and results.count == 1999
