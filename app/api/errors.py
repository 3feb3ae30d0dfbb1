"""Every refusal the API gives, as one JSON shape: ``{"error": {"status", "code", "message"}}``.

Domain errors keep their own classes and messages (written for plant engineers) and know nothing
of HTTP; this module alone decides which status each class becomes (:data:`STATUS_OF`) and which
``code`` each status has (:data:`CODES`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import ValidationError

from app.clusters.lifecycle import ClusterRequestError
from app.homes.moves import MoveRequestError
from models.access import AccessError, NotFound
from models.accounts import AccountError, NameTaken
from models.cluster_types import ClusterSpecError, UnknownClusterTypeError
from models.members import MemberConflict, NoSuchMember
from models.names import BadName
from models.placement import PlacementError
from models.pricing import CostInputError
from models.residency import ResidencyError
from pipelines.density import DensityInputError
from pipelines.homes import ProjectMoving
from pipelines.ingest import IngestError
from pipelines.live.feeds import FeedCheckError
from pipelines.projects import LabelInUse
from pipelines.store import ImportConflictError
from pipelines.views import FilterError
from providers.errors import ProviderError

# The ``code`` of each status: stable strings clients can switch on.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    502: "bad_gateway",
    503: "unavailable",
}


class ApiError(Exception):
    """A refusal with its HTTP status; ``details`` lists field errors of a validation."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, details: list | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"status": self.status, "code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class Unauthorized(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def invalid(message: str, details: list | None = None) -> ApiError:
    return ApiError(422, message, details=details)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def from_validation(exc: ValidationError, where: str) -> ApiError:
    """A pydantic error as a 422; only each field's location and message are echoed, never its
    input (it may be a secret)."""
    details = [
        {"field": ".".join(str(p) for p in e["loc"]) or where, "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    first = details[0] if details else {"field": where, "message": "invalid"}
    return invalid(f"{where}: {first['field']}: {first['message']}", details)


# Domain errors whose message is safe to show, and the status each becomes. Order matters:
# subclasses before their bases.
STATUS_OF: tuple[tuple[type[BaseException], int], ...] = (
    # Missing, or not the caller's to see: the same answer, so ids cannot be probed.
    (NotFound, 404),
    (AccessError, 403),
    (ImportConflictError, 409),
    (ProjectMoving, 409),
    (LabelInUse, 409),
    (ResidencyError, 409),
    (PlacementError, 409),
    (ClusterRequestError, 409),
    (MoveRequestError, 409),
    (NameTaken, 409),
    (MemberConflict, 409),
    (NoSuchMember, 404),
    (AccountError, 422),
    (BadName, 422),
    (ClusterSpecError, 422),
    (UnknownClusterTypeError, 422),
    (CostInputError, 422),
    (FilterError, 422),
    (DensityInputError, 422),
    (IngestError, 422),
    (FeedCheckError, 422),
    # The curve engine cannot be reached (a ClickHouse server down, a data directory held, a
    # project's home cluster stopped: HomeUnavailable says which, in words).
    (ProviderError, 503),
)


def as_api_error(exc: BaseException) -> ApiError | None:
    """The API error ``exc`` stands for, or None for an unexpected failure (a 500)."""
    if isinstance(exc, ApiError):
        return exc
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            return ApiError(status, str(exc))
    return None
