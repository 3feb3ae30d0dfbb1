"""Stream CSV and Parquet files as Arrow record batches, with errors that name file/row/column."""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import pipelines.ingest.limits as limits
from models.names import CONTROL_PATTERN, control_character
from pipelines.ingest.columns import KNOWN, REQUIRED, describe_known
from pipelines.ingest.dialect import (
    COMMA_FILE_HINT,
    DECIMAL_COMMA,
    Dialect,
    NumberReader,
    first_line,
    resolve,
)
from pipelines.ingest.errors import IngestError
from pipelines.ingest.wide import EXPECTED, WIDE_NAME, long_tables, looks_wide, pairs_of

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
_BLOCK = 8 << 20  # CSV bytes per chunk
# Blank lines stay rows, so reported line numbers match the file.
_PARQUET_ROWS = 1 << 20  # Parquet rows per chunk
_CONTROL = re.compile(CONTROL_PATTERN)
# Every byte that is not a control character, for bytes.translate(None, ...).
_NOT_CONTROL = bytes(b for b in range(256) if not _CONTROL.match(chr(b)))
_NUMBER = re.compile(
    r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|Inf|-?infinity)\s*"
)


@dataclass
class Chunk:
    table: pa.Table
    first_row: int  # 1-based data row of the chunk's first row
    bytes_done: int
    # Wide files: the header column that names each curve of the chunk (rows are not curves').
    header_columns: dict[str, str] | None = None


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    raise IngestError(path, "unknown file type; use .csv or .parquet")


def _shown(names: Sequence[str], most: int = 10) -> str:
    """Names for a message: each cut to 40 characters, at most ``most`` of them."""
    shown = [repr(n if len(n) <= 40 else n[:40] + "...") for n in names[:most]]
    if len(names) > most:
        shown.append(f"and {len(names) - most:,} more")
    return ", ".join(shown)


def check_columns(path: Path, names: list[str], *, required=REQUIRED, csv: bool = False) -> None:
    """Refuse a header or schema with too many, missing, unknown or repeated columns.

    Linear in the number of names, and the count is checked first, so a file with a million
    columns costs no more than reading its header."""
    where = {"row": 0 if csv else None, "csv": csv}
    if len(names) > limits.MAX_COLUMNS:
        raise IngestError(
            path,
            f"the {'header' if csv else 'file'} has {len(names):,} columns; an import takes at "
            f"most {limits.MAX_COLUMNS}. Columns are {describe_known()}.",
            **where,
        )
    present = set(names)
    missing = [c for c in required if c not in present]
    unknown = [c for c in names if c not in KNOWN]
    dupes = sorted(c for c, n in Counter(names).items() if n > 1)
    problems = []
    if missing:
        problems.append("missing column(s) " + _shown(missing))
    if unknown:
        problems.append("unknown column(s) " + _shown(unknown))
    if dupes:
        problems.append("repeated column(s) " + _shown(dupes))
    if problems:
        found = _shown(names, most=limits.MAX_COLUMNS) if names else "none"
        wide = ""
        if "curve_key" in missing and csv:
            wide = f" Or {EXPECTED}."
        elif "curve_key" in missing and any(WIDE_NAME.match(n) for n in names):
            wide = " The wide layout (<curve>_x, <curve>_y pairs) is read from CSV files only."
        raise IngestError(
            path,
            f"{'; '.join(problems)} (found: {found}). Columns are {describe_known()}.{wide}",
            **where,
        )


def _long_line(path: Path, line: int) -> IngestError:
    return IngestError(
        path,
        f"the line is longer than {limits.MAX_LINE_BYTES:,} bytes, the most one line may have "
        "(a curve file has one sample per line)",
        row=line - 1,
        csv=True,
    )


