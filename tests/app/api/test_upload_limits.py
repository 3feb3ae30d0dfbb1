"""Uploads that try to stop the API: too large, hostile files, many at once, stopped midway.

A server of its own (the attacks load it), with the default limits: uploads up to 100 MB, two
import threads, two imports per person at once.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager

import pytest
import requests

from tests.app.api.conftest import ApiServer, curves_csv, hosted

pytestmark = pytest.mark.integration

MB = 1_000_000
# A hostile upload of the probe: 529 KB, 40,000 columns.
WIDE = (",".join(f"c{i}" for i in range(40_000)) + "\n" + "1," * 39_999 + "1\n").encode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with hosted(tmp_path_factory, "limits") as world:
        yield world


def leftovers(world) -> list:
    """Upload folders in the server's temporary directory and under its home."""
    return [
        p
        for root in (world.tmpdir, world.home)
        for p in root.rglob("curvehouse-upload-*")
        if p.is_dir()
    ]


def datasets_path(world) -> str:
    return f"/api/projects/{world.project_a}/datasets"


@contextmanager
def held_upload(world, who: str = "owner", size: int = 50 * MB, sent: int = 2 * MB):
    """An upload whose client sends ``sent`` of ``size`` bytes and then waits; closed on exit."""
    sock = socket.create_connection(("127.0.0.1", world.server.port), timeout=30)
    with closing(sock):
        head = (
            f"POST {datasets_path(world)}?name=held.csv HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{world.server.port}\r\n"
            f"Authorization: Bearer {world.tokens[who]}\r\n"
            "Content-Type: text/csv\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode())
        sock.sendall(b"curve_key,x,y\n" + b"A,0,1\n" * ((sent - 14) // 6))
        yield sock


def answer_of(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the answer waiting on ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":", 1)[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ", 2)[1]), json.loads(body[:length])


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_200_mb_upload_is_refused_in_json_naming_the_limit(world):
    answer = world.call(
        "POST",
        datasets_path(world),
        data=b"x" * (200 * MB),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 413
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {
        "error": {
            "status": 413,
            "code": "too_large",
            "message": "Uploads are limited to 100 MB; this one is 200 MB. Split the file or "
            "import it with `curvehouse ingest`.",
        }
    }
    assert leftovers(world) == []


def test_a_client_that_asks_first_is_refused_before_it_sends(world):
    # curl sends large bodies with "Expect: 100-continue": the refusal comes instead of the
    # go-ahead, and nothing of the body is sent.
    with closing(socket.create_connection(("127.0.0.1", world.server.port), timeout=30)) as sock:
        sock.sendall(
            (
                f"POST {datasets_path(world)} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {world.tokens['owner']}\r\nContent-Type: text/csv\r\n"
                f"Content-Length: {200 * MB}\r\nExpect: 100-continue\r\n\r\n"
            ).encode()
        )
        status, body = answer_of(sock)
    assert status == 413
    assert body["error"]["message"].startswith("Uploads are limited to 100 MB; this one is 200")


def test_a_chunked_upload_is_cut_at_the_limit(world):
    def body():
        yield b"curve_key,x,y\n"
        for _ in range(110):
            yield b"A,0,1\n" * (MB // 6)

    answer = world.call(
        "POST", datasets_path(world), data=body(), headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["message"].startswith(
        "Uploads are limited to 100 MB; this one is larger."
    )
    assert leftovers(world) == []


def test_json_routes_keep_a_small_body_limit(world):
    answer = world.call(
        "POST",
        "/api/projects",
        data=b'{"name": "' + b"x" * (2 * MB) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["message"] == "A JSON body is at most 1,048,576 bytes."


def test_an_upload_stopped_midway_leaves_nothing(world):
    with held_upload(world):
        assert wait_for(lambda: leftovers(world)), "the upload is not streamed to a file"
    assert wait_for(lambda: leftovers(world) == []), leftovers(world)
    # And its place is free again: the owner's next upload goes through.
    answer = world.call(
        "POST",
        f"{datasets_path(world)}?name=after.csv",
        data=curves_csv("STOP"),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.text


def test_at_most_two_imports_per_person_at_once(world):
    with held_upload(world) as first, held_upload(world) as second:
        assert wait_for(lambda: len(leftovers(world)) == 2)
        third = world.call(
            "POST",
            f"{datasets_path(world)}?name=third.csv",
            data=curves_csv("THIRD"),
            headers={"Content-Type": "text/csv"},
        )
        assert third.status_code == 429
        assert third.json()["error"] == {
            "status": 429,
            "code": "too_many_requests",
            "message": "You have 2 imports running, the most one person may have at once; "
            "send this file when one of them has finished.",
        }
        # Another person is not held up by the owner's imports.
        other = world.call(
            "POST",
            f"{datasets_path(world)}?name=engineer.csv",
            who="engineer",
            data=curves_csv("ENG"),
            headers={"Content-Type": "text/csv"},
        )
        assert other.status_code == 201, other.text
        assert first.fileno() >= 0 and second.fileno() >= 0
    assert wait_for(lambda: leftovers(world) == [])


def sample_me(world, stop: threading.Event, samples: list) -> None:
    """Ask /api/me until ``stop``, recording (status or error, seconds)."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            answer = requests.get(
                f"{world.url}/api/me",
                headers={"Authorization": f"Bearer {world.tokens['viewer']}"},
                timeout=10,
            )
            samples.append((answer.status_code, time.monotonic() - started))
        except requests.RequestException as exc:
            samples.append((type(exc).__name__, time.monotonic() - started))
        time.sleep(0.05)


@contextmanager
def watching_me(world, least: int = 30):
    samples: list = []
    stop = threading.Event()
    thread = threading.Thread(target=sample_me, args=(world, stop, samples))
    thread.start()
    try:
        yield samples
        wait_for(lambda: len(samples) >= least, timeout=60)
    finally:
        stop.set()
        thread.join()
    slow = [s for s in samples if s[0] != 200 or s[1] > 2.0]
    assert len(samples) >= least
    assert slow == [], f"{len(slow)} of {len(samples)} /api/me calls failed or took > 2 s: {slow}"


def upload(world, who: str, data: bytes, name: str):
    return world.call(
        "POST",
        f"{datasets_path(world)}?name={name}",
        who=who,
        data=data,
        headers={"Content-Type": "text/csv"},
    )


def test_hostile_uploads_do_not_stop_the_api(world):
    # The probe's attack: wide uploads in flight from several people; before, three of them
    # held every API worker and /api/me timed out.
    senders = ["owner", "admin", "engineer"] * 3
    with watching_me(world), ThreadPoolExecutor(len(senders)) as pool:
        answers = list(pool.map(lambda who: upload(world, who, WIDE, f"wide-{who}.csv"), senders))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {422, 429}, statuses
    refused = [a.json()["error"]["message"] for a in answers if a.status_code == 422]
    assert refused, statuses
    assert all("the header has 40,000 columns; an import takes at most 64" in m for m in refused)
    assert wait_for(lambda: leftovers(world) == [])


def test_slow_imports_run_beside_the_api(world):
    # Honest work this time: six imports of several seconds each, more than the API has
    # threads; before, they took every one of them and /api/me waited for an import to end.
    rows = ["curve_key,x,y,station"]
    for i in range(2_000_000):
        rows.append(f"K{i // 1000:05d},{i % 1000},{(i * 7919) % 1000 / 10},S{i // 1000 % 3}")
    data = ("\n".join(rows) + "\n").encode()
    senders = ["owner", "admin", "engineer"] * 2
    # Different keys in every file, so none is "already imported".
    jobs = [(who, data.replace(b"\nK", f"\nJ{i}K".encode())) for i, who in enumerate(senders)]
    with watching_me(world), ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda job: upload(world, job[0], job[1], "slow.csv"), jobs))
    assert [a.status_code for a in answers] == [201] * len(jobs), [a.text for a in answers]
    assert wait_for(lambda: leftovers(world) == [])


def test_a_crashed_server_leaves_no_upload_folder_behind(tmp_path_factory):
    # A server killed mid-upload cannot clean up; its next start does.
    with hosted(tmp_path_factory, "crash") as world:
        with held_upload(world, who="admin"):
            assert wait_for(lambda: leftovers(world)), "the upload is not streamed to a file"
            world.server.process.kill()
            world.server.process.wait()
        assert leftovers(world)
        world.server = ApiServer(world.home, world.tmpdir)  # stopped by hosted()
        assert leftovers(world) == []


def test_a_stalled_upload_is_cut_off_and_frees_its_slot(tmp_path_factory):
    """A client that sends part of a body and then nothing held one of that person's two
    import slots until it went away; now the body has ``CURVEHOUSE_UPLOAD_SECONDS``."""
    with hosted(tmp_path_factory, "stalled") as world:
        world.server.stop()
        # 4 s, not 2: both stalled uploads must be held at once. Each one's clock starts when
        # its body starts, after its token check on a worker thread; a loaded machine that
        # began the second 2 s after the first would already have cut the first off. (This
        # test failed once in a loaded full run; it did not fail under load on its own.)
        world.server = ApiServer(world.home, world.tmpdir, {"CURVEHOUSE_UPLOAD_SECONDS": "4"})
        with held_upload(world) as first, held_upload(world) as second:
            assert wait_for(lambda: len(leftovers(world)) == 2)
            for sock in (first, second):
                sock.settimeout(15)
                while sock.recv(65536):  # the server closes it
                    pass
        assert wait_for(lambda: leftovers(world) == [])
        answer = upload(world, "owner", curves_csv("AFTER"), "after-stall.csv")
        assert answer.status_code == 201, answer.text
