"""Issue 13, item 8, over the API: a server cluster on a host the installation does not allow
is refused (403) before any request reaches it; on an allowed host, a hostile answer never comes
back in the API's words."""

import pytest

from tests.providers.hostile_server import SECRET, HostileServer

pytestmark = pytest.mark.integration

BODY = {
    "type": "development",
    "provider": "server",
    "region": "self-managed",
    "nodes": 1,
    "vcpu_per_node": 4,
    "memory_gib_per_node": 16,
}


def test_a_host_outside_the_allow_list_is_refused_before_any_request(world):
    hostile = HostileServer("200-garbage", host="127.0.0.2")  # the world allows 127.0.0.1
    try:
        answer = world.call(
            "POST",
            f"/api/projects/{world.project_a}/clusters",
            "admin",
            json={**BODY, "name": "ssrf-probe", "provider_options": {"url": hostile.url()}},
        )
        assert answer.status_code == 403, answer.text
        assert "CURVEHOUSE_SERVER_CLUSTER_HOSTS" in answer.json()["error"]["message"]
        assert hostile.requests == 0
    finally:
        hostile.close()


def test_a_hostile_answer_is_not_echoed(world):
    hostile = HostileServer("500")
    try:
        made = world.call(
            "POST",
            f"/api/projects/{world.project_a}/clusters",
            "admin",
            json={**BODY, "name": "ssrf-hostile", "provider_options": {"url": hostile.url()}},
        )
        assert made.status_code == 201, made.text
        cluster = made.json()["id"]
        assert made.json()["status"] == "failed" and hostile.requests > 0
        for path in (f"/api/clusters/{cluster}", f"/api/clusters/{cluster}/connection"):
            assert SECRET not in world.call("GET", path, "admin").text
        retried = world.call("POST", f"/api/clusters/{cluster}/retry", "admin")
        assert SECRET not in retried.text
        assert world.call("DELETE", f"/api/clusters/{cluster}", "admin").status_code in (200, 202)
    finally:
        hostile.close()
