"""``/api/openapi.json``: OpenAPI 3.1, made from the route table and the pydantic models.

Pydantic's JSON Schema (2020-12) is what OpenAPI 3.1 uses, so model schemas go into
``components.schemas`` unchanged; a query model's fields become query parameters.
"""

from __future__ import annotations

import json
from functools import cache
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api.handler import Call, Raw
from app.api.registry import API, MAX_CURVE_ID, MAX_ID, Registry, Route, is_id
from app.api.schemas import ErrorResponse

REF = "#/components/schemas/{model}"
TITLE = "Curvehouse API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Automation for Curvehouse: projects, members, teams, clusters, datasets, curves and the audit "
    "trail. Authenticate with a personal API token: `Authorization: Bearer <token>` (make one "
    "with `curvehouse token create EMAIL --name NAME` or `POST /api/tokens`). Every error is "
    '`{"error": {"status", "code", "message"}}`. List endpoints take `limit` (1-500, default '
    '50) and `offset`, and answer `{"items", "total", "limit", "offset"}`.'
)
BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}


def _models(registry: Registry) -> list[tuple[type[BaseModel], str]]:
    pairs: dict[tuple[type[BaseModel], str], None] = {(ErrorResponse, "serialization"): None}
    for route in registry.routes:
        for model, mode in (
            (route.body, "validation"),
            (route.query, "validation"),
            (route.response, "serialization"),
        ):
            if model is not None:
                pairs[(model, mode)] = None
    return list(pairs)


def _path_parameter(name: str) -> dict[str, Any]:
    if not is_id(name):
        return {
            "name": name,
            "in": "path",
            "required": True,
            "description": "percent-encoded text",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        }
    curve = name == "curve_id"
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {
            "type": "integer",
            "minimum": 0 if curve else 1,
            "maximum": MAX_CURVE_ID if curve else MAX_ID,
        },
    }


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _upload_body() -> dict[str, Any]:
    return {
        "required": True,
        "description": "the curve file; its name is only a label",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": BINARY},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": BINARY},
                    "required": ["file"],
                }
            },
        },
    }


def _operation(route: Route, refs: dict, defs: dict) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": " ".join(filter(None, [route.description, f"Who: {route.who}."])),
        "tags": [route.tag],
    }
    if route.permission is not None:
        op["x-permission"] = route.permission.value
    if route.public:
        op["security"] = []
    parameters = [_path_parameter(name) for name in route.path_params]
    if route.query is not None:
        name = refs[(route.query, "validation")]["$ref"].rsplit("/", 1)[-1]
        parameters += _query_parameters(defs[name])
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    elif route.upload:
        op["requestBody"] = _upload_body()
    op["responses"] = {
        str(status): _success(route, refs, status)
        for status in (route.status, *route.other_statuses)
    }
    error = {"schema": refs[(ErrorResponse, "serialization")]}
    for status in route.all_errors:
        op["responses"][str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": error},
        }
    return op


def _success(route: Route, refs: dict, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if status == 204:
        return response
    content: dict[str, Any] = {}
    if route.response is not None:
        content["application/json"] = {"schema": refs[(route.response, "serialization")]}
    else:
        content["application/json"] = {"schema": {"type": "object"}}
    for media in route.media:
        content[media] = {"schema": {"type": "string"} if media.startswith("text/") else BINARY}
    response["content"] = content
    return response


def build_document(registry: Registry = API) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route in ``registry``."""
    refs, schema = models_json_schema(_models(registry), ref_template=REF)
    defs = schema.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in registry.by_path().items():
        paths[path] = {m.lower(): _operation(r, refs, defs) for m, r in methods.items()}
    tags = dict.fromkeys(route.tag for route in registry.routes)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a personal API token (chp_...)",
                }
            },
        },
        "security": [{"bearer": []}],
    }


@cache
def _document_bytes() -> bytes:
    return json.dumps(build_document(API), indent=1).encode("utf-8")


@API.route("GET", "/api/openapi.json", "This document", public=True, tag="meta")
def get_openapi(call: Call) -> Raw:
    return Raw(_document_bytes(), "application/json")
