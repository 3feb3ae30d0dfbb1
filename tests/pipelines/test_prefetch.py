import threading
import time

import pytest

from pipelines.prefetch import overlapped, prefetch


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


def test_each_chunk_is_read_here_worked_on_beside_and_kept_here_in_order():
    caller = threading.get_ident()
    events, kept = [], []

    def read(part):
        assert threading.get_ident() == caller
        events.append(("read", part))
        return part * 10

    def work(chunk):
        assert threading.get_ident() != caller
        time.sleep(0.02)  # the next read happens meanwhile
        events.append(("worked", chunk))
        return chunk + 1

    def keep(done):
        assert threading.get_ident() == caller
        kept.append(done)

    overlapped(range(4), read, work, keep)
    assert kept == [1, 11, 21, 31]
    # The read of part 1 starts before the work on part 0 ends.
    assert events.index(("read", 1)) < events.index(("worked", 0))


def test_a_stop_ends_before_the_next_read_and_keeps_the_work_under_way():
    reads, kept = [], []
    overlapped(
        range(10),
        lambda part: reads.append(part) or part,
        lambda chunk: chunk,
        kept.append,
        stop=lambda: len(reads) >= 3,
    )
    assert reads == [0, 1, 2] and kept == [0, 1, 2]


def test_an_error_in_the_work_is_raised_to_the_caller():
    def work(chunk):
        if chunk == 2:
            raise ValueError("bad chunk")
        return chunk

    kept = []
    with pytest.raises(ValueError, match="bad chunk"):
        overlapped(range(5), lambda part: part, work, kept.append)
    assert kept == [0, 1]
