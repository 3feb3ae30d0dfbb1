"""Domain errors know nothing of HTTP: the API's one table gives each its status and code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import models
from app.api.errors import as_api_error
from models.access import Forbidden, NotFound
from models.accounts import AccountError, LoginError, NameTaken
from models.members import MemberConflict, MemberError, NoSuchMember
from models.names import BadName


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound, 404, "not_found"),
        (Forbidden, 403, "forbidden"),
        (NoSuchMember, 404, "not_found"),
        (MemberConflict, 409, "conflict"),
        (NameTaken, 409, "conflict"),
        (MemberError, 422, "invalid"),
        (LoginError, 422, "invalid"),
        (AccountError, 422, "invalid"),
        (BadName, 422, "invalid"),
    ],
)
def test_each_domain_error_becomes_its_status_and_code(error, status, code):
    answer = as_api_error(error("what the person reads"))
    assert answer is not None
    assert answer.body() == {
        "error": {"status": status, "code": code, "message": "what the person reads"}
    }


def test_an_unexpected_error_is_left_to_the_handler():
    assert as_api_error(RuntimeError("a bug")) is None


def test_errors_in_models_carry_no_http_status():
    errors = [
        value
        for info in pkgutil.iter_modules(models.__path__)
        if not info.ispkg
        for value in vars(importlib.import_module(f"models.{info.name}")).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__.startswith("models.")
    ]
    assert NotFound in errors and NoSuchMember in errors
    http = {"status", "status_code", "http_status", "code"}
    assert [e.__qualname__ for e in errors if http & {a for c in e.__mro__ for a in vars(c)}] == []
