"""Turn streamed long-format rows (curve_key, x, y, metadata...) into validated curve batches.

Rows of one curve must be contiguous; a key that comes back later is a duplicate. Per-curve
metadata may sit on every row (it must then be the same on every row of the curve) or in a
separate metadata table keyed by ``curve_key``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.times import ACCEPTED, TimeInputError, parse_time
from pipelines.batch import CurveBatch
from pipelines.ingest.columns import METADATA, METADATA_TEXT, METADATA_TIME, result_of
from pipelines.ingest.errors import IngestError
from pipelines.ingest.limits import MIN_POINTS
from pipelines.ingest.readers import Chunk
from pipelines.quantize import choose_step, to_codes

WRITE_TIMES = "Write times as ISO 8601, e.g. 2026-11-25T14:03:00Z or 2026-11-25 14:03"


class BadValue(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


def normalize(meta: dict[str, str]) -> dict:
    """Canonical per-curve values: result as OK/NOK/UNKNOWN, times as UTC timestamps (ISO 8601
    only, read by :func:`models.times.parse_time`; a time without an offset is UTC)."""
    out: dict = dict(meta)
    if "result" in meta:
        result = result_of(meta["result"])
        if result is None:
            raise BadValue(
                "result",
                f"{meta['result']!r} is not a result; use OK or NOK (or PASS/FAIL, IO/NIO, "
                "i.O./n.i.O.)",
            )
        out["result"] = result
    for column in METADATA_TIME:
        text = (meta.get(column) or "").strip()
        if column not in meta:
            continue
        if not text:
            del out[column]
            continue
        try:
            moment = parse_time(text)  # strict: 11.12.2026 is refused, never guessed
        except TimeInputError as exc:
            raise BadValue(column, str(exc).replace(ACCEPTED, WRITE_TIMES)) from None
        out[column] = pd.Timestamp(moment)
    return out


@dataclass
class Curve:
    """One curve being assembled: its samples in pieces, its per-curve values as text."""

    key: str
    row: int  # first data row
    xs: list[np.ndarray]
    ys: list[np.ndarray]
    meta: dict[str, str]
    column: str = "curve_key"  # where the curve is named: a wide file's header names it

    @property
    def size(self) -> int:
        return sum(len(a) for a in self.xs)


@dataclass
class Assembler:
    """Consumes chunks of one file and yields :class:`CurveBatch` objects."""

    path: Path
    csv: bool
    metadata: dict[str, tuple[int, dict[str, str]]] | None = None
    metadata_path: Path | None = None
    batch_points: int = 4_000_000
    ingested_at: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    seen: dict[str, int] = field(default_factory=dict)

    def error(self, message: str, row: int | None = None, column: str | None = None) -> IngestError:
        return IngestError(self.path, message, row=row, column=column, csv=self.csv)

    # -- row level -------------------------------------------------------------------------

    def _check_values(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        out = []
        for column in ("x", "y"):
            values = chunk.table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
            bad = ~np.isfinite(values)
            if bad.any():
                i = int(np.argmax(bad))
                what = "is infinite" if np.isinf(values[i]) else "is empty or NaN"
                raise self.error(
                    f"the value {what}; x and y must be finite numbers",
                    chunk.first_row + i,
                    column,
                )
            out.append(values)
        return out[0], out[1]

    def _runs(self, chunk: Chunk) -> tuple[np.ndarray, list[str]]:
        keys = chunk.table.column("curve_key").combine_chunks()
        if keys.null_count:
            i = pc.index(pc.is_null(keys), True).as_py()
            raise self.error("the curve key is empty", chunk.first_row + i, "curve_key")
        if self.csv:
            blank = pc.and_(
                pc.equal(keys, ""),
                pc.and_(pc.is_null(chunk.table.column("x")), pc.is_null(chunk.table.column("y"))),
            )
            if pc.any(blank).as_py():
                i = pc.index(blank, True).as_py()
                raise self.error("the line is empty; remove blank lines", chunk.first_row + i)
        if not pa.types.is_string(keys.type):
            keys = pc.cast(keys, pa.string())
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(keys)), 0)
        if pc.any(empty).as_py():
            i = pc.index(empty, True).as_py()
            raise self.error("the curve key is empty", chunk.first_row + i, "curve_key")
        encoded = pc.dictionary_encode(keys)
        codes = encoded.indices.to_numpy()
        starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1]).astype(np.int64)
        names = encoded.dictionary.take(pa.array(codes[starts])).to_pylist()
        return starts, names

    def _inline_meta(self, chunk: Chunk, starts: np.ndarray) -> list[dict[str, str]]:
        table, n = chunk.table, chunk.table.num_rows
        present = [c for c in METADATA if c in table.column_names]
        metas: list[dict[str, str]] = [{} for _ in starts]
        if not present:
            return metas
        lengths = np.diff(np.append(starts, n))
        first_of_row = pa.array(np.repeat(starts, lengths))
        for column in present:
            # A missing value (null) is the empty string, so null == null within a curve.
            values = pc.fill_null(pc.cast(table.column(column).combine_chunks(), pa.string()), "")
            same = pc.equal(values, values.take(first_of_row))
            if not pc.all(same).as_py():
                i = pc.index(same, False).as_py()
                raise self.error(
                    "per-curve metadata changes within one curve; every row of a curve must "
                    "carry the same value",
                    chunk.first_row + i,
                    column,
                )
            firsts = values.take(pa.array(starts)).to_pylist()
            for meta, value in zip(metas, firsts, strict=True):
                meta[column] = value
        return metas

    # -- curve level -----------------------------------------------------------------------

    def curves(self, chunks: Iterable[Chunk]) -> Iterator[Curve]:
        pending: Curve | None = None
        for chunk in chunks:
            if chunk.table.num_rows == 0:
                continue
            starts, names = self._runs(chunk)
            x, y = self._check_values(chunk)
            metas = self._inline_meta(chunk, starts)
            ends = np.append(starts[1:], len(x))
            for run, (s, e, key, meta) in enumerate(zip(starts, ends, names, metas, strict=True)):
                row = chunk.first_row + int(s)
                if run == 0 and pending is not None and pending.key == key:
                    if meta != pending.meta:
                        raise self.error("per-curve metadata changes within one curve", row, None)
                    pending.xs.append(x[s:e])
                    pending.ys.append(y[s:e])
                    continue
                if pending is not None:
                    yield self._finish(pending)
                if key in self.seen:
                    raise self.error(
                        f"curve {key!r} appears again; its rows began at row {self.seen[key]}. "
                        "Curve keys must be unique and the rows of a curve contiguous",
                        row,
                        "curve_key",
                    )
                self.seen[key] = row
                pending = Curve(key, row, [x[s:e]], [y[s:e]], meta)
                if chunk.header_columns is not None:
                    pending.row, pending.column = 0, chunk.header_columns[key]
        if pending is not None:
            yield self._finish(pending)
        if not self.seen:
            raise self.error("the file has no data rows")
        if self.metadata is not None:
            orphans = [k for k in self.metadata if k not in self.seen]
            if orphans:
                row = self.metadata[orphans[0]][0]
                raise IngestError(
                    self.metadata_path or self.path,
                    f"curve {orphans[0]!r} has no samples (an empty curve)"
                    + (f"; {len(orphans) - 1} more like it" if len(orphans) > 1 else ""),
                    row=row,
                    column="curve_key",
                    csv=str(self.metadata_path).lower().endswith(".csv"),
                )

    def _finish(self, curve: Curve) -> Curve:
        try:
            finish_curve(curve)
        except BadValue as exc:
            raise self.error(exc.message, curve.row, exc.column) from None
        if self.metadata is not None:
            if curve.key not in self.metadata:
                raise self.error(
                    f"curve {curve.key!r} has no row in the metadata file", curve.row, curve.column
                )
            clash = set(curve.meta) & set(self.metadata[curve.key][1])
            if clash:
                raise self.error(
                    f"column {sorted(clash)[0]!r} is given in both the samples and the "
                    "metadata file",
                    curve.row,
                )
            curve.meta.update(self.metadata[curve.key][1])
        return curve

    # -- batches ---------------------------------------------------------------------------

    def batches(self, chunks: Iterable[Chunk]) -> Iterator[CurveBatch]:
        group: list[Curve] = []
        points = 0
        for curve in self.curves(chunks):
            group.append(curve)
            points += curve.size
            if points >= self.batch_points:
                yield self._batch(group)
                group, points = [], 0
        if group:
            yield self._batch(group)

    def _batch(self, group: list[Curve]) -> CurveBatch:
        return build_batch(group, ingested_at=self.ingested_at)


# -- shared by every source of curves (files here, MQTT messages in pipelines.live) ---------


def finish_curve(curve: Curve) -> Curve:
    """The checks every curve passes, whatever brought it: enough samples, and per-curve values
    normalised (:func:`normalize`). Raises :class:`BadValue` naming the column."""
    if curve.size < MIN_POINTS:
        raise BadValue(
            curve.column,
            f"curve {curve.key!r} has {curve.size} sample; a curve needs at least {MIN_POINTS}",
        )
    curve.meta = normalize(curve.meta)
    return curve


def _meta_row(curve: Curve, ingested_at: pd.Timestamp) -> dict:
    meta = curve.meta
    row: dict = {"curve_key": curve.key}
    for column in METADATA_TEXT:
        row[column] = meta.get(column, "")
    row["result"] = meta.get("result", "UNKNOWN")
    row["started_at"] = meta.get("started_at", ingested_at)
    row["ended_at"] = meta.get("ended_at", row["started_at"])
    return row


def build_batch(group: list[Curve], *, ingested_at: pd.Timestamp) -> CurveBatch:
    """Finished curves as one :class:`CurveBatch` (quantised samples, one metadata row each);
    a curve without ``started_at`` started when it was ingested."""
    rows, xs, ys = [], [], []
    for curve in group:
        row = _meta_row(curve, ingested_at)
        x = np.concatenate(curve.xs) if len(curve.xs) > 1 else curve.xs[0]
        y = np.concatenate(curve.ys) if len(curve.ys) > 1 else curve.ys[0]
        row["x_step"], row["y_step"] = choose_step(x), choose_step(y)
        xs.append(to_codes(x, row["x_step"]))
        ys.append(to_codes(y, row["y_step"]))
        rows.append(row)
    return CurveBatch.from_curves(rows, xs, ys)
