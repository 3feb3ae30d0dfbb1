"""Sign-in attacks against ``curvehouse serve`` over real HTTP and in a real browser: saved
cookies replayed after a sign-out, a reset or a password change; parallel guessing; telling
accounts apart by words or time; redirects to other sites; open pages of an ended session."""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from models import accounts
from models.settings import Settings
from models.signins import throttle_key
from models.store import MetadataStore, open_metadata
from models.tables import LoginThrottle
from tests.ui.conftest import BIN, Served

pytestmark = pytest.mark.ui
PASSWORD = "correct horse battery"
WRONG = "Wrong e-mail address or password."


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(tmp_path_factory.mktemp("sessions-home"), [str(BIN / "curvehouse"), "serve"])
    yield server
    server.stop()


@contextmanager
def in_store(served) -> Iterator[MetadataStore]:
    """The server's metadata store, opened in this process (as another process would: the
    server shares nothing in memory with it)."""
    store = open_metadata(Settings(home=Path(served.home)))
    try:
        yield store
    finally:
        store.close()


def make_users(served, *emails: str) -> None:
    with in_store(served) as store, store.sessions() as session:
        for email in emails:
            accounts.create_user(session=session, email=email, password=PASSWORD)
        session.commit()


def cli(served, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "curvehouse"), *args],
        env={**os.environ, "CURVEHOUSE_HOME": served.home},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Client:
    """A browser without a page: keeps cookies, sends the XSRF token, never follows
    redirects (their ``Location`` is what the tests look at)."""

    def __init__(self, served, cookies: dict[str, str] | None = None) -> None:
        self.port = served.port
        self.cookies = dict(cookies or {})

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """``(status, Location, body)``."""
        connection = http.client.HTTPConnection("localhost", self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read().decode()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and not morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        connection.close()
        return answer.status, answer.headers.get("Location", ""), text

    def post(self, path: str, **form: str) -> tuple[int, str, str]:
        if "_xsrf" not in self.cookies:
            self.request("GET", "/login")
        return self.request("POST", path, {"_xsrf": self.cookies["_xsrf"], **form})

    def sign_in(self, email: str, password: str = PASSWORD, next: str = "/"):
        return self.post("/login", email=email, password=password, next=next)

    def can_open(self, path: str = "/team") -> bool:
        status, location, _ = self.request("GET", path)
        assert status in (200, 302), status
        return status == 200 and "/login" not in location


def signed_in(served, email: str) -> Client:
    client = Client(served)
    status, location, body = client.sign_in(email)
    assert status == 302 and location == "/", body
    assert client.can_open()
    return client


def test_a_saved_cookie_is_refused_after_sign_out(served):
    make_users(served, "out@plant.example")
    client = signed_in(served, "out@plant.example")
    other_device = signed_in(served, "out@plant.example")
    saved = Client(served, client.cookies)  # what a thief copied before the sign-out
    status, _, body = client.post("/logout")
    assert status == 200 and "You are signed out" in body
    assert not saved.can_open()
    assert not client.can_open()
    assert other_device.can_open()  # signing out here is not signing out everywhere


def test_a_saved_cookie_is_refused_after_an_operator_reset(served):
    make_users(served, "reset@plant.example")
    saved = Client(served, signed_in(served, "reset@plant.example").cookies)
    cli(served, "user", "set-password", "reset@plant.example", "--generate")
    assert not saved.can_open()


def test_a_removed_person_is_signed_out_at_once(served):
    make_users(served, "gone@plant.example")
    saved = Client(served, signed_in(served, "gone@plant.example").cookies)
    cli(served, "user", "remove", "gone@plant.example")
    assert not saved.can_open()


def test_a_locked_person_is_signed_out_at_once_until_unlocked(served):
    make_users(served, "locked@plant.example")
    saved = Client(served, signed_in(served, "locked@plant.example").cookies)
    cli(served, "user", "lock", "locked@plant.example")
    assert not saved.can_open()
    status, _, body = Client(served).sign_in("locked@plant.example")
    assert status == 401 and "locked by an administrator" in body
    cli(served, "user", "unlock", "locked@plant.example")
    assert signed_in(served, "locked@plant.example").can_open()


def test_sixty_parallel_guesses_check_at_most_five_passwords(served):
    make_users(served, "target@plant.example")
    xsrf = Client(served)
    xsrf.request("GET", "/login")

    def guess(i: int) -> tuple[int, str]:
        status, _, body = Client(served, xsrf.cookies).post(
            "/login", email="target@plant.example", password=f"guess number {i}"
        )
        return status, body

    with ThreadPoolExecutor(max_workers=60) as pool:
        answers = list(pool.map(guess, range(60)))
    assert {status for status, _ in answers} == {401}
    checked = sum(WRONG in body for _, body in answers)
    locked = sum("this account is locked" in body for _, body in answers)
    assert checked <= 5 and checked + locked == 60, (checked, locked)
    status, location, body = Client(served, xsrf.cookies).sign_in("target@plant.example")
    assert status == 401 and "this account is locked" in body, (status, location)
    with in_store(served) as store, store.sessions() as session:
        failures = session.get(LoginThrottle, throttle_key("target@plant.example")).failures
    assert failures == 61


def _message(body: str) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', body)
    assert found, body
    return found.group(1)


def test_known_and_unknown_addresses_answer_alike_in_words_and_time(served):
    known = [f"staff{i}@plant.example" for i in range(8)]
    make_users(served, "words@plant.example", *known)
    client = Client(served)
    for email in ("words@plant.example", "nobody-words@plant.example"):
        answers = [_message(client.sign_in(email, "not the password")[2]) for _ in range(6)]
        assert answers[:5] == [WRONG] * 5, answers
        # 30 s from the fifth failure; a busy machine takes a second or two per argon2 check.
        assert re.fullmatch(
            r"Too many failed attempts: this account is locked for (2\d|3[01]) s more\.",
            answers[5],
        ), answers

    def timed(email: str) -> float:
        start = time.perf_counter()
        status, _, body = client.sign_in(email, "not the password")
        assert status == 401 and WRONG in body
        return time.perf_counter() - start

    timed("warm-up@plant.example")
    known_times, unknown_times = [], []
    for i, email in enumerate(known):  # in turns, so the machine's load weighs on both alike
        known_times.append(timed(email))
        unknown_times.append(timed(f"nobody{i}@plant.example"))
    a, b = statistics.median(known_times), statistics.median(unknown_times)
    assert max(a, b) < 2 * min(a, b), (known_times, unknown_times)


HOSTILE_NEXT = (
    "/\\evil.example/phish",
    "/%5Cevil.example/phish",
    "//evil.example/phish",
    "/%2F%2Fevil.example",
    "https://evil.example/",
    "\\\\evil.example",
)


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_sign_in_never_sends_the_browser_to_another_site(served, hostile):
    make_users(served, f"redirect{HOSTILE_NEXT.index(hostile)}@plant.example")
    client = Client(served)
    # The link a phisher hands out, as the browser sends it (Tornado decodes it once).
    _, _, form = client.request("GET", "/login?" + urlencode({"next": hostile}))
    carried = re.search(r'name="next" value="([^"]*)"', form).group(1)
    for next_url in (carried, hostile):  # what the form carries, and a forged form
        status, location, body = client.sign_in(
            f"redirect{HOSTILE_NEXT.index(hostile)}@plant.example", next=next_url
        )
        assert status == 302, body
        landed = urlsplit(urljoin(f"http://localhost:{served.port}/login", location))
        assert landed.netloc == f"localhost:{served.port}", location
        assert location.startswith("/") and "\\" not in location and not location.startswith("//")


def test_an_open_page_goes_to_sign_in_once_its_session_ends(served, browser):
    make_users(served, "open@plant.example")
    context = browser.new_context()
    page = context.new_page()
    served.sign_in(page, "open@plant.example", PASSWORD, then="/api/me")
    page.goto(served.url + "team", wait_until="networkidle")
    page.get_by_text("Personal API tokens").wait_for()
    cli(served, "user", "set-password", "open@plant.example", "--generate")
    page.wait_for_url(re.compile(r"/login\?next=%2Fteam"), timeout=30_000)
    context.close()


def test_a_page_that_ignores_the_reload_is_cut_off(served):
    """A page's actions travel over its websocket: once the session ends the server asks the
    page to reload, then closes the socket itself, whatever the page does."""
    make_users(served, "stubborn@plant.example")
    client = signed_in(served, "stubborn@plant.example")
    _, _, html = client.request("GET", "/team")
    token = re.search(r'"token":\s*"([^"]+)"', html).group(1)

    async def hold_the_socket_open() -> list[str]:
        socket = await websocket_connect(
            HTTPRequest(
                f"ws://localhost:{served.port}/team/ws",
                headers={
                    "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
                    "Origin": f"http://localhost:{served.port}",
                },
            ),
            subprotocols=["bokeh", token],
        )
        await asyncio.to_thread(
            cli, served, "user", "set-password", "stubborn@plant.example", "--generate"
        )
        received = []
        while (message := await asyncio.wait_for(socket.read_message(), 30)) is not None:
            received.append(str(message))
        socket.close()  # closed by the server already; this only tidies the client
        return received

    # In a thread of its own: Playwright's sync API may keep an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:  # returns once the server closed the socket
        received = pool.submit(asyncio.run, hold_the_socket_open()).result()
    assert any('"attr":"reload","new":true' in m for m in received)


def test_a_password_change_ends_every_session_and_asks_to_sign_in_again(served, browser):
    make_users(served, "change@plant.example")
    other_device = signed_in(served, "change@plant.example")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    served.sign_in(page, "change@plant.example", PASSWORD, then="/api/me")
    stolen = Client(served, {c["name"]: c["value"] for c in context.cookies()})
    page.goto(served.url + "team", wait_until="networkidle")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password (12+ characters)").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(re.compile(r"/login"), timeout=30_000)
    assert not other_device.can_open() and not stolen.can_open()
    served.sign_in(page, "change@plant.example", "a brand new password", then="/api/me")
    context.close()
