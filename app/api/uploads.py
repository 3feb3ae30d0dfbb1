"""Uploaded curve files: what kind they are, a safe label, and a private temporary copy.

The name a client gives (``?name=`` or a multipart part's filename) is only a label for the
dataset. It never becomes a path: :func:`safe_label` keeps the last path component and a short
whitelist of characters, and :func:`staged` writes the bytes into a directory it creates itself
with :func:`tempfile.mkdtemp`, removed afterwards whatever happens.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tornado.httputil import HTTPServerRequest

from app.api.errors import ApiError

# Media types an import accepts, and the file kind each means.
MEDIA_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
}
SUFFIXES = {"csv": ".csv", "parquet": ".parquet"}
LABEL_LENGTH = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")


@dataclass(frozen=True)
class Upload:
    kind: str  # "csv" or "parquet"
    label: str  # safe, ends with the kind's suffix
    data: bytes


def safe_label(name: str | None, kind: str) -> str:
    """A dataset label from a client's file name: its last path component (after ``/`` and
    ``\\``), ASCII letters, digits and ``._ ()+-`` only, no leading dots, at most
    ``LABEL_LENGTH`` characters, ending in the kind's suffix."""
    suffix = SUFFIXES[kind]
    base = re.split(r"[/\\]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base).strip(" ._")
    stem = base[: -len(suffix)] if base.lower().endswith(suffix) else base
    stem = stem.strip(" ._")[: LABEL_LENGTH - len(suffix)] or "upload"
    return stem + suffix


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def read_upload(request: HTTPServerRequest) -> Upload:
    """The file in the request: a raw CSV or Parquet body, or a multipart ``file`` part."""
    media = _media(request.headers.get("Content-Type"))
    name = request.query_arguments.get("name", [b""])[-1].decode("utf-8", "replace")
    if media == "multipart/form-data":
        parts = request.files.get("file") or []
        if not parts:
            raise ApiError(422, "The multipart form has no part named 'file'.")
        part = parts[0]
        kind = MEDIA_TYPES.get(_media(part.content_type)) or _kind_from_name(part.filename)
        data, name = part.body, name or part.filename
    elif media in MEDIA_TYPES:
        kind, data = MEDIA_TYPES[media], request.body
    else:
        raise ApiError(
            415,
            f"Send the file as text/csv or application/vnd.apache.parquet (or a multipart form "
            f"with a 'file' part), not {media or 'no content type'}.",
        )
    if kind is None:
        raise ApiError(
            415,
            "Say what the file is: a part content type of text/csv or "
            "application/vnd.apache.parquet, or a .csv or .parquet file name.",
        )
    if not data:
        raise ApiError(422, "The file is empty.")
    return Upload(kind, safe_label(name, kind), bytes(data))


def _kind_from_name(name: str | None) -> str | None:
    lower = (name or "").lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    return None


@contextmanager
def staged(upload: Upload) -> Iterator[Path]:
    """The upload as a file named by its label inside a fresh private directory."""
    folder = Path(tempfile.mkdtemp(prefix="curvehouse-upload-"))
    try:
        path = folder / upload.label
        if path.parent != folder:  # safe_label cannot make this; refuse rather than trust it
            raise ApiError(422, "That file name cannot be used.")
        path.write_bytes(upload.data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
