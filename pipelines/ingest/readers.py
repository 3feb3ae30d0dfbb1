"""Stream CSV and Parquet files as Arrow record batches, with errors that name file/row/column."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.ingest.columns import KNOWN, REQUIRED, describe_known
from pipelines.ingest.errors import IngestError

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
_BLOCK = 8 << 20  # CSV bytes per chunk
# Blank lines stay rows, so reported line numbers match the file.
_PARSE = pacsv.ParseOptions(ignore_empty_lines=False)
_PARQUET_ROWS = 1 << 20  # Parquet rows per chunk
_NUMBER = re.compile(
    r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|Inf|-?infinity)\s*"
)


@dataclass
class Chunk:
    table: pa.Table
    first_row: int  # 1-based data row of the chunk's first row
    bytes_done: int


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise IngestError(path, "unknown file type; use .csv or .parquet")


def check_columns(path: Path, names: list[str], *, required=REQUIRED, csv: bool = False) -> None:
    missing = [c for c in required if c not in names]
    unknown = [c for c in names if c not in KNOWN]
    dupes = sorted({c for c in names if names.count(c) > 1})
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(repr(c) for c in missing))
    if unknown:
        problems.append("unknown column(s) " + ", ".join(repr(c) for c in unknown))
    if dupes:
        problems.append("repeated column(s) " + ", ".join(repr(c) for c in dupes))
    if problems:
        found = ", ".join(names) or "none"
        raise IngestError(
            path,
            f"{'; '.join(problems)} (found: {found}). Columns are {describe_known()}.",
            row=0 if csv else None,
            csv=csv,
        )


def check_encoding(path: Path, encoding: str) -> None:
    """Decode the whole file once so a bad byte is reported with its line, not deep in Arrow."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    lines = 1
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                lines += block[: exc.start].count(b"\n")
                raise IngestError(
                    path,
                    f"the file is not valid {encoding} text (byte 0x{block[exc.start]:02x} at "
                    f"offset {bad}, line {lines}). Save it as UTF-8, or pass its encoding "
                    "(for example --encoding latin-1).",
                ) from None
            lines += block.count(b"\n")
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise IngestError(
                path, f"the file ends in the middle of a {encoding} character"
            ) from None


def _csv_header(path: Path, encoding: str) -> list[str]:
    with path.open(encoding=encoding, newline="") as handle:
        header = next(csv.reader(handle), [])
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return [name.strip() for name in header]


def _open_csv(source, encoding: str, names: list[str], types: dict):
    return pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(
            encoding=encoding, block_size=_BLOCK, column_names=names, skip_rows=1
        ),
        parse_options=_PARSE,
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


def _locate_bad_number(path: Path, encoding: str, names: list[str]) -> IngestError:
    """Re-read with every column as text to find the first value that is not a number."""
    reader = _open_csv(path, encoding, names, {n: pa.string() for n in names})
    row = 1
    for batch in reader:
        for column in ("x", "y"):
            values = batch.column(names.index(column))
            ok = pc.or_(
                pc.match_substring_regex(values, f"^{_NUMBER.pattern}$"),
                pc.equal(pc.utf8_trim_whitespace(values), ""),  # empty: reported later
            )
            if not pc.all(ok).as_py():
                i = pc.index(ok, False).as_py()
                text = values[i].as_py()
                return IngestError(
                    path, f"{text!r} is not a number", row=row + i, column=column, csv=True
                )
        row += batch.num_rows
    return IngestError(path, "a value in x or y is not a number", csv=True)


def read_csv(path: Path, encoding: str) -> Iterator[Chunk]:
    check_encoding(path, encoding)
    names = _csv_header(path, encoding)
    check_columns(path, names, csv=True)
    types = {n: pa.string() for n in names}
    types.update(x=pa.float64(), y=pa.float64())
    with path.open("rb") as handle:
        try:
            # open_csv parses the first block eagerly, so conversion errors can surface here.
            reader = _open_csv(handle, encoding, names, types)
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, encoding, names, exc) from None
        row = 1
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise _csv_error(path, encoding, names, exc) from None
            yield Chunk(pa.Table.from_batches([batch]), row, handle.tell())
            row += batch.num_rows


def _csv_error(path: Path, encoding: str, names: list[str], exc: pa.ArrowInvalid) -> IngestError:
    message = str(exc)
    if "conversion error to double" in message:
        return _locate_bad_number(path, encoding, names)
    return _locate_bad_row(path, encoding, len(names)) or IngestError(
        path, f"malformed CSV: {message.splitlines()[0]}", csv=True
    )


def _locate_bad_row(path: Path, encoding: str, width: int) -> IngestError | None:
    """Find the first row whose number of fields differs from the header's."""
    with path.open(encoding=encoding, newline="") as handle:
        rows = csv.reader(handle)
        next(rows, None)
        for number, fields in enumerate(rows, start=1):
            if fields and len(fields) != width:
                return IngestError(
                    path, f"has {len(fields)} fields, the header has {width}", row=number, csv=True
                )
    return None


def read_parquet(path: Path) -> Iterator[Chunk]:
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(path, f"not a readable Parquet file ({exc})") from None
    names = handle.schema_arrow.names
    check_columns(path, names)
    for column in ("x", "y"):
        kind = handle.schema_arrow.field(column).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise IngestError(path, f"has type {kind}, expected numbers", column=column)
    total = max(1, handle.metadata.num_rows)
    size = path.stat().st_size
    row = 1
    for batch in handle.iter_batches(batch_size=_PARQUET_ROWS):
        table = pa.Table.from_batches([batch])
        table = table.set_column(
            names.index("x"), "x", pc.cast(table.column("x"), pa.float64())
        ).set_column(names.index("y"), "y", pc.cast(table.column("y"), pa.float64()))
        row_next = row + batch.num_rows
        yield Chunk(table, row, int(size * (row_next - 1) / total))
        row = row_next


def read_table(path: Path, *, encoding: str = "utf-8") -> Iterator[Chunk]:
    """Chunks of the file; validation of the header/schema happens before the first chunk."""
    if not path.is_file():
        raise IngestError(path, "no such file")
    if file_kind(path) == "csv":
        return read_csv(path, encoding)
    return read_parquet(path)
