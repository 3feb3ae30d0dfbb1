import threading

import pytest

from pipelines.prefetch import prefetch


def test_items_arrive_in_order():
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))


def test_producer_errors_reach_the_consumer():
    def broken():
        yield 1
        raise ValueError("bad row 7")

    seen = []
    with pytest.raises(ValueError, match="bad row 7"):
        for item in prefetch(broken()):
            seen.append(item)
    assert seen == [1]


def test_producer_stops_when_the_consumer_gives_up():
    produced = []

    def endless():
        for i in range(10_000):
            produced.append(i)
            yield i

    stream = prefetch(endless(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert len(produced) < 10
    assert not any(t.name == "curvehouse-prefetch" for t in threading.enumerate())
