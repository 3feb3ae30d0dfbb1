"""STAND-IN for the ClickHouse Cloud API. It is not ClickHouse Cloud.

The real API cannot be reached from here, so :mod:`providers.clusters.cloud` is tested against this
local HTTP server. It follows the published request and response shapes of the service
endpoints (OpenAPI spec "OpenAPI spec for ClickHouse Cloud", as vendored in
github.com/ClickHouse/clickhousectl at d966006c, ``crates/clickhouse-cloud-api/
clickhouse_cloud_openapi.json``): the ``{"status", "requestId", "result"}`` envelope, errors as
``{"status", "error", "requestId"}``, Basic auth with key id and secret, and the published field
names, enums and numeric ranges.

What it is not:

- There is no ClickHouse behind it. Endpoint hosts end in ``.standin.invalid`` and do not resolve.
- States move only when a test calls :meth:`CloudStandIn.advance` (or :meth:`set_state`),
  never because time passed.
- Where the spec is silent the stand-in chooses, and says so here:

  - ``name``, ``provider`` and ``region`` are required (every published example sends them);
  - fields outside the published request schemas are refused, so a client typo fails loudly;
  - endpoints appear once a service first runs, so clients must cope with a service that has
    none yet;
  - a command that cannot apply is a 400 (start while stopping, stop while being deleted,
    awake unless idle); stopping a provisioning service is allowed;
  - an unknown organisation or service is a 404 (the real API has also been seen to answer
    400 "Invalid service id"; :meth:`CloudStandIn.fail_next` can play that, a 429 or a 500).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BANNER = (
    "Stand-in for the ClickHouse Cloud API: not ClickHouse Cloud; follows the published "
    "request/response shapes so the client can be tested offline"
)

# fmt: off
# The published region enum, each under the cloud it belongs to.
REGIONS = {
    "aws": {"ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
            "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "il-central-1",
            "us-east-1", "us-east-2", "us-west-2"},
    "gcp": {"us-east1", "us-central1", "europe-west2", "europe-west4", "asia-southeast1",
            "asia-northeast1"},
    "azure": {"eastus", "eastus2", "westus3", "germanywestcentral", "centralus"},
}
# Property names of the published ServicePostRequest, ServicePatchRequest and
# ServiceReplicaScalingPatchRequest; anything else is refused.
CREATE_FIELDS = {
    "name", "provider", "region", "tier", "ipAccessList", "minTotalMemoryGb", "maxTotalMemoryGb",
    "autoscalingMode", "minReplicaMemoryGb", "maxReplicaMemoryGb", "numReplicas", "minReplicas",
    "maxReplicas", "idleScaling", "idleTimeoutMinutes", "isReadonly", "dataWarehouseId",
    "backupId", "encryptionKey", "encryptionAssumedRoleIdentifier", "privateEndpointIds",
    "privatePreviewTermsChecked", "releaseChannel", "byocId", "hasTransparentDataEncryption",
    "endpoints", "profile", "complianceType", "tags", "enableCoreDumps",
}
PATCH_FIELDS = {
    "name", "ipAccessList", "privateEndpointIds", "releaseChannel", "endpoints",
    "transparentDataEncryptionKeyId", "tags", "enableCoreDumps",
}
SCALING_FIELDS = {
    "minReplicaMemoryGb", "maxReplicaMemoryGb", "autoscalingMode", "numReplicas", "minReplicas",
    "maxReplicas", "idleScaling", "idleTimeoutMinutes",
}
# fmt: on
# What advance() does: the next state of a state that is on its way somewhere.
NEXT_STATE = {
    "provisioning": "running",
    "starting": "running",
    "awaking": "running",
    "stopping": "stopped",
    "terminating": None,  # gone: the service disappears
}
_TAG = re.compile(r"^[a-zA-Z0-9._-]+$")
_ROUTE = re.compile(
    r"^/v1/organizations/(?P<org>[^/]+)"
    r"(?:/services(?:/(?P<service>[^/]+)(?P<tail>/state|/replicaScaling|/password)?)?)?$"
)


class Refused(Exception):
    """A request the stand-in answers with an error body."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it; ``key_id`` is the Basic-auth user, never the secret."""

    method: str
    path: str
    body: Any
    key_id: str | None


