"""A per-curve metadata file (one row per curve, keyed by ``curve_key``), read whole."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.ingest.assemble import BadValue, normalize
from pipelines.ingest.columns import METADATA
from pipelines.ingest.dialect import Dialect
from pipelines.ingest.errors import IngestError
from pipelines.ingest.readers import (
    check_columns,
    check_text,
    check_values,
    csv_dialect,
    csv_header,
    file_kind,
    read_parquet_table,
)


def read_metadata(
    path: Path, *, encoding: str = "utf-8", dialect: Dialect | None = None
) -> dict[str, tuple[int, dict]]:
    """``curve_key -> (data row, normalised metadata)``. A CSV's separator is ``dialect``'s or
    read from its header, as for a samples file."""
    if not path.is_file():
        raise IngestError(path, "no such file")
    csv = file_kind(path) == "csv"
    delimiter = ","
    if csv:
        # The same limits as a samples file, checked before the whole file is parsed.
        check_text(path, encoding)
        given = Dialect(dialect.delimiter if dialect else None)
        delimiter = csv_dialect(path, encoding, given).delimiter
        header = csv_header(path, encoding, delimiter)
        check_columns(path, header, required=("curve_key",), csv=True)
    try:
        if csv:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=encoding),
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
                convert_options=pacsv.ConvertOptions(
                    strings_can_be_null=False, quoted_strings_can_be_null=False
                ),
            )
        else:
            table = read_parquet_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(
            path, f"cannot read the metadata file: {str(exc).splitlines()[0]}"
        ) from None
    names = [n.strip() for n in table.column_names]
    table = table.rename_columns(names)
    check_columns(path, names, required=("curve_key",), csv=csv)
    if csv:
        table = check_values(path, table, 1, csv=True)
    if "x" in names or "y" in names:
        raise IngestError(path, "a metadata file holds one row per curve, without x or y columns")
    columns = [c for c in names if c in METADATA]
    texts = {c: pc.cast(table.column(c), pa.string()).to_pylist() for c in ["curve_key", *columns]}
    out: dict[str, tuple[int, dict]] = {}
    for i, key in enumerate(texts["curve_key"]):
        row = i + 1
        if not key or not key.strip():
            raise IngestError(path, "the curve key is empty", row=row, column="curve_key", csv=csv)
        if key in out:
            raise IngestError(
                path,
                f"curve {key!r} is listed twice (first at row {out[key][0]})",
                row=row,
                column="curve_key",
                csv=csv,
            )
        try:
            meta = normalize({c: texts[c][i] or "" for c in columns})
        except BadValue as exc:
            raise IngestError(path, exc.message, row=row, column=exc.column, csv=csv) from None
        out[key] = (row, meta)
    return out
