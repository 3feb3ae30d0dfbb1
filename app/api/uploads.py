"""Uploaded curve files: streamed to a private folder as they arrive, a safe label, and a
bound on the imports that run at once.

The name a client gives (``?name=`` or a multipart part's filename) is only a label for the
dataset. It never becomes a path: :func:`safe_label` keeps the last path component and a short
whitelist of characters, and the bytes go into a folder :class:`Incoming` makes itself with
:func:`tempfile.mkdtemp` under ``$CURVEHOUSE_HOME/uploads`` (private to the server's user, not
the shared temporary directory). The folder is removed when the import ends, when the client
goes away midway, and, for a server that was killed, at the next start (:func:`sweep`).

Uploads are limited to ``CURVEHOUSE_UPLOAD_MB`` (checked against Content-Length before a byte
is read, and again while streaming) and run in an executor of their own, at most
``CURVEHOUSE_IMPORTS_PER_PERSON`` per person at once (:class:`ImportGate`), so imports never
take the threads that answer other requests.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tornado.httputil import HTTPFile, HTTPInputError, parse_body_arguments

from app.api.errors import ApiError
from models.settings import Settings

# Media types an import accepts, and the file kind each means.
MEDIA_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
}
MULTIPART = "multipart/form-data"
SUFFIXES = {"csv": ".csv", "parquet": ".parquet"}
LABEL_LENGTH = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")
FOLDER_PREFIX = "curvehouse-upload-"
MB = 1_000_000


@dataclass(frozen=True)
class Upload:
    kind: str  # "csv" or "parquet"
    label: str  # safe, ends with the kind's suffix
    path: Path  # the file, alone in its own folder


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


def media_of(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_media(content_type: str | None) -> None:
    """415 unless the body is a CSV, a Parquet file or a multipart form (before it is read)."""
    media = media_of(content_type)
    if media != MULTIPART and media not in MEDIA_TYPES:
        raise ApiError(
            415,
            f"Send the file as text/csv or application/vnd.apache.parquet (or a multipart form "
            f"with a 'file' part), not {media or 'no content type'}.",
        )


def _megabytes(size: int) -> str:
    return f"{size / MB:,.0f} MB" if size % MB == 0 or size >= 10 * MB else f"{size / MB:.1f} MB"


def too_large(limit: int, size: int | None = None) -> ApiError:
    """The 413 of an upload over ``limit`` bytes (``size`` None: sent without a length)."""
    this = f"this one is {_megabytes(size)}" if size is not None else "this one is larger"
    return ApiError(
        413,
        f"Uploads are limited to {_megabytes(limit)}; {this}. Split the file or import it with "
        "`curvehouse ingest`.",
    )


def upload_root(settings: Settings) -> Path:
    """``$CURVEHOUSE_HOME/uploads``, readable by the server's user only."""
    root = settings.home / "uploads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    return root


