"""The wire side of a cluster node's HTTP interface, apart from the engine: errors in
ClickHouse's shape, request bodies decoded into files within limits, and where the statement
ends and insert data begins.

Bodies never sit whole in memory: each is decoded (gzip, deflate or lz4) at most
``DECODE_STEP`` at a time into a file of the node's, and a decoded size over the limit stops
the writing, so a small compressed body cannot inflate into memory or onto disk.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
import zlib
from pathlib import Path
from typing import Any

INSERT_WITH_FORMAT = re.compile(r"(?is)^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*;?\s*$")
# An insert sent whole in the body: the statement, then its data after one line break.
INSERT_THEN_DATA = re.compile(rb"(?is)^\s*(INSERT\s+INTO\s+[^\n]+?\s+FORMAT\s+\w+)[ \t]*\r?\n")
ERROR_CODE = re.compile(r"Code: (\d+)\.")
AUTHENTICATION_FAILED = 516
ACCESS_DENIED = 497
TOO_LARGE = 1002  # ClickHouse answers an oversized body with a generic code and HTTP 413
DECODE_STEP = 1 << 20  # decompress at most this much at a time


class QueryFailed(Exception):
    def __init__(self, code: int, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def refusal(message: str, status: int = 403, code: int = ACCESS_DENIED) -> QueryFailed:
    name = {ACCESS_DENIED: "ACCESS_DENIED", 62: "SYNTAX_ERROR"}.get(code, "BAD_ARGUMENTS")
    return QueryFailed(code, f"Code: {code}. DB::Exception: {message} ({name})", status)


def too_large(what: str, limit: int) -> QueryFailed:
    return QueryFailed(
        TOO_LARGE,
        f"Code: {TOO_LARGE}. DB::Exception: The request {what} is larger than this node's limit "
        f"of {limit:,} bytes; split the insert into smaller ones.",
        413,
    )


class Decoder:
    """A body's Content-Encoding undone piece by piece, never more than ``DECODE_STEP`` at a
    time, so a small compressed body cannot expand in memory."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        self._lz4 = None
        self._zlib = None
        if encoding == "gzip":
            self._zlib = zlib.decompressobj(wbits=31)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif encoding == "lz4":
            import lz4.frame

            self._lz4 = lz4.frame.LZ4FrameDecompressor()
        elif encoding not in ("", "identity"):
            raise QueryFailed(
                1002,
                f"Code: 1002. DB::Exception: Content-Encoding {encoding!r} is not supported.",
                415,
            )

    def feed(self, chunk: bytes):
        try:
            if self._zlib is not None:
                pending = chunk
                while pending:
                    yield self._zlib.decompress(pending, DECODE_STEP)
                    pending = self._zlib.unconsumed_tail
            elif self._lz4 is not None:
                yield self._lz4.decompress(chunk, max_length=DECODE_STEP)
                while not self._lz4.needs_input and not self._lz4.eof:
                    yield self._lz4.decompress(b"", max_length=DECODE_STEP)
            else:
                yield chunk
        except (zlib.error, RuntimeError) as exc:
            raise QueryFailed(
                1002,
                f"Code: 1002. DB::Exception: The body is not valid compressed data: {exc}",
                400,
            ) from exc


class Body:
    """A request body, decoded into a file of the node's while it arrives, within a limit."""

    def __init__(self, folder: Path, encoding: str, limit: int) -> None:
        self.decoder = Decoder(encoding)
        self.limit, self.size, self.too_large = limit, 0, False
        handle, name = tempfile.mkstemp(dir=folder, suffix=".body")
        self.path = Path(name)
        self._file = os.fdopen(handle, "wb")

    def write(self, chunk: bytes) -> None:
        if self.too_large:
            return  # the rest is read and dropped; the answer says why
        for piece in self.decoder.feed(chunk):
            self.size += len(piece)
            if self.size > self.limit:
                self.too_large = True
                self._file.truncate(0)
                return
            self._file.write(piece)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def split_request(query: str, body: Body | None, limit: int) -> tuple[str, Path | None, list[Path]]:
    """The statement and the file holding insert data, as ClickHouse reads them: with a
    ``query`` parameter the body is data (or the rest of the statement); without one, the body
    is the statement, followed by data when it is an ``INSERT ... FORMAT``. Also returns files
    made here, for the caller to delete."""
    size = body.size if body else 0
    if query and not size:
        return query, None, []
    if query and INSERT_WITH_FORMAT.match(query):
        return query, body.path, []
    with open(body.path, "rb") as file:
        head = file.read(limit + 1)
        insert = INSERT_THEN_DATA.match(head)
        if insert:
            file.seek(insert.end())
            handle, name = tempfile.mkstemp(dir=body.path.parent, suffix=".data")
            with os.fdopen(handle, "wb") as rest:
                shutil.copyfileobj(file, rest)
            return _text(insert.group(1)), Path(name), [Path(name)]
    if len(head) > limit:
        raise QueryFailed(
            TOO_LARGE,
            f"Code: {TOO_LARGE}. DB::Exception: The query is longer than this node's limit of "
            f"{limit:,} bytes; send data as the body of 'INSERT INTO t FORMAT <format>'.",
            413,
        )
    text = _text(head)
    return (f"{query} {text}" if query else text), None, []


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise QueryFailed(
            62, "Code: 62. DB::Exception: The query is not valid UTF-8.", 400
        ) from exc


def credentials(headers: Any, params: dict[str, str]) -> tuple[str | None, str]:
    user = headers.get("X-ClickHouse-User") or params.get("user")
    password = headers.get("X-ClickHouse-Key") or params.get("password") or ""
    header = headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user = None
    return user, password


def read_form(
    body: Body, content_type: str, max_query: int, max_params: int
) -> tuple[str, dict[str, str]]:
    """The ``query`` and ``param_*`` fields of a ``multipart/form-data`` body, as ClickHouse
    reads them: clickhouse-connect sends bind parameters as a form once they pass 4 KiB. A part
    with a filename is external data, which a node does not take; other fields are refused too,
    so settings keep arriving only where the gate's caller looks for them (the URL)."""
    from tornado.httputil import HTTPInputError, parse_body_arguments

    if body.size > max_query + max_params:
        raise too_large("form", max_query + max_params)
    fields: dict[str, list[bytes]] = {}
    files: dict[str, list[Any]] = {}
    try:
        parse_body_arguments(content_type, body.path.read_bytes(), fields, files)
    except HTTPInputError as exc:
        raise refusal(f"The multipart form is not valid: {exc}", 400, 1002) from exc
    if files:
        raise QueryFailed(
            1002,
            "Code: 1002. DB::Exception: Multipart forms with files (external data) are not "
            "supported by Curvehouse embedded nodes.",
            400,
        )
    others = sorted(k for k in fields if k != "query" and not k.startswith("param_"))
    if others:
        raise refusal(
            f"Form fields other than query and param_* are not supported: {', '.join(others)}",
            400,
            1002,
        )
    query = b"".join(fields.pop("query", [b""])[-1:])
    if len(query) > max_query:
        raise QueryFailed(
            TOO_LARGE,
            f"Code: {TOO_LARGE}. DB::Exception: The query is longer than this node's limit of "
            f"{max_query:,} bytes.",
            413,
        )
    params = {k: v[-1] for k, v in fields.items()}
    if sum(len(v) for v in params.values()) > max_params:
        raise too_large("parameters", max_params)
    return _text(query), {k: _text(v) for k, v in params.items()}
