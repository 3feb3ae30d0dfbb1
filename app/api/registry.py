"""The route table: one :class:`Route` per operation, from which both the Tornado URL patterns
and the OpenAPI document are made, so neither can describe an endpoint the other lacks.

A path template's parameters are whole numbers named ``*_id`` (``/api/clusters/{cluster_id}``).
Their regex allows at most 20 digits, so an absurd id is an unknown path (404), never an
overflow inside the metadata store. Any other parameter is one path segment of text
(``/api/projects/{project_id}/parts/{serial}``), percent-encoded, that the endpoint checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from models.access import LEAST_ROLE, Action

_PARAM = re.compile(r"\{([a-z_]+)\}")
# A text parameter: one segment of the percent-encoded path (a serial of 200 characters of
# UTF-8 may take 1,800 bytes that way).
TEXT_SEGMENT = r"[^/]{1,1800}"
# The largest id in a path: SQLite's and PostgreSQL's 64-bit integers; curve ids are UInt64.
MAX_ID = 2**63 - 1
MAX_CURVE_ID = 2**64 - 1

# Statuses every route can answer with, besides its own.
COMMON_ERRORS = (500,)
AUTH_ERRORS = (401,)


@dataclass(frozen=True)
class Route:
    """One operation: what it takes, what it answers, and who may call it.

    ``permission`` is the :class:`~models.access.Action` the endpoint checks with ``require``
    (None: any holder of a valid token; ``public``: no token at all). It is documentation and
    the endpoint table; the check itself is the endpoint's call to ``require``.
    """

    method: str
    path: str
    summary: str
    endpoint: Callable[..., Any]
    tag: str
    status: int = 200
    # Other success statuses the endpoint may choose (it returns an app.api.handler.Answer).
    other_statuses: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    permission: Action | None = None
    public: bool = False
    # The body is a file (CSV, Parquet, or a multipart form with a ``file`` part), not JSON.
    upload: bool = False
    # Other media types the success response may have (chosen by the ``format`` parameter).
    media: tuple[str, ...] = ()
    description: str = ""

    @property
    def operation_id(self) -> str:
        return self.endpoint.__name__

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def pattern(self) -> str:
        """The Tornado regex of the path, with named groups for its ids."""
        return "^" + _PARAM.sub(_segment, self.path) + "$"

    @property
    def all_errors(self) -> tuple[int, ...]:
        extra: list[int] = [] if self.public else [*AUTH_ERRORS]
        if self.query is not None or self.body is not None or self.upload:
            extra.append(422)
        if self.body is not None or self.upload:
            extra += [400, 413, 415]
        if self.upload:
            extra.append(429)  # the person's imports at once (app.api.uploads.ImportGate)
        if self.path_params:
            extra.append(404)
        return tuple(sorted({*self.errors, *extra, *COMMON_ERRORS}))

    @property
    def who(self) -> str:
        """Who may call it, for the endpoint table and the OpenAPI description."""
        if self.public:
            return "anyone (no token)"
        if self.permission is None:
            return "any signed-in user (valid token)"
        return f"{self.permission.value} ({LEAST_ROLE[self.permission].value} or higher)"


def is_id(name: str) -> bool:
    """Whether a path parameter is a whole-number id (else it is text)."""
    return name.endswith("_id")


def _segment(match: re.Match) -> str:
    name = match[1]
    return f"(?P<{name}>{'[0-9]{1,20}' if is_id(name) else TEXT_SEGMENT})"


@dataclass
class Registry:
    """The API's routes in declaration order (which is also the OpenAPI document's order)."""

    routes: list[Route] = field(default_factory=list)

    def route(self, method: str, path: str, summary: str, **options: Any):
        """Register the decorated function as the endpoint of ``method path``."""

        def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
            tag = options.pop("tag", path.split("/")[2])
            route = Route(method.upper(), path, summary, endpoint, tag, **options)
            clash = [r for r in self.routes if (r.method, r.path) == (route.method, route.path)]
            if clash:
                raise ValueError(f"{route.method} {route.path} is registered twice")
            self.routes.append(route)
            return endpoint

        return register

    def by_path(self) -> dict[str, dict[str, Route]]:
        """``{path template: {method: route}}``, paths in first-declared order."""
        paths: dict[str, dict[str, Route]] = {}
        for route in self.routes:
            paths.setdefault(route.path, {})[route.method] = route
        return paths


API = Registry()
