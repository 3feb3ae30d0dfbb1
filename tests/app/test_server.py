"""The security headers every answer of ``curvehouse serve`` carries, on a real Tornado server
with the same transform (the pages themselves are checked in tests/ui/test_xss_browser.py)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import urllib.request

import pytest
from panel.io.location import _get_location_params
from tornado.web import Application, RequestHandler

from app.server import QueryMarks, SecurityHeaders, content_security_policy

PAGE = (
    "<html><head><script src='static/a.js'></script><SCRIPT>Bokeh.run()</SCRIPT>"
    '<script type="application/json" id="d">{}</script></head>'
    "<body><scripts-not-a-tag></scripts-not-a-tag><p>scripted</p></body></html>"
)


class Page(RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/html")
        self.write(PAGE)


class OwnPolicy(RequestHandler):
    def get(self):
        self.set_header("Content-Security-Policy", "default-src 'none'")
        self.write("<p>sign in</p>")


class Location(RequestHandler):
    """What a Panel page does first with its request: its location, then its arguments."""

    def get(self):
        where = _get_location_params(self.request.protocol, self.request.host, self.request.uri)
        args = {key: self.get_query_argument(key) for key in self.request.query_arguments}
        self.write({"search": where.get("search", ""), "args": args})


class Data(RequestHandler):
    def get(self):
        self.write({"ok": True})


@pytest.fixture(scope="module")
def url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started, running = threading.Event(), {}
    routes = [
        ("/curves", Page),
        ("/other", Page),
        ("/own", OwnPolicy),
        ("/data", Data),
        ("/part", Location),
    ]
    app = Application(routes, transforms=[QueryMarks, SecurityHeaders])

    async def serve() -> None:
        server = app.listen(port, "127.0.0.1")
        running["loop"], running["stop"] = asyncio.get_running_loop(), asyncio.Event()
        started.set()
        await running["stop"].wait()
        server.stop()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield f"http://127.0.0.1:{port}"
    running["loop"].call_soon_threadsafe(running["stop"].set)
    thread.join(10)


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers, response.read().decode()


def test_every_script_of_a_page_carries_the_answers_nonce(url):
    headers, body = get(url + "/curves")
    policy = headers["Content-Security-Policy"]
    (nonce,) = re.findall(r"'nonce-([\w-]+)'", policy)
    tags = re.findall(r"<script(?=[\s>])[^>]*>", body, flags=re.IGNORECASE)
    assert len(tags) == 3 and all(f'nonce="{nonce}"' in tag for tag in tags)
    assert "<scripts-not-a-tag>" in body and "<p>scripted</p>" in body
    assert int(headers["Content-Length"]) == len(body.encode())
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_each_answer_has_a_nonce_of_its_own(url):
    first, second = (get(url + "/curves")[0]["Content-Security-Policy"] for _ in range(2))
    assert first != second


def test_html_that_is_not_a_page_runs_no_inline_script(url):
    headers, body = get(url + "/other")
    assert "'nonce-" in headers["Content-Security-Policy"]
    assert body == PAGE  # no script got the nonce


def test_an_answer_with_its_own_policy_keeps_it(url):
    headers, body = get(url + "/own")
    assert headers.get_all("Content-Security-Policy") == ["default-src 'none'"]
    assert headers["X-Frame-Options"] == "DENY" and body == "<p>sign in</p>"


def test_other_answers_carry_the_policy_too(url):
    headers, _ = get(url + "/data")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_policy_allows_only_this_server_and_no_inline_script():
    directives = dict(d.split(" ", 1) for d in content_security_policy("N").split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self' 'nonce-N' 'unsafe-eval'"
    assert "'unsafe-inline'" not in directives["script-src"]
    for name in ("img-src", "font-src", "connect-src", "worker-src", "style-src"):
        assert all(s in ("'self'", "data:", "'unsafe-inline'") for s in directives[name].split())
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'self'" and directives["form-action"] == "'self'"


def test_an_unencoded_url_in_a_query_opens_the_page_with_the_same_values(url):
    """A shared link whose ``back=`` holds another page's URL as typed: Panel's location
    sync split it at both ``?`` and the page answered 500."""
    _, body = get(url + "/part?project=demo&serial=A-1&back=/curves?process=press-fit&x=1")
    answer = json.loads(body)
    assert answer["args"] == {
        "project": "demo",
        "serial": "A-1",
        "back": "/curves?process=press-fit",
        "x": "1",
    }
    assert answer["search"] == "?project=demo&serial=A-1&back=/curves%3Fprocess=press-fit&x=1"
    _, plain = get(url + "/part?project=demo&back=/curves")
    assert json.loads(plain)["search"] == "?project=demo&back=/curves"