class CloudStandIn:
    """In-memory services behind the published endpoints, on 127.0.0.1, in a thread."""

    banner = BANNER

    def __init__(
        self,
        *,
        organization_id: str | None = None,
        key_id: str = "standin-key-id",
        key_secret: str | None = None,
    ) -> None:
        self.organization_id = organization_id or str(uuid.uuid4())
        self.key_id = key_id
        self.key_secret = key_secret or secrets.token_urlsafe(24)
        self.services: dict[str, dict[str, Any]] = {}
        self.passwords: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self._failures: list[tuple[str, str, int, str]] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Life of the server -------------------------------------------------------------------

    def start(self) -> CloudStandIn:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="cloud-standin", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> CloudStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # What tests steer and inspect ----------------------------------------------------------

    def advance(self, service_id: str) -> str | None:
        """Move a service to its next state (provisioning/starting/awaking -> running,
        stopping -> stopped, terminating -> gone); returns the new state, None when gone."""
        with self._changed:
            service = self.services[service_id]
            state = service["state"]
            if state not in NEXT_STATE:
                raise ValueError(f"service {service_id} is {state!r}; nothing to advance")
            following = NEXT_STATE[state]
            if following is None:
                del self.services[service_id]
            else:
                self._set(service, following)
            self._changed.notify_all()
            return following

    def set_state(self, service_id: str, state: str) -> None:
        """Put a service into any state, e.g. ``idle`` or one the client does not know."""
        with self._changed:
            self._set(self.services[service_id], state)
            self._changed.notify_all()

    def fail_next(self, method: str, suffix: str, status: int, error: str) -> None:
        """Answer the next ``method`` request whose path ends with ``suffix`` with an error in
        the published shape (a 500, a 429, or a 400 such as "Invalid service id")."""
        with self._changed:
            self._failures.append((method, suffix, status, error))

    def requests_to(self, method: str, suffix: str = "") -> list[RecordedRequest]:
        """Recorded requests with this method whose path ends with ``suffix``."""
        with self._changed:
            return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # The API ---------------------------------------------------------------------------------

    def answer(self, method: str, path: str, authorization: str, raw: bytes) -> tuple[int, Any]:
        """Status and JSON body for one request (thread-safe)."""
        request_id = str(uuid.uuid4())
        with self._changed:
            key_id, authorized = self._authorize(authorization)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            self.requests.append(RecordedRequest(method, path, body, key_id))
            try:
                if not authorized:
                    raise Refused(401, "Unauthorized")
                for failure in self._failures:
                    if failure[0] == method and path.endswith(failure[1]):
                        self._failures.remove(failure)
                        raise Refused(failure[2], failure[3])
                result = self._route(method, path, body)
            except Refused as refused:
                error = {"status": refused.status, "error": refused.error, "requestId": request_id}
                return refused.status, error
            self._changed.notify_all()
            return 200, {"status": 200, "requestId": request_id, **result}

    def _authorize(self, authorization: str) -> tuple[str | None, bool]:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None, False
        try:
            user, _, secret = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, False
        ok = hmac.compare_digest(user.encode(), self.key_id.encode()) and hmac.compare_digest(
            secret.encode(), self.key_secret.encode()
        )
        return user, ok

    def _route(self, method: str, path: str, body: Any) -> dict[str, Any]:
        match = _ROUTE.match(path)
        if match is None:
            raise Refused(404, f"NOT_FOUND: no route {method} {path}")
        if match["org"] != self.organization_id:
            raise Refused(404, "NOT_FOUND: organization")
        service_id, tail = match["service"], match["tail"]
        if "/services" not in path:
            if method != "GET":
                raise Refused(405, "Method not allowed")
            return {"result": {"id": self.organization_id, "name": "Stand-in organization"}}
        if service_id is None:
            if method == "GET":
                return {"result": [dict(s) for s in self.services.values()]}
            if method == "POST":
                return {"result": self._create(_object(body))}
            raise Refused(405, "Method not allowed")
        service = self.services.get(service_id)
        if service is None:
            raise Refused(404, f"NOT_FOUND: service {service_id}")
        if tail is None and method == "GET":
            return {"result": dict(service)}
        if tail is None and method == "PATCH":
            return {"result": self._patch(service, _object(body))}
        if tail is None and method == "DELETE":
            if service["state"] != "stopped":
                raise Refused(400, f"Service must be stopped to be deleted: {service['state']}")
            self._set(service, "terminating")
            return {}
        if tail == "/state" and method == "PATCH":
            return {"result": self._command(service, _object(body))}
        if tail == "/replicaScaling" and method == "PATCH":
            return {"result": self._scale(service, _object(body))}
        if tail == "/password" and method == "PATCH":
            password = secrets.token_urlsafe(12)
            self.passwords[service_id] = password
            return {"result": {"password": password}}
        raise Refused(405, "Method not allowed")

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        _known(body, CREATE_FIELDS)
        for field in ("name", "provider", "region"):
            if field not in body:
                raise Refused(400, f"{field} is required")
        name = body["name"]
        if not isinstance(name, str) or not 1 <= len(name) <= 50:
            raise Refused(400, "name must be a string of 1 to 50 characters")
        if body["provider"] not in REGIONS:
            raise Refused(400, f"provider must be one of {sorted(REGIONS)}")
        if body["region"] not in REGIONS[body["provider"]]:
            raise Refused(400, f"region {body['region']!r} is not a {body['provider']} region")
        _sizes(body)
        for entry in body.get("ipAccessList", []):
            try:
                ipaddress.ip_network(entry["source"], strict=False)
            except (KeyError, TypeError, ValueError):
                raise Refused(400, f"ipAccessList source {entry!r} is not an IP or CIDR") from None
        service_id = str(uuid.uuid4())
        service = {
            "id": service_id,
            "name": name,
            "provider": body["provider"],
            "region": body["region"],
            "state": "provisioning",
            "clickhouseVersion": "stand-in",
            "endpoints": [],
            "minReplicaMemoryGb": body.get("minReplicaMemoryGb", 8),
            "maxReplicaMemoryGb": body.get("maxReplicaMemoryGb", 120),
            "numReplicas": body.get("numReplicas", 3),
            "idleScaling": body.get("idleScaling", True),
            "idleTimeoutMinutes": body.get("idleTimeoutMinutes", 15),
            "ipAccessList": body.get("ipAccessList", []),
            "tags": [],
        }
        self.services[service_id] = service
        password = secrets.token_urlsafe(12)
        self.passwords[service_id] = password
        return {"service": dict(service), "password": password}

    def _patch(self, service: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Name and tags change; the other published fields are accepted and ignored."""
        _known(body, PATCH_FIELDS)
        if "name" in body:
            if not isinstance(body["name"], str) or not 1 <= len(body["name"]) <= 50:
                raise Refused(400, "name must be a string of 1 to 50 characters")
            service["name"] = body["name"]
        tags = body.get("tags")
        if tags is not None:
            patch = _object(tags)
            _known(patch, {"add", "remove"})
            for tag in patch.get("remove", []) + patch.get("add", []):
                if not isinstance(tag, dict) or not _TAG.match(str(tag.get("key", ""))):
                    raise Refused(400, f"tag {tag!r} needs a key of letters, digits, . _ -")
            removed = patch.get("remove", [])
            kept = [t for t in service["tags"] if t not in removed]
            service["tags"] = kept + [t for t in patch.get("add", []) if t not in kept]
        return dict(service)

    def _command(self, service: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        _known(body, {"command"})
        command, state = body.get("command"), service["state"]
        if command == "start":
            if state == "stopped":
                self._set(service, "starting")
            elif state not in ("running", "starting", "awaking", "idle"):
                raise Refused(400, f"Cannot start a service that is {state}")
        elif command == "stop":
            if state not in ("stopped", "stopping", "terminating", "softdeleting"):
                self._set(service, "stopping")
            elif state not in ("stopped", "stopping"):
                raise Refused(400, f"Cannot stop a service that is {state}")
        elif command == "awake":
            if state != "idle":
                raise Refused(400, f"Cannot awake a service that is {state}")
            self._set(service, "awaking")
        else:
            raise Refused(400, "command must be one of start, stop, awake")
        return dict(service)

    def _scale(self, service: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        _known(body, SCALING_FIELDS)
        _sizes({**service, **body})
        service.update(body)
        return dict(service)

    @staticmethod
    def _set(service: dict[str, Any], state: str) -> None:
        service["state"] = state
        if state == "running" and not service["endpoints"]:
            host = f"{service['id'][:8]}.{service['region']}.{service['provider']}.standin.invalid"
            service["endpoints"] = [
                {"protocol": "https", "host": host, "port": 8443},
                {"protocol": "nativesecure", "host": host, "port": 9440},
            ]


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Refused(400, "The request body must be a JSON object")
    return body


def _known(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Refused(400, f"Unknown fields: {', '.join(unknown)}")


def _number(body: dict[str, Any], field: str, low: float, high: float, step: int = 1) -> None:
    value = body.get(field)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(400, f"{field} must be a number")
    if not low <= value <= high or value % step:
        multiple = f", a multiple of {step}" if step > 1 else ""
        raise Refused(400, f"{field} must be between {low:g} and {high:g}{multiple}; got {value}")


def _sizes(body: dict[str, Any]) -> None:
    """The published ranges of ServicePostRequest and ServiceReplicaScalingPatchRequest."""
    _number(body, "minReplicaMemoryGb", 8, 356, 4)
    _number(body, "maxReplicaMemoryGb", 8, 356, 4)
    _number(body, "numReplicas", 1, 20)
    _number(body, "idleTimeoutMinutes", 5, 10**6)
    low, high = body.get("minReplicaMemoryGb"), body.get("maxReplicaMemoryGb")
    if low is not None and high is not None and low > high:
        raise Refused(400, "minReplicaMemoryGb must not exceed maxReplicaMemoryGb")
    if "idleScaling" in body and not isinstance(body["idleScaling"], bool):
        raise Refused(400, "idleScaling must be a boolean")


class _Handler(BaseHTTPRequestHandler):
    server_version = "CloudStandIn"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        standin: CloudStandIn = self.server.standin  # type: ignore[attr-defined]
        status, body = standin.answer(
            self.command, self.path, self.headers.get("Authorization", ""), raw
        )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Stand-In", "not ClickHouse Cloud")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet; requests are recorded
        pass
