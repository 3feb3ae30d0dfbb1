"""One import: validate while streaming, stage, then commit atomically (see ``pipelines.store``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.wording import counted
from pipelines.ingest.assemble import Assembler
from pipelines.ingest.dialect import Dialect
from pipelines.ingest.errors import IngestError
from pipelines.ingest.metadata import read_metadata
from pipelines.ingest.readers import Chunk, file_kind, read_table
from pipelines.prefetch import prefetch
from pipelines.store import CurveStore, DatasetSpec, WriteResult

# (bytes of the samples file read so far, its size)
ByteProgress = Callable[[int, int], None]
# (curves staged so far, their points), as CurveStore.write reports them
CurveProgress = Callable[[int, int], None]


@dataclass
class IngestReport:
    """What one import stored. A file whose content was imported before stores nothing: then
    ``already_imported`` names that dataset and every curve of the file counts as skipped."""

    path: Path
    project: str
    written: WriteResult
    already_imported: str | None = None  # dataset id when the same content was imported before

    def summary(self) -> str:
        w = self.written
        if self.already_imported:
            return (
                f"Nothing new was stored: {self.path.name} was already imported into "
                f"{self.project!r} (dataset {self.already_imported}); "
                f"skipped its {counted(w.curves_skipped, 'curve')}."
            )
        text = (
            f"Imported {counted(w.curves_added, 'curve')} ({counted(w.points_added, 'point')}) "
            f"into {self.project!r}"
        )
        if w.curves_skipped:
            text += (
                f"; skipped {counted(w.curves_skipped, 'curve')} already stored with the "
                "same samples"
            )
        return text + "."


def content_hash(*paths: Path | None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        with path.open("rb") as handle:
            while block := handle.read(8 << 20):
                digest.update(block)
        digest.update(b"\x00")
    return digest.hexdigest()


def ingest_file(
    store: CurveStore,
    path: str | Path,
    *,
    project: str,
    metadata: str | Path | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    decimal: str | None = None,
    progress: ByteProgress | None = None,
    curve_progress: CurveProgress | None = None,
) -> IngestReport:
    """Import one file: the long layout (``curve_key, x, y`` plus optional per-curve columns,
    CSV or Parquet) or the wide one (a CSV of ``<curve>_x, <curve>_y`` pairs, see
    :mod:`pipelines.ingest.wide`). A CSV's ``delimiter`` (``,``/``;``) and ``decimal`` mark
    (``.``/``,``) are read from the file unless given (see :mod:`pipelines.ingest.dialect`).

    All or nothing: any error leaves the store as it was. Importing the same content again adds
    nothing; curves already stored under the same key with the same samples are skipped.
    """
    path = Path(path)
    meta_path = Path(metadata) if metadata else None
    if not project or not project.strip():
        raise ValueError("a project name is required")
    kind = file_kind(path)
    dialect = Dialect(delimiter, decimal)
    for given in (path, meta_path):
        if given is not None and not given.is_file():
            raise IngestError(given, "no such file")
    sha = content_hash(path, meta_path)
    previous = store.find_import(project, sha)
    if previous is not None:
        held = _curves_in(_read(path, encoding, dialect, progress))
        return IngestReport(path, project, WriteResult(None, curves_skipped=held), previous)
    sidecar = read_metadata(meta_path, encoding=encoding, dialect=dialect) if meta_path else None
    ingested_at = pd.Timestamp.now(tz="UTC").floor("ms")
    assembler = Assembler(
        path=path,
        csv=kind == "csv",
        metadata=sidecar,
        metadata_path=meta_path,
        ingested_at=ingested_at,
    )
    spec = DatasetSpec(
        project=project,
        kind="import",
        name=path.name,
        source=str(path.resolve()),
        content_sha256=sha,
    )
    chunks = _read(path, encoding, dialect, progress)
    written = store.write(
        prefetch(assembler.batches(chunks)),
        spec,
        ingested_at=ingested_at,
        progress=curve_progress,
    )
    return IngestReport(path, project, written)


def _read(
    path: Path, encoding: str, dialect: Dialect, progress: ByteProgress | None
) -> Iterator[Chunk]:
    """The file's chunks, reporting the bytes read after each."""
    size = path.stat().st_size
    for chunk in read_table(path, encoding=encoding, dialect=dialect):
        yield chunk
        if progress is not None:
            progress(chunk.bytes_done, size)


def _curves_in(chunks: Iterator[Chunk]) -> int:
    """How many curves (distinct keys) the chunks hold: what a repeat import skips. Reading
    the keys costs a read of the file, which a repeat import spends to say the count."""
    keys = [pc.unique(pc.cast(c.table.column("curve_key"), pa.string())) for c in chunks]
    return len(pc.unique(pa.chunked_array(keys, pa.string()))) if keys else 0
