"""Issue 13, item 8: server clusters are a way into the plant's network (SSRF).

Any project owner could register a server cluster at any URL; Curvehouse then called it and
stored the answer's body in the cluster's events. Now a server cluster's host must be on the
operator's allow-list, checked before any request; redirects are not followed; and a failure
is told in our words, never with what the far side sent.
"""

from __future__ import annotations

import pytest

from models.cluster_types import ClusterSpec
from models.host_patterns import HostPatternError, admitted, parse_host_patterns
from providers.clusters import Deployment, get_cluster_provider
from providers.errors import ProviderError
from providers.server_guard import HostNotAllowed
from tests.providers.hostile_server import SECRET, HostileServer

SPEC = Deployment("line-a", "self-managed", ClusterSpec("production", 3, 8, 32))


@pytest.fixture
def hostile(request):
    server = HostileServer(getattr(request, "param", "500"))
    yield server
    server.close()


@pytest.mark.parametrize(
    "allowed",
    [(), ("10.0.0.0/8",), ("127.0.0.1:1",), ("clickhouse.plant.local",), ("*.0.0.1",)],
)
def test_a_host_not_allowed_is_refused_before_any_request(hostile, allowed):
    with pytest.raises(HostNotAllowed) as refused:
        get_cluster_provider("server", url=hostile.url(), allowed_hosts=allowed)
    assert "CURVEHOUSE_SERVER_CLUSTER_HOSTS" in str(refused.value)
    assert hostile.requests == 0


def test_a_name_that_resolves_into_a_range_elsewhere_is_refused(hostile):
    """``localhost`` resolves to 127.0.0.1: an owner cannot reach it by naming it when only a
    plant range is allowed."""
    with pytest.raises(HostNotAllowed):
        get_cluster_provider(
            "server", url=f"http://a:b@localhost:{hostile.port}", allowed_hosts=("10.0.0.0/8",)
        )
    assert hostile.requests == 0


def test_the_default_allows_no_server_cluster(hostile):
    with pytest.raises(HostNotAllowed, match="not enabled on this installation"):
        get_cluster_provider("server", url=hostile.url())
    assert hostile.requests == 0


@pytest.mark.parametrize(
    ("hostile", "words"),
    [
        ("500", "answered with HTTP 500"),
        ("500-clickhouse", "answered with ClickHouse error 999 (HTTP 500)"),
        ("401", "authentication failed (HTTP 401)"),
        ("200-garbage", "not ClickHouse"),
    ],
    indirect=["hostile"],
)
def test_what_the_far_side_sends_never_comes_back(hostile, words):
    provider = get_cluster_provider(
        "server", url=hostile.url(), allowed_hosts=(f"127.0.0.1:{hostile.port}",)
    )
    with pytest.raises(ProviderError) as failed:
        provider.create("c1", SPEC)
    seen = provider.observe({"key": "c1", "database": "line_a"})
    assert hostile.requests > 0  # it was asked: the host is allowed
    for text in (str(failed.value), seen.detail, repr(seen.facts)):
        assert SECRET not in text and "<script>" not in text
    assert words in str(failed.value) and words in seen.detail
    assert seen.state == "degraded"
    assert "pw" not in str(failed.value)


def test_a_redirect_is_not_followed():
    inside = HostileServer("200-garbage")  # an internal service behind the allowed host
    outside = HostileServer(f"redirect:http://127.0.0.1:{inside.port}/?query=SELECT+1")
    try:
        provider = get_cluster_provider(
            "server", url=outside.url(), allowed_hosts=(f"127.0.0.1:{outside.port}",)
        )
        with pytest.raises(ProviderError, match=r"redirect \(HTTP 302\), which is not followed"):
            provider.create("c1", SPEC)
        assert outside.requests > 0 and inside.requests == 0
    finally:
        inside.close()
        outside.close()


def test_a_closed_port_is_said_in_our_words():
    provider = get_cluster_provider(
        "server", url="http://admin:pw@127.0.0.1:9", allowed_hosts=("127.0.0.1",)
    )
    seen = provider.observe({"key": "c1", "database": "x"})
    assert seen.state == "degraded"
    assert seen.detail == "could not reach 127.0.0.1:9: connection refused"


def test_patterns_are_checked_and_matched():
    assert parse_host_patterns(" ch.plant.local:8443, *.ch.plant.local,10.0.0.0/16 ,") == (
        "ch.plant.local:8443",
        "*.ch.plant.local",
        "10.0.0.0/16",
    )
    for bad in ("*", "http://x", "ch.plant.local:99999", "a b", "[::1"):
        with pytest.raises(HostPatternError):
            parse_host_patterns(bad)
    allow = ("ch.plant.local:8443", "*.ch.plant.local", "10.0.0.0/16", "[fd00::/8]:8123")
    assert admitted(allow, "ch.plant.local", 8443, [])
    assert admitted(allow, "CH.Plant.Local.", 8443, [])
    assert not admitted(allow, "ch.plant.local", 8123, ["192.168.1.9"])  # another port
    assert admitted(allow, "node1.ch.plant.local", 9000, [])
    assert not admitted(allow, "evilch.plant.local", 9000, ["127.0.0.1"])
    assert admitted(allow, "db.example", 8123, ["10.0.3.4", "10.0.9.9"])
    assert not admitted(allow, "db.example", 8123, ["10.0.3.4", "127.0.0.1"])  # every address
    assert admitted(allow, "fd00::5", 8123, ["fd00::5"])
    assert not admitted(allow, "fd00::5", 8124, ["fd00::5"])
    assert not admitted(allow, "10.0.0.1", 1, [])  # an address that did not resolve