def check_text(path: Path, encoding: str) -> None:
    """Read the whole file once before any parser sees it: every byte must decode (a bad one is
    reported with its line, not deep in Arrow), and no line may be longer than
    :data:`~pipelines.ingest.limits.MAX_LINE_BYTES`, so neither Arrow nor Python's csv module
    ever holds a giant header or value."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    lines = 1  # the line the block starts in
    current = 0  # bytes of that line before the block
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 0x0A)
            if ends.size:
                lengths = np.diff(ends, prepend=-1) - 1
                lengths[0] += current
                over = np.flatnonzero(lengths > limits.MAX_LINE_BYTES)
                if over.size:
                    raise _long_line(path, lines + int(over[0]))
                current = len(block) - int(ends[-1]) - 1
            else:
                current += len(block)
            if current > limits.MAX_LINE_BYTES:
                raise _long_line(path, lines + int(ends.size))
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = lines + block[: exc.start].count(b"\n")
                raise IngestError(
                    path,
                    f"the file is not valid {encoding} text (byte 0x{block[exc.start]:02x} at "
                    f"offset {offset + exc.start}, line {line}). Save it as UTF-8, or pass its "
                    "encoding (for example --encoding latin-1).",
                ) from None
            lines += int(ends.size)
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise IngestError(
                path, f"the file ends in the middle of a {encoding} character"
            ) from None


def check_values(path: Path, table: pa.Table, first_row: int, *, csv: bool) -> pa.Table:
    """Refuse text values longer than :data:`~pipelines.ingest.limits.MAX_FIELD_BYTES` or
    holding control characters, and dictionary columns (Parquet) that would decode to more
    than :data:`~pipelines.ingest.limits.MAX_CHUNK_TEXT_BYTES`; returns the table with those
    columns decoded to plain text.

    A dictionary column is checked on its dictionary, before anything is repeated per row: a
    small Parquet file may hold one long value and a million rows pointing at it."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if pa.types.is_dictionary(column.type) and _is_text(column.type.value_type):
            values, indices = column.dictionary, column.indices
        elif _is_text(column.type):
            values, indices = column, None
        else:
            columns.append(column)
            continue
        lengths = pc.binary_length(values)
        long = pc.greater(lengths, limits.MAX_FIELD_BYTES)
        control = (
            pc.match_substring_regex(values, CONTROL_PATTERN)
            if _has_control_bytes(values)
            else pa.nulls(len(values), pa.bool_()).fill_null(False)
        )
        if indices is not None:
            long, control = long.take(indices), control.take(indices)
            decoded = pc.sum(lengths.take(indices)).as_py() or 0
            if decoded > limits.MAX_CHUNK_TEXT_BYTES:
                raise IngestError(
                    path,
                    f"the values of this column's next {len(column):,} rows decode to "
                    f"{decoded:,} bytes of text, more than the {limits.MAX_CHUNK_TEXT_BYTES:,} "
                    "read at once; keep per-curve values short, or put them in a metadata "
                    "file (one row per curve)",
                    row=first_row,
                    column=name,
                    csv=csv,
                )
        for mask, problem in ((long, "long"), (control, "control")):
            if not pc.any(mask).as_py():
                continue
            i = pc.index(mask, True).as_py()
            value = column[i].as_py()
            if problem == "long":
                text = (
                    f"the value is {len(value.encode()):,} bytes long; a value may have at most "
                    f"{limits.MAX_FIELD_BYTES:,} bytes"
                )
            else:
                text = (
                    f"the value holds a control character ({control_character(value)}); text "
                    "may not hold control characters other than tab"
                )
            raise IngestError(path, text, row=first_row + i, column=name, csv=csv)
        columns.append(column if indices is None else column.dictionary_decode())
    return pa.Table.from_arrays(columns, names=table.column_names)


def _has_control_bytes(values: pa.Array) -> bool:
    """Whether any value holds a control character: one pass over the UTF-8 bytes, in which a
    control character is always a byte of its own (several times faster than a regex)."""
    if len(values) == 0:
        return False
    offsets = values.buffers()[1]
    data = values.buffers()[2]
    if data is None:
        return False
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    bounds = np.frombuffer(offsets, width)[values.offset : values.offset + len(values) + 1]
    raw = memoryview(data)[int(bounds[0]) : int(bounds[-1])]
    return bool(bytes(raw).translate(None, _NOT_CONTROL))


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def csv_header(path: Path, encoding: str, delimiter: str = ",") -> list[str]:
    with path.open(encoding=encoding, newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=delimiter), [])
        except csv.Error as exc:
            raise _csv_module_error(path, exc, 0) from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return [name.strip() for name in header]


def _csv_module_error(path: Path, exc: csv.Error, row: int) -> IngestError:
    """Python's csv module refuses fields over its own limit (128 KiB) with ``_csv.Error``."""
    if "field larger than field limit" in str(exc):
        message = (
            f"a value is longer than {limits.MAX_FIELD_BYTES:,} bytes, the most a value may have"
        )
    else:
        message = f"malformed CSV: {exc}"
    return IngestError(path, message, row=row, csv=True)


def parse_options(delimiter: str) -> pacsv.ParseOptions:
    # Blank lines stay rows, so reported line numbers match the file.
    return pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False)


def _open_csv(source, encoding: str, names: list[str], types: dict, delimiter: str = ","):
    return pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(
            encoding=encoding, block_size=_BLOCK, column_names=names, skip_rows=1
        ),
        parse_options=parse_options(delimiter),
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
                message = f"{text!r} is not a number"
                if re.match(DECIMAL_COMMA, text):
                    message = f"{text!r} is written with a decimal comma: {COMMA_FILE_HINT}"
                return IngestError(path, message, row=row + i, column=column, csv=True)
        row += batch.num_rows
    return IngestError(path, "a value in x or y is not a number", csv=True)


