"""Real browser against a real server: Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.pipelines.live.plant import free_port

CHROMIUM = os.environ.get("CURVEHOUSE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
BIN = Path(sys.executable).parent
# Chromium on a machine without internet: no background traffic, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


OWNER = "owner@plant.example"
# The first owner's password for every test server of this run: random, never a fixed one.
OWNER_PASSWORD = secrets.token_urlsafe(16)


class Served:
    """A server subprocess on a free port with its own CURVEHOUSE_HOME; its first owner is
    ``OWNER`` with ``OWNER_PASSWORD``."""

    def __init__(self, home: Path, command: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}/"
        self.home, self.password = str(home), OWNER_PASSWORD
        env = {
            **os.environ,
            "CURVEHOUSE_HOME": str(home),
            "CURVEHOUSE_PORT": str(self.port),
            "CURVEHOUSE_OWNER_EMAIL": OWNER,
            "CURVEHOUSE_OWNER_PASSWORD": OWNER_PASSWORD,
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        try:
            wait_for(self.url, self.process)
        except Exception:
            self.stop()
            raise

    def sign_in(
        self, page, email: str = OWNER, password: str = OWNER_PASSWORD, then: str = "/"
    ) -> None:
        """Through the real login form, as a person would; ``then`` is where the form leads."""
        page.goto(self.url + "login?" + urlencode({"next": then}))
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)

    def stop(self) -> None:
        """Stop the server; what it printed is kept in ``output``."""
        self.process.terminate()
        try:
            self.output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()


@contextmanager
def serving_clusters(home: Path) -> Iterator[Served]:
    """``curvehouse serve`` on ``home``; the cluster nodes it made there are stopped after, so
    a failed test leaves no node process running."""
    server = Served(home, [str(BIN / "curvehouse"), "serve"])
    try:
        yield server
    finally:
        server.stop()
        leftover = subprocess.run(
            ["pgrep", "-f", f"providers.clusters.node .*{home}"], capture_output=True, text=True
        ).stdout.split()
        for pid in leftover:
            subprocess.run(["kill", pid], check=False)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui-home")
    subprocess.run(
        [str(BIN / "curvehouse"), "demo", "--curves", "600"],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home


class SharedServer:
    """One ``curvehouse serve`` on the worker's demo home, for every module that only reads and
    clicks: a server start costs 8-15 s here. Started at first use; a test that needs the home
    to itself (chDB lets one process open a data directory) calls ``release`` first."""

    def __init__(self, home: Path) -> None:
        self.home, self.server = home, None

    def get(self) -> Served:
        if self.server is None or self.server.process.poll() is not None:
            self.server = Served(self.home, [str(BIN / "curvehouse"), "serve"])
        return self.server

    def release(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def adopt(self, server: Served) -> None:
        """Take over ``server``, a module's own ``curvehouse serve`` on this home, for the
        modules after it (instead of stopping it and starting the same command again)."""
        self.release()
        self.server = server


def address(page) -> str:
    """The address bar as the browser has it: ``location``, not Playwright's ``page.url``,
    which missed an update the page made with the History API while it was still loading
    (three full runs failed on a stale URL while ``location.search`` held the zoom)."""
    return page.evaluate("location.href")


def query_of(url: str) -> dict[str, str]:
    """A URL's query, the last value of each name."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def query(page) -> dict[str, str]:
    """The address bar's query (:func:`address`)."""
    return query_of(address(page))


@pytest.fixture(scope="session")
def shared_demo(demo_home):
    shared = SharedServer(demo_home)
    yield shared
    shared.release()


@pytest.fixture
def page(browser, request):
    """A fresh browser tab; signed in as the owner when the test uses a ``served`` app."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    if "served" in request.fixturenames:
        # Signed in on the way to a small JSON answer: each test opens its own page next, and
        # the explorer at "/" would be drawn for nothing (a few CPU seconds a test).
        request.getfixturevalue("served").sign_in(page, then="/api/me")
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
