"""ClickHouse Cloud clusters: one Cloud service per cluster, driven through the Cloud OpenAPI.

Once a service runs, its data path is the server provider (HTTPS on port 8443); this module
only makes, watches, starts, stops, resizes and deletes the service. The client
(:mod:`providers.clusters.cloud_api`) is the standard library (``urllib.request`` and
``json``), because five endpoints do not justify a dependency.

**Shapes.** Base URL ``https://api.clickhouse.cloud/v1``, HTTP Basic auth with the API key id and
key secret. Every answer is an envelope ``{"status", "requestId", "result"}``; errors are
``{"status": 4xx|5xx, "error": "...", "requestId"}``. Sources:

- the published OpenAPI spec ("OpenAPI spec for ClickHouse Cloud", served from the base URL), as
  vendored by ClickHouse in github.com/ClickHouse/clickhousectl at commit d966006c,
  ``crates/clickhouse-cloud-api/clickhouse_cloud_openapi.json``: schemas ``ServicePostRequest``,
  ``ServicePostResponse``, ``Service``, ``ServiceEndpoint``, ``ServiceStatePatchRequest``,
  ``ServiceReplicaScalingPatchRequest``, ``ServicePasswordPatchResponse`` and the 400/500 bodies;
- the API reference pages at clickhouse.com/docs/products/cloud/api-reference/service/
  (create-new-service, update-service-state, update-service-auto-scaling-settings) and
  clickhouse.com/docs/cloud/manage/api/api-overview (the ``tier`` field is deprecated for current
  plans; 10 requests per 10 seconds per key);
- github.com/ClickHouse/terraform-provider-clickhouse ``pkg/internal/api/service.go``: delete
  stops the service, waits until it is stopped, then deletes it, and treats 404 as gone;
- github.com/ClickHouse/clickhousectl issue #666 / PR #672: the API can answer a well-formed id
  that names no service with HTTP 400 "Invalid service id ...", so that counts as gone too.

**Sizes.** Cloud sizes a service by memory per replica, and CPU follows memory (compute units
of 8 GiB and 2 vCPU, so 1 vCPU per 4 GiB); vCPU per node therefore has no knob here and a
replica gets the vCPU its memory buys. Memory per node becomes both ``minReplicaMemoryGb`` and
``maxReplicaMemoryGb`` (a fixed size, so the bill matches the cost estimate) and the node count
becomes ``numReplicas``. The published limits (memory a multiple of 4 in 8-356 GiB, 120 for
unpaid organisations; 1-20 replicas, at least 2 for an organisation's first service on some
tiers) depend on the organisation, so Curvehouse passes the values through and shows the API's
400 message.

**States.** Cloud's ``state`` maps onto :data:`providers.clusters.STATES`. provisioning,
running, starting, stopping, stopped, degraded and failed keep their word. ``idle`` is
``running``: idle scaling parked the service, nobody asked it to stop, and the next query wakes
it in seconds. ``awaking`` (waking from idle) is ``starting``; ``partially_running`` (some
replicas serve) is ``degraded``; terminating and softdeleting are ``deleting``; terminated,
softdeleted and a service the API no longer knows are ``deleted``. Any other word is
``degraded``, with the unknown state named in the detail.

**Password.** The API returns the ``default`` user's password once, in the answer to the create
call; it never shows it again. The handle keeps it. A retried ``create`` that finds the service
already made (the first answer was lost) asks the API for a new password.

**Deleting.** The API deletes only stopped services, and an action must not wait for minutes.
:meth:`CloudClusterProvider.delete` deletes a stopped service at once. Any other service gets the
tag ``curvehouse-delete=requested`` and a stop command, and ``delete`` returns; the request
lives in ClickHouse Cloud itself, so it survives a restart of Curvehouse. :meth:`observe` then
reports the service as it is (``stopping``) and, once the API reports a tagged service
``stopped``, sends the DELETE and reports ``deleting``. That DELETE is the one thing ``observe``
does besides reading, and it does it only for a service whose deletion was asked for.

**Secrets.** The key secret lives only in the Authorization header this client sends; ``repr``,
``describe``, log lines and error messages name the key id and never the secret or a password.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from typing import Any, ClassVar

from providers.clusters import (
    ClusterActionError,
    ClusterProvider,
    Connection,
    Deployment,
    Observation,
)
from providers.clusters.cloud_api import (
    DEFAULT_BASE_URL,
    CloudApi,
    CloudNotFoundError,
)
from providers.errors import ProviderError

log = logging.getLogger(__name__)

HTTPS_PORT = 8443
USERNAME = "default"
DATABASE = "default"

# The published region enum (ServicePostRequest.region), each under the cloud it belongs to.
# fmt: off
REGIONS: tuple[str, ...] = (
    "aws/us-east-1", "aws/us-east-2", "aws/us-west-2", "aws/ca-central-1", "aws/eu-central-1",
    "aws/eu-west-1", "aws/eu-west-2", "aws/il-central-1", "aws/ap-south-1", "aws/ap-southeast-1",
    "aws/ap-southeast-2", "aws/ap-northeast-1", "aws/ap-northeast-2",
    "gcp/us-east1", "gcp/us-central1", "gcp/europe-west2", "gcp/europe-west4",
    "gcp/asia-southeast1", "gcp/asia-northeast1",
    "azure/eastus", "azure/eastus2", "azure/westus3", "azure/centralus", "azure/germanywestcentral",
)
# fmt: on

_STATES: dict[str, str] = {
    "provisioning": "provisioning",
    "running": "running",
    "idle": "running",
    "starting": "starting",
    "awaking": "starting",
    "stopping": "stopping",
    "stopped": "stopped",
    "partially_running": "degraded",
    "degraded": "degraded",
    "failed": "failed",
    "terminating": "deleting",
    "softdeleting": "deleting",
    "terminated": "deleted",
    "softdeleted": "deleted",
}
_GONE = {"terminating", "softdeleting", "terminated", "softdeleted"}
# Marks a service whose deletion Curvehouse asked for, until the API lets it delete it.
DELETE_TAG = {"key": "curvehouse-delete", "value": "requested"}


def service_name(key: str) -> str:
    """The Cloud service name for a cluster key: ``curvehouse <key>``.

    Service names are published as letters, digits and spaces, at most 50 characters. A key
    with other characters, or a long one, keeps a readable prefix plus a hash of the whole key,
    so two keys never share a name and the same key always finds its service again.
    """
    if re.fullmatch(r"[A-Za-z0-9]{1,39}", key):
        return f"curvehouse {key}"
    readable = " ".join(re.findall(r"[A-Za-z0-9]+", key))[:28].strip()
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"curvehouse {readable} {digest}".replace("  ", " ")


class CloudClusterProvider(ClusterProvider):
    """Clusters as ClickHouse Cloud services in one organisation, reached with one API key."""

    provider_type: ClassVar[str] = "cloud"
    label: ClassVar[str] = "ClickHouse Cloud"
    regions: ClassVar[tuple[str, ...]] = REGIONS

    def __init__(
        self,
        organization_id: str,
        key_id: str,
        key_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        *,
        idle_timeout_minutes: int | None = 15,
    ) -> None:
        self.api = CloudApi(organization_id, key_id, key_secret, base_url, timeout)
        self.idle_timeout_minutes = idle_timeout_minutes  # sent when idle scaling is on

    def __repr__(self) -> str:
        return f"CloudClusterProvider({self.api!r})"

    def describe(self) -> dict[str, Any]:
        """Where the clusters live, safe to print: no secret, no password."""
        return {
            "provider": self.provider_type,
            "engine": self.label,
            "api": self.api.base_url,
            "organization_id": self.api.organization_id,
            "key_id": self.api.key_id,
        }

    # Actions -------------------------------------------------------------------------

    def create(self, key: str, spec: Deployment) -> dict[str, Any]:
        """Create the service for ``key``, or adopt it if an earlier attempt made it already."""
        cloud, region = self._split(spec.region)
        name = service_name(key)
        existing = self._find(name)
        if existing is not None:
            # The first answer (and its one-time password) was lost: issue a new password.
            password = self.api.reset_password(existing["id"])
            return self._handle(key, existing, password)
        body: dict[str, Any] = {
            "name": name,
            "provider": cloud,
            "region": region,
            "minReplicaMemoryGb": spec.size.memory_gib_per_node,
            "maxReplicaMemoryGb": spec.size.memory_gib_per_node,
            "numReplicas": spec.size.nodes,
            **self._idle(spec),
            "ipAccessList": [
                {"source": source, "description": "Curvehouse"} for source in spec.ip_access
            ],
        }
        service, password = self.api.create_service(body)
        return self._handle(key, service, password)

    def start(self, handle: dict[str, Any]) -> dict[str, Any]:
        self.api.change_state(handle["service_id"], "start")
        return handle

    def stop(self, handle: dict[str, Any]) -> dict[str, Any]:
        self.api.change_state(handle["service_id"], "stop")
        return handle

    def resize(self, handle: dict[str, Any], spec: Deployment) -> dict[str, Any]:
        """Memory per replica, replica count and idle scaling; the region cannot change.

        ``numReplicas`` is sent only when it changes, because organisations without replica
        scaling enabled get a 400 for it even when the value is the same.
        """
        cloud, region = self._split(spec.region)
        service = self._existing(handle)
        if (service.get("provider"), service.get("region")) != (cloud, region):
            raise ClusterActionError(
                f"A ClickHouse Cloud service cannot move from "
                f"{service.get('provider')}/{service.get('region')} to {spec.region}; create a "
                f"new cluster in {spec.region} and copy the data instead."
            )
        body: dict[str, Any] = {
            "minReplicaMemoryGb": spec.size.memory_gib_per_node,
            "maxReplicaMemoryGb": spec.size.memory_gib_per_node,
        }
        if service.get("numReplicas") != spec.size.nodes:
            body["numReplicas"] = spec.size.nodes
        body.update(self._idle(spec))
        self.api.replica_scaling(handle["service_id"], body)
        return handle

    def delete(self, handle: dict[str, Any]) -> None:
        """Delete a stopped service now; ask any other to stop, marked for deletion.

        A handle with only a ``key`` (a create that failed before it returned) finds its
        service by name.
        """
        service = self._locate(handle)
        if service is None or service.get("state") in _GONE:
            return
        service_id = service["id"]
        try:
            if service.get("state") == "stopped":
                self.api.delete_service(service_id)
                return
            if not _marked(service):
                self.api.update_service(service_id, {"tags": {"add": [DELETE_TAG]}})
            if service.get("state") != "stopping":
                try:
                    self.api.change_state(service_id, "stop")
                except CloudNotFoundError:
                    return
                except ProviderError:
                    # A refused stop must not leave a deletion pending for later.
                    with contextlib.suppress(ProviderError):
                        self.api.update_service(service_id, {"tags": {"remove": [DELETE_TAG]}})
                    raise
        except CloudNotFoundError:
            return

    # Observation ---------------------------------------------------------------------

    def observe(self, handle: dict[str, Any]) -> Observation:
        service = self._locate(handle)
        if service is None:
            gone = handle.get("service_id") or handle.get("name") or handle.get("key")
            return Observation("deleted", f"ClickHouse Cloud has no service {gone} any more.")
        cloud_state = str(service.get("state"))
        facts = _facts(service)
        if _marked(service) and cloud_state == "stopped":
            try:
                self.api.delete_service(service["id"])
            except CloudNotFoundError:
                return Observation("deleted", f"Service {service.get('name')!r} is gone.", facts)
            return Observation(
                "deleting",
                f"Service {service.get('name')!r} has stopped; Curvehouse asked ClickHouse Cloud "
                "to delete it, as requested.",
                facts,
            )
        state = _STATES.get(cloud_state)
        if state is None:
            return Observation(
                "degraded",
                f"ClickHouse Cloud reports the state {cloud_state!r}, which Curvehouse does "
                "not know; look at the service in the ClickHouse Cloud console.",
                facts,
            )
        detail = _detail(cloud_state, service)
        if _marked(service) and state not in ("deleting", "deleted"):
            detail += (
                " Its deletion was asked for: ClickHouse Cloud deletes only stopped services, so "
                "Curvehouse deletes it once it has stopped."
            )
        return Observation(state, detail, facts)

    def connection(self, handle: dict[str, Any]) -> Connection:
        service = self._existing(handle)
        endpoint = _https_endpoint(service)
        if endpoint is None:
            raise ProviderError(
                f"ClickHouse Cloud has not published an HTTPS endpoint for service "
                f"{service.get('name')!r} yet (state {service.get('state')!r}); connect once it "
                "is running."
            )
        return Connection(
            host=endpoint["host"],
            port=int(endpoint.get("port") or HTTPS_PORT),
            username=endpoint.get("username") or USERNAME,
            password=handle["password"],
            database=DATABASE,
            secure=True,
        )

    # Helpers -------------------------------------------------------------------------

    def _split(self, region: str) -> tuple[str, str]:
        self.check_region(region)
        cloud, _, name = region.partition("/")
        return cloud, name

    def _idle(self, spec: Deployment) -> dict[str, Any]:
        idle: dict[str, Any] = {"idleScaling": spec.idle_scaling}
        if spec.idle_scaling and self.idle_timeout_minutes is not None:
            idle["idleTimeoutMinutes"] = self.idle_timeout_minutes
        return idle

    def _find(self, name: str) -> dict[str, Any] | None:
        matches = [
            s
            for s in self.api.list_services()
            if s.get("name") == name and s.get("state") not in _GONE and not _marked(s)
        ]
        if len(matches) > 1:
            ids = ", ".join(str(s.get("id")) for s in matches)
            raise ProviderError(
                f"ClickHouse Cloud has {len(matches)} services named {name!r} ({ids}); "
                "Curvehouse cannot tell which is this cluster. Delete the extra ones in the "
                "ClickHouse Cloud console and retry."
            )
        return matches[0] if matches else None

    @staticmethod
    def _handle(key: str, service: dict[str, Any], password: str) -> dict[str, Any]:
        return {
            "key": key,
            "service_id": service["id"],
            "name": service.get("name"),
            "region": f"{service.get('provider')}/{service.get('region')}",
            "password": password,
        }

    def _service_or_none(self, service_id: str) -> dict[str, Any] | None:
        """The service, or None when it is gone (a wrong organisation raises instead)."""
        try:
            return self.api.get_service(service_id)
        except CloudNotFoundError:
            # A 404 for a wrong organisation id must not read as "every cluster was deleted".
            self.api.get_organization()
            return None

    def _locate(self, handle: dict[str, Any]) -> dict[str, Any] | None:
        if handle.get("service_id"):
            return self._service_or_none(handle["service_id"])
        name = service_name(handle["key"])
        return next((s for s in self.api.list_services() if s.get("name") == name), None)

    def _existing(self, handle: dict[str, Any]) -> dict[str, Any]:
        service = self._service_or_none(handle["service_id"])
        if service is None or service.get("state") in _GONE:
            raise ProviderError(
                f"ClickHouse Cloud service {handle.get('name')!r} ({handle['service_id']}) is "
                "deleted or being deleted."
            )
        return service


def _marked(service: dict[str, Any]) -> bool:
    return any(
        tag.get("key") == DELETE_TAG["key"] and tag.get("value") == DELETE_TAG["value"]
        for tag in service.get("tags") or []
    )


def _https_endpoint(service: dict[str, Any]) -> dict[str, Any] | None:
    for endpoint in service.get("endpoints") or []:
        if endpoint.get("protocol") == "https" and endpoint.get("host"):
            return endpoint
    return None


def _facts(service: dict[str, Any]) -> dict[str, Any]:
    return {
        "cloud_state": service.get("state"),
        "service_id": service.get("id"),
        "provider": service.get("provider"),
        "region": service.get("region"),
        "clickhouse_version": service.get("clickhouseVersion"),
        "replicas": service.get("numReplicas"),
        "memory_gib_per_replica": [
            service.get("minReplicaMemoryGb"),
            service.get("maxReplicaMemoryGb"),
        ],
        "idle_scaling": service.get("idleScaling"),
        "deletion_requested": _marked(service),
        "endpoints": [
            {"protocol": e.get("protocol"), "host": e.get("host"), "port": e.get("port")}
            for e in service.get("endpoints") or []
        ],
    }


def _detail(cloud_state: str, service: dict[str, Any]) -> str:
    name = service.get("name")
    if cloud_state == "idle":
        return (
            f"Service {name!r} is idle: idle scaling parked it, and the next query wakes it "
            "within seconds."
        )
    if cloud_state == "awaking":
        return f"Service {name!r} is waking from idle."
    if cloud_state == "partially_running":
        return f"Service {name!r} is partially running: some replicas do not serve yet."
    return f"ClickHouse Cloud reports service {name!r} as {cloud_state}."