def _header_fits(names: list[str]) -> bool:
    names = names[: len(names) - _trailing_blanks(names)]
    return looks_wide(names) or (bool(names) and all(n in KNOWN for n in names))


def _trailing_blanks(names: list[str]) -> int:
    """How many unnamed columns end the header: Excel writes ``curve_key;x;y;;`` for a sheet
    with formatted empty columns to the right of the data."""
    count = 0
    while count < len(names) and not names[len(names) - 1 - count]:
        count += 1
    return count


def _blank_name(i: int) -> str:
    return f"(unnamed {i})"  # no known column's name, so never one of the file's columns


def _without_blanks(path: Path, table: pa.Table, blanks: int, first_row: int) -> pa.Table:
    """``table`` without its trailing unnamed columns, which must be empty on every line: a
    value under no name would otherwise be lost without a word."""
    named = table.num_columns - blanks
    for i in range(blanks):
        values = table.column(named + i).combine_chunks()
        empty = pc.equal(pc.utf8_trim_whitespace(values), "")
        if not pc.all(empty).as_py():
            at = pc.index(empty, False).as_py()
            raise IngestError(
                path,
                f"column {named + i + 1} has no name in the header but holds "
                f"{values[at].as_py()!r}; name it, or remove it",
                row=first_row + at,
                csv=True,
            )
    return table.select(range(named))


def csv_dialect(path: Path, encoding: str, given: Dialect) -> Dialect:
    """The file's separator and decimal mark: ``given``, the rest read from line 1."""
    return resolve(path, first_line(path, encoding), given, _header_fits)


def read_csv(path: Path, encoding: str, given: Dialect | None = None) -> Iterator[Chunk]:
    check_text(path, encoding)
    dialect = csv_dialect(path, encoding, given or Dialect())
    header = csv_header(path, encoding, dialect.delimiter)
    blanks = _trailing_blanks(header)
    named = header[: len(header) - blanks]
    if looks_wide(header):
        yield from _read_wide(path, encoding, dialect, header)
        return
    check_columns(path, named, csv=True)
    names = named + [_blank_name(i) for i in range(blanks)]
    types = {n: pa.string() for n in names}
    # A ',' file's numbers are read by Arrow; a ';' file's as text, for their decimal mark.
    numbers = None if dialect.delimiter == "," else NumberReader(path, dialect)
    if numbers is None:
        types.update(x=pa.float64(), y=pa.float64())
    with path.open("rb") as handle:
        try:
            # open_csv parses the first block eagerly, so conversion errors can surface here.
            reader = _open_csv(handle, encoding, names, types, dialect.delimiter)
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, encoding, names, exc, dialect.delimiter) from None
        row = 1
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                raise _csv_error(path, encoding, names, exc, dialect.delimiter) from None
            table = pa.Table.from_batches([batch])
            if blanks:
                table = _without_blanks(path, table, blanks, row)
            table = check_values(path, table, row, csv=True)
            if numbers is not None:
                for column in ("x", "y"):
                    values = numbers.read(table.column(column).combine_chunks(), row, column)
                    table = table.set_column(names.index(column), column, values)
            yield Chunk(table, row, handle.tell())
            row += batch.num_rows