def sweep(settings: Settings) -> list[str]:
    """Remove the upload folders a stopped server left behind; their names. Run at start, when
    no upload of this server can be in flight."""
    gone = []
    for folder in upload_root(settings).glob(f"{FOLDER_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)
        gone.append(folder.name)
    return gone


class Incoming:
    """One upload as it arrives: the body written to ``body`` in a fresh private folder, at
    most ``limit`` bytes of it."""

    def __init__(self, root: Path, limit: int, content_type: str | None, name: str) -> None:
        self.limit = limit
        self.content_type = content_type or ""
        self.name = name
        self.size = 0
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=root))
        self.body = self.folder / "body"
        self._handle = self.body.open("wb")

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; 413 once the body grows past the limit (sent without a length, or
        longer than its Content-Length said)."""
        self.size += len(chunk)
        if self.size > self.limit:
            raise too_large(self.limit)
        self._handle.write(chunk)

    def finish(self) -> Upload:
        """The uploaded file, once the body is complete. Runs in an import thread: a multipart
        body is parsed here (with Tornado's parser and its limits on parts), not on the IO
        loop."""
        self._handle.close()
        media = media_of(self.content_type)
        name, kind, data = self.name, MEDIA_TYPES.get(media), None  # None: the body is the file
        if media == MULTIPART:
            part = self._file_part()
            kind = MEDIA_TYPES.get(media_of(part.content_type)) or _kind_from_name(part.filename)
            name, data = name or part.filename, part.body
        path = _place(self.folder, name, kind, self.size if data is None else len(data))
        if data is None:
            self.body.rename(path)
        else:
            path.write_bytes(data)
            self.body.unlink()
        return Upload(kind, path.name, path)

    def _file_part(self) -> HTTPFile:
        arguments: dict[str, list[bytes]] = {}
        files: dict[str, list[HTTPFile]] = {}
        try:
            parse_body_arguments(self.content_type, self.body.read_bytes(), arguments, files)
        except HTTPInputError as exc:
            raise ApiError(400, f"The multipart form cannot be read: {exc}.") from None
        parts = files.get("file") or []
        if not parts:
            raise ApiError(422, "The multipart form has no part named 'file'.")
        return parts[0]

    def remove(self) -> None:
        """Delete the folder and everything in it; safe to call more than once."""
        self._handle.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _place(folder: Path, name: str | None, kind: str | None, size: int) -> Path:
    """Where a file of ``kind`` and ``size`` bytes goes in ``folder``: its safe label there;
    415 for a file of no known kind, 422 for an empty one."""
    if kind is None:
        raise ApiError(
            415,
            "Say what the file is: a part content type of text/csv or "
            "application/vnd.apache.parquet, or a .csv or .parquet file name.",
        )
    if size == 0:
        raise ApiError(422, "The file is empty.")
    path = folder / safe_label(name, kind)
    if path.parent != folder:  # safe_label cannot make this; refuse rather than trust it
        raise ApiError(422, "That file name cannot be used.")
    return path


def stage(settings: Settings, name: str, data: bytes) -> Upload:
    """A file handed over whole (dropped on the Projects page) staged as an API upload is: the
    same limit, kinds and label, in a private folder of its own that :func:`staged` removes."""
    limit = settings.upload_mb * MB
    if len(data) > limit:
        raise too_large(limit, len(data))
    kind = _kind_from_name(name)
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=upload_root(settings)))
    try:
        path = _place(folder, name, kind, len(data))
        path.write_bytes(data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Upload(kind, path.name, path)


def _kind_from_name(name: str | None) -> str | None:
    lower = (name or "").lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".parquet", ".pq")):
        return "parquet"
    return None


@contextmanager
def staged(upload: Upload) -> Iterator[Path]:
    """The uploaded file, removed with its folder afterwards whatever happens."""
    try:
        yield upload.path
    finally:
        shutil.rmtree(upload.path.parent, ignore_errors=True)


class ImportGate:
    """Where imports run: ``workers`` threads of their own, and at most ``per_person`` imports
    of one person at once, counted from the first byte of the upload to the end of the import
    (an upload in flight holds a file and a connection too).

    A hostile file then costs its sender their own imports, never the threads that answer
    everybody's other requests."""

    def __init__(self, workers: int, per_person: int) -> None:
        self.per_person = per_person
        self.executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="curvehouse-import"
        )
        self._running: Counter[int] = Counter()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> ImportGate:
        return cls(settings.import_workers, settings.imports_per_person)

    def enter(self, user_id: int) -> None:
        """Count one more import of ``user_id``; 429 when they have as many as allowed."""
        with self._lock:
            if self._running[user_id] >= self.per_person:
                raise ApiError(
                    429,
                    f"You have {self._running[user_id]} imports running, the most one person "
                    "may have at once; send this file when one of them has finished.",
                )
            self._running[user_id] += 1

    def leave(self, user_id: int) -> None:
        with self._lock:
            self._running[user_id] -= 1
            if self._running[user_id] <= 0:
                del self._running[user_id]
