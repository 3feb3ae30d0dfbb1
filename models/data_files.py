"""The packaged JSON data files (cluster types, the rate card), read through pydantic models.

Sizes and prices are data, so changing one is a data change, not a code change. Each file's
pydantic model is its schema, checked when the file is loaded: a mistake stops the program at
start with a message that names the file, the entry and the field ("cluster_types[0]
'development' nodes: needs 1 ≤ min ≤ default ≤ max"), instead of a ``KeyError`` in a page later.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

M = TypeVar("M", bound=BaseModel)
# The data files' models are strict: nothing is coerced ("3" is not 3), unknown fields are typos.
DATA = ConfigDict(extra="forbid", strict=True)


def load_data_file(model: type[M], name: str, path: Path | None, error: type[ValueError]) -> M:
    """``name`` from this package (or the file at ``path``, for tests), checked by ``model``.

    Every problem is raised at once as ``error``, each naming where in the file it is.
    """
    if path is None:
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{name} is not valid JSON: {exc}.") from None
    try:
        # From the JSON text, so strict models take arrays for tuples and text for dates.
        return model.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(_problem(detail, raw) for detail in exc.errors())
        raise error(f"{name}: {problems}") from None


def _problem(detail: ErrorDetails, raw: Any) -> str:
    """One validation error in words: where in the file, then what is wrong there."""
    loc = detail["loc"]
    if detail["type"] == "missing" and loc:
        return f"{_where(loc[:-1], raw) or 'the file'} has no {loc[-1]!r} field."
    if detail["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{_where(loc, raw)} is not a field the file may have (a typo?)."
    if detail["type"] == "value_error":
        message = str(detail.get("ctx", {}).get("error", detail["msg"])).rstrip(".") + "."
    else:
        message = f"{detail['msg']}; got {_short(detail['input'])}."
    where = _where(loc, raw)
    return f"{where}: {message}" if where else message


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(loc: tuple[int | str, ...], raw: Any) -> str:
    """``cluster_types[0] 'development' nodes``: the path, with an entry's ``key`` when it has
    one, since a key is what a person looks for in the file."""
    parts: list[str] = []
    node = raw
    for step in loc:
        if isinstance(step, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{step}]"]
        else:
            parts.append(str(step))
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(step, int) and isinstance(node, dict) and "key" in node:
            parts.append(repr(node["key"]))
    return " ".join(parts)