def _read_wide(path: Path, encoding: str, dialect: Dialect, names: list[str]) -> Iterator[Chunk]:
    """A wide file (see :mod:`pipelines.ingest.wide`) as long chunks, one pair after another."""
    pairs = pairs_of(path, names)
    size = path.stat().st_size
    if size > limits.MAX_WIDE_BYTES:
        raise IngestError(
            path,
            f"the file has {size:,} bytes; a wide file is read whole and may have at most "
            f"{limits.MAX_WIDE_BYTES:,}. Write it in the long layout (curve_key, x, y), "
            "which streams",
        )
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=encoding, block_size=_BLOCK, column_names=names, skip_rows=1
            ),
            parse_options=parse_options(dialect.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _csv_error(path, encoding, names, exc, dialect.delimiter) from None
    table = check_values(path, table, 1, csv=True)
    numbers = NumberReader(path, dialect)
    where = {key: x_name for key, x_name, _ in pairs}
    for long, done in long_tables(path, table, numbers, pairs):
        yield Chunk(long, 1, int(size * done / len(pairs)), header_columns=where)


def _csv_error(
    path: Path, encoding: str, names: list[str], exc: pa.ArrowInvalid, delimiter: str
) -> IngestError:
    message = str(exc)
    if "conversion error to double" in message:
        return _locate_bad_number(path, encoding, names)
    return _locate_bad_row(path, encoding, names, delimiter) or IngestError(
        path, f"malformed CSV: {message.splitlines()[0]}", csv=True
    )


def _locate_bad_row(
    path: Path, encoding: str, names: list[str], delimiter: str
) -> IngestError | None:
    """Find the first row Arrow could not parse: a number of fields that differs from the
    header's, or a value too long or holding a control character (a quoted value across lines
    holds one, and puts Arrow's blocks out of step)."""
    width = len(names)
    with path.open(encoding=encoding, newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        number = 0
        try:
            next(rows, None)
            for number, fields in enumerate(rows, start=1):
                if fields and len(fields) != width:
                    hint = ""
                    if delimiter == "," and len(fields) > width:
                        hint = f" (if its numbers have decimal commas: {COMMA_FILE_HINT})"
                    return IngestError(
                        path,
                        f"has {len(fields)} fields, the header has {width}{hint}",
                        row=number,
                        csv=True,
                    )
                # Cheap tests first (this can run over every row of a large file).
                if max(map(len, fields), default=0) * 4 > limits.MAX_FIELD_BYTES or (
                    _CONTROL.search("".join(fields))
                ):
                    table = pa.table({n: [v] for n, v in zip(names, fields, strict=True)})
                    check_values(path, table, number, csv=True)
        except csv.Error as exc:
            return _csv_module_error(path, exc, number + 1)
    return None


def _open_parquet(path: Path) -> pq.ParquetFile:
    """The file, once its footer, columns and row groups are within the limits; text columns
    are read as dictionaries, so :func:`check_values` sees each distinct value once."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        if size >= 12:
            handle.seek(size - 8)
            tail = handle.read(8)
            footer = int.from_bytes(tail[:4], "little")
            if tail[4:] == b"PAR1" and footer > limits.MAX_PARQUET_FOOTER_BYTES:
                raise IngestError(
                    path,
                    f"the file's schema and row-group index take {footer:,} bytes; at most "
                    f"{limits.MAX_PARQUET_FOOTER_BYTES:,} are read",
                )
    try:
        handle = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(path, f"not a readable Parquet file ({exc})") from None
    schema = handle.schema_arrow
    check_columns(path, schema.names)
    for field in schema:
        if pa.types.is_nested(field.type):
            raise IngestError(
                path, f"has type {field.type}, expected text or numbers", column=field.name
            )
    meta = handle.metadata
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if group.num_rows > limits.MAX_ROW_GROUP_ROWS:
            raise IngestError(
                path,
                f"row group {i + 1} has {group.num_rows:,} rows; a row group may have at most "
                f"{limits.MAX_ROW_GROUP_ROWS:,}. Write the file with smaller row groups "
                "(pyarrow's row_group_size, for example 1,000,000)",
            )
        if group.total_byte_size > limits.MAX_ROW_GROUP_BYTES:
            raise IngestError(
                path,
                f"row group {i + 1} holds {group.total_byte_size:,} bytes uncompressed; a row "
                f"group may hold at most {limits.MAX_ROW_GROUP_BYTES:,}. Write the file with "
                "smaller row groups",
            )
    text = [f.name for f in schema if _is_text(f.type)]
    if not text:
        return handle
    return pq.ParquetFile(path, read_dictionary=text)


def read_parquet(path: Path) -> Iterator[Chunk]:
    handle = _open_parquet(path)
    names = handle.schema_arrow.names
    for column in ("x", "y"):
        kind = handle.schema_arrow.field(column).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise IngestError(path, f"has type {kind}, expected numbers", column=column)
    return _parquet_chunks(path, handle, names)


def _parquet_chunks(path: Path, handle: pq.ParquetFile, names: list[str]) -> Iterator[Chunk]:
    total = max(1, handle.metadata.num_rows)
    size = path.stat().st_size
    row = 1
    batches = handle.iter_batches(batch_size=_PARQUET_ROWS)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise IngestError(path, f"cannot read row {row:,} on: {message}") from None
        table = check_values(path, pa.Table.from_batches([batch]), row, csv=False)
        table = table.set_column(
            names.index("x"), "x", pc.cast(table.column("x"), pa.float64())
        ).set_column(names.index("y"), "y", pc.cast(table.column("y"), pa.float64()))
        row_next = row + batch.num_rows
        yield Chunk(table, row, int(size * (row_next - 1) / total))
        row = row_next


def read_parquet_table(path: Path) -> pa.Table:
    """A whole (small) Parquet file, such as a metadata file, checked like the chunks."""
    handle = _open_parquet(path)
    try:
        table = handle.read()
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(path, f"cannot read the file: {str(exc).splitlines()[0]}") from None
    return check_values(path, table, 1, csv=False)


def read_table(
    path: Path, *, encoding: str = "utf-8", dialect: Dialect | None = None
) -> Iterator[Chunk]:
    """Chunks of the file; validation of the header/schema happens before the first chunk.
    ``dialect`` gives a CSV's separator or decimal mark (by default read from the file)."""
    if not path.is_file():
        raise IngestError(path, "no such file")
    if file_kind(path) == "csv":
        return read_csv(path, encoding, dialect)
    return read_parquet(path)
