"""Where the browser goes after signing in: a path on this server, whatever ``next`` says."""

from __future__ import annotations

from urllib.parse import unquote, urljoin, urlsplit

import pytest

from app.auth.login import safe_next

# As Tornado hands them over: the query string decoded once.
HOSTILE = [
    "/\\evil.example/phish",  # the probe's /%5Cevil.example/phish; browsers read \ as /
    "\\/evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "//evil.example",
    "///evil.example",
    "//evil.example:443/",
    "/%5Cevil.example",  # sent encoded twice: one more decoding gives a backslash
    "/%5cevil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nLocation: https://evil.example",
    "/%0d%0aSet-Cookie:x=1",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\u3002/evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    " /team",
    "/team\x7f",
    "",
    None,
    "/" + "a" * 3000,
]

LOCAL = [
    ("/", "/"),
    ("/team", "/team"),
    ("/curves?station=St%201&result=NOK", "/curves?station=St%201&result=NOK"),
    ("/curves#top", "/curves"),
    ("/curves?next=//evil.example", "/curves?next=//evil.example"),  # a query value, not a host
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_next_values_go_home(hostile):
    assert safe_next(hostile) == "/"


@pytest.mark.parametrize(("given", "kept"), LOCAL)
def test_local_paths_are_kept(given, kept):
    assert safe_next(given) == kept


@pytest.mark.parametrize("value", HOSTILE + [given for given, _ in LOCAL])
def test_wherever_it_leads_the_browser_stays_on_this_server(value):
    """The way a browser resolves the answer, with ``\\`` read as ``/`` as WHATWG URLs do."""
    for read in (safe_next(value), unquote(safe_next(value))):
        landed = urlsplit(urljoin("http://ch.plant.example/login", read.replace("\\", "/")))
        assert landed.netloc == "ch.plant.example" and landed.scheme == "http"
