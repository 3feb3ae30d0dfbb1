"""A small client for the ClickHouse Cloud OpenAPI's service endpoints (the shapes and their
sources are in :mod:`providers.clusters.cloud`), with errors a user can act on.

The key secret lives only in the Authorization header this client sends; ``repr``, log lines
and error messages name the key id, never the secret.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from providers.errors import ProviderError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.clickhouse.cloud/v1"
_UNKNOWN_SERVICE = re.compile(r"invalid service id", re.IGNORECASE)


class CloudApiError(ProviderError):
    """ClickHouse Cloud answered with an error, or could not be asked at all."""

    def __init__(self, message: str, *, status: int | None = None, request_id: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class CloudCredentialsError(CloudApiError):
    """The API key was rejected, or the organisation is not the key's."""


class CloudNotFoundError(CloudApiError):
    """The service (or organisation) asked for does not exist."""


class CloudRequestError(CloudApiError):
    """The API refused the request as invalid (HTTP 4xx); its own words are in the message."""


class CloudUnreachableError(CloudApiError):
    """No answer from the API: network, DNS, TLS or timeout."""


class CloudApi:
    """A small client for the service endpoints of the ClickHouse Cloud OpenAPI."""

    def __init__(
        self,
        organization_id: str,
        key_id: str,
        key_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
    ) -> None:
        for label, value in (
            ("organization id", organization_id),
            ("API key id", key_id),
            ("API key secret", key_secret),
        ):
            if not value:
                raise ProviderError(
                    f"ClickHouse Cloud needs an {label}; create an API key in the Cloud console "
                    "(Organization > API keys) and enter its id, secret and organization id."
                )
        parts = urlsplit(base_url)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            # Basic auth over plain HTTP would send the key secret in the clear.
            raise ProviderError(
                f"{base_url!r} is not an https URL; the ClickHouse Cloud API is "
                f"{DEFAULT_BASE_URL} (plain http is accepted only for a local stand-in)."
            )
        self.base_url = base_url.rstrip("/")
        self.organization_id = organization_id
        self.key_id = key_id
        self.timeout = timeout
        token = base64.b64encode(f"{key_id}:{key_secret}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"

    def __repr__(self) -> str:
        return (
            f"CloudApi(base_url={self.base_url!r}, organization_id={self.organization_id!r}, "
            f"key_id={self.key_id!r})"
        )

    # Endpoints -------------------------------------------------------------------------

    def get_organization(self) -> dict[str, Any]:
        try:
            return self._call("GET", "", "reading the organization")
        except CloudNotFoundError:
            raise self._unknown_organization() from None

    def list_services(self) -> list[dict[str, Any]]:
        try:
            return self._call("GET", "/services", "listing services") or []
        except CloudNotFoundError:
            raise self._unknown_organization() from None

    def get_service(self, service_id: str) -> dict[str, Any]:
        return self._call("GET", self._service(service_id), f"reading service {service_id}")

    def create_service(self, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """POST a new service; returns it and the password the API shows only this once."""
        result = self._call("POST", "/services", f"creating service {body.get('name')!r}", body)
        return result["service"], result["password"]

    def update_service(self, service_id: str, body: dict[str, Any]) -> dict[str, Any]:
        path, action = self._service(service_id), f"updating service {service_id}"
        return self._call("PATCH", path, action, body)

    def change_state(self, service_id: str, command: str) -> dict[str, Any]:
        path, action = self._service(service_id, "/state"), f"{command} service {service_id}"
        return self._call("PATCH", path, action, {"command": command})

    def replica_scaling(self, service_id: str, body: dict[str, Any]) -> dict[str, Any]:
        path, action = self._service(service_id, "/replicaScaling"), f"resizing {service_id}"
        return self._call("PATCH", path, action, body)

    def reset_password(self, service_id: str) -> str:
        """A new generated password for the ``default`` user (the old one stops working)."""
        path, action = self._service(service_id, "/password"), f"a password for {service_id}"
        return self._call("PATCH", path, action, {})["password"]

    def delete_service(self, service_id: str) -> None:
        self._call("DELETE", self._service(service_id), f"deleting service {service_id}")

    # HTTP ------------------------------------------------------------------------------

    def _service(self, service_id: str, tail: str = "") -> str:
        return f"/services/{quote(service_id, safe='')}{tail}"

    def _call(self, method: str, path: str, action: str, body: Any = None) -> Any:
        url = f"{self.base_url}/organizations/{quote(self.organization_id, safe='')}{path}"
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            try:
                status, raw = exc.code, exc.read()
            finally:
                exc.close()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise CloudUnreachableError(
                f"Cannot reach the ClickHouse Cloud API at {self.base_url} ({action}): {reason}. "
                "Check the network, proxy and firewall of this server, and the API URL."
            ) from exc
        log.debug("ClickHouse Cloud %s %s -> %s", method, url, status)
        payload = _parse(raw)
        if 200 <= status < 300:
            return payload.get("result") if isinstance(payload, dict) else None
        raise self._error(status, payload, raw, action)

    def _error(self, status: int, payload: Any, raw: bytes, action: str) -> CloudApiError:
        said, request_id = _said(payload, raw)
        kind: type[CloudApiError] = CloudApiError
        if status in (401, 403):
            kind = CloudCredentialsError
            message = (
                f"ClickHouse Cloud rejected the API key {self.key_id!r} (HTTP {status}: "
                f"{said}) while {action}. Check the key id and secret, that the key is enabled "
                "and not expired, and that its role may manage services in organization "
                f"{self.organization_id}."
            )
        elif status == 404 or (status == 400 and _UNKNOWN_SERVICE.search(said)):
            kind = CloudNotFoundError
            message = f"ClickHouse Cloud found nothing for {action}: {said}"
        elif status == 429:
            message = (
                f"ClickHouse Cloud is rate-limiting this API key ({said}) while {action}; it "
                "allows 10 requests per 10 seconds per key. Try again shortly."
            )
        elif 400 <= status < 500:
            kind = CloudRequestError
            message = f"ClickHouse Cloud refused {action}: {said}"
        else:
            message = (
                f"ClickHouse Cloud failed on {action} (HTTP {status}: {said}). The fault is on "
                "the Cloud side; try again, and give ClickHouse support the request id if it "
                "persists."
            )
        if request_id:
            message += f" (request id {request_id})"
        return kind(message, status=status, request_id=request_id)

    def _unknown_organization(self) -> CloudCredentialsError:
        return CloudCredentialsError(
            f"ClickHouse Cloud knows no organization {self.organization_id} for the API key "
            f"{self.key_id!r}; copy the organization id from the Cloud console (Organization "
            "details) and check that the key was created in that organization.",
            status=404,
        )


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _said(payload: Any, raw: bytes) -> tuple[str, str]:
    """The API's own error text and request id, from either published error shape."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):  # {"error": {"code", "message"}}, as clickhousectl reads it
            error = error.get("message") or error.get("code")
        if error:
            return str(error), str(payload.get("requestId") or "")
    text = raw.decode("utf-8", "replace").strip()[:200]
    return (text or "no details"), ""
