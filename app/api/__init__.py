"""The REST API for automation, served by the same Tornado server as the pages, under /api.

Authentication is a personal API token in ``Authorization: Bearer <token>``, and nothing else:
no cookie is read on ``/api``, not even the browser session's. A forged cross-site request
can make a browser send its cookies but cannot make it send a header the attacker does not
know, so the API is immune to CSRF by design, and Tornado's XSRF check (meant for the cookie
authenticated forms) is switched off for these handlers. Tokens are stored as SHA-256 hashes,
expire (at most a year) and can be revoked; an unknown, revoked or expired one gets 401 with
``WWW-Authenticate: Bearer``.

Every endpoint checks ``models.access.require`` on the server for the project it touches; a
project the caller is not a member of answers 404, like one that does not exist. The route
table (:mod:`app.api.registry`) is the one source of the URL patterns and of
``/api/openapi.json``.

Limits: an upload streams to a private file under ``$CURVEHOUSE_HOME/uploads`` as it arrives,
up to ``CURVEHOUSE_UPLOAD_MB`` (100 by default; a larger one is refused with 413 before it is
read), and is imported by threads of its own, at most ``CURVEHOUSE_IMPORTS_PER_PERSON`` per
person at once (429 beyond); a JSON body is at most 1 MiB; list endpoints page with ``limit``
at most 500.
"""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.api.registry import Registry
    from app.services import Services

# The modules that register routes, in the order the document shows them.
RESOURCES = (
    "me",
    "projects",
    "moves",
    "teams",
    "clusters",
    "curves",
    "live",
    "ingest",
    "parts",
    "quality",
    "features",
    "kpis",
    "reports",
    "rules",
    "views",
    "dashboards",
    "audit",
    "openapi",
)
# Threads running endpoints (metadata queries, imports, rasters) beside the IO loop.
WORKERS = 4


def route_table() -> Registry:
    """Every route of the API (importing the resource modules registers them), in the order
    the OpenAPI document lists them."""
    from app.api.registry import API

    for module in RESOURCES:
        importlib.import_module(f"app.api.{module}")
    return API


def routes(services: Services) -> list[tuple]:
    """Tornado URL patterns for ``pn.serve(extra_patterns=...)``, on the process's services."""
    from app import logs
    from app.api.handler import ApiContext, ApiHandler
    from app.api.uploads import sweep

    logs.install()  # query strings with secrets are never logged as they are
    table = route_table()

    settings = services.settings
    sweep(settings)  # upload folders of a server that stopped midway
    executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="curvehouse-api")
    ctx = ApiContext(services, executor, services.imports)
    patterns: list[tuple] = [
        (next(iter(methods.values())).pattern, ApiHandler, {"ctx": ctx, "routes": methods})
        for methods in table.by_path().values()
    ]
    # Last: every other /api path is an unknown endpoint, answered in the API's JSON shape.
    patterns.append((r"^/api(?:/.*)?$", ApiHandler, {"ctx": ctx, "routes": {}}))
    return patterns
