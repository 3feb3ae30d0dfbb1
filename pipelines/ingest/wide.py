"""The wide layout: one column pair per curve, as an Excel sheet holds curves side by side.

The one wide layout read (CSV only, ``,`` or ``;`` separated, decimals as in
:mod:`pipelines.ingest.dialect`):

- line 1 names every column ``<curve>_x`` or ``<curve>_y`` (suffix in either case), in
  adjacent pairs, ``_x`` first, both of one pair with the same ``<curve>``, which becomes the
  curve key; each curve once, and no other columns;
- line N (from 2) holds each curve's (N-1)-th sample; a shorter curve leaves both cells of its
  pair empty from its end on; a curve has no gaps and at least two samples;
- per-curve values (station, result, started_at...) cannot sit in this layout: give them in a
  metadata file keyed by ``curve_key`` (``curve_key`` is the ``<curve>`` of line 1).

A wide file is read whole (its curves run down the whole file), so it may be at most
:data:`~pipelines.ingest.limits.MAX_WIDE_BYTES`; the long layout streams.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import pipelines.ingest.limits as limits
from pipelines.ingest.dialect import NumberReader
from pipelines.ingest.errors import IngestError

WIDE_NAME = re.compile(r"^(?P<curve>.*)_(?P<axis>[xXyY])$")
EXPECTED = (
    "the wide layout is one header line of column pairs <curve>_x, <curve>_y (x first, one "
    "pair per curve, nothing else), then one sample per line"
)
_CHUNK_POINTS = 1 << 20


def looks_wide(names: Sequence[str]) -> bool:
    """Whether a header means the wide layout: no ``curve_key`` and every name ends in
    ``_x`` or ``_y``."""
    return bool(names) and "curve_key" not in names and all(WIDE_NAME.match(n) for n in names)


def pairs_of(path: Path, names: list[str]) -> list[tuple[str, str, str]]:
    """``(curve key, x column, y column)`` of each pair, or the header's first problem."""
    if len(names) > limits.MAX_WIDE_COLUMNS:
        raise IngestError(
            path,
            f"the header has {len(names):,} columns; a wide file may have at most "
            f"{limits.MAX_WIDE_COLUMNS:,} ({limits.MAX_WIDE_COLUMNS // 2:,} curves)",
            row=0,
            csv=True,
        )
    pairs, seen = [], {}
    for i in range(0, len(names), 2):
        first = WIDE_NAME.match(names[i])
        if first is None or first["axis"].lower() != "x":
            raise IngestError(
                path,
                f"expected a column <curve>_x here; {EXPECTED}",
                row=0,
                column=names[i],
                csv=True,
            )
        key = first["curve"]
        if i + 1 == len(names):
            raise IngestError(
                path,
                f"curve {key!r} has no {key}_y column after it; {EXPECTED}",
                row=0,
                column=names[i],
                csv=True,
            )
        second = WIDE_NAME.match(names[i + 1])
        if second is None or second["axis"].lower() != "y" or second["curve"] != key:
            raise IngestError(
                path,
                f"expected {key + '_y'!r} next to {names[i]!r}; {EXPECTED}",
                row=0,
                column=names[i + 1],
                csv=True,
            )
        if not key.strip():
            raise IngestError(
                path, "the curve name before _x is empty", row=0, column=names[i], csv=True
            )
        if key in seen:
            raise IngestError(
                path,
                f"curve {key!r} has two column pairs (the first is {seen[key]!r})",
                row=0,
                column=names[i],
                csv=True,
            )
        seen[key] = names[i]
        pairs.append((key, names[i], names[i + 1]))
    return pairs


def _first(mask: pa.Array | np.ndarray) -> int:
    return int(np.argmax(np.asarray(mask)))


def curve_of(
    path: Path, table: pa.Table, numbers: NumberReader, pair: tuple[str, str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """One pair's samples, checked: both cells or neither, no gaps, finite, at least two."""
    key, x_name, y_name = pair
    x = numbers.read(table.column(x_name).combine_chunks(), 1, x_name)
    y = numbers.read(table.column(y_name).combine_chunks(), 1, y_name)
    has_x = pc.is_valid(x).to_numpy(zero_copy_only=False)
    has_y = pc.is_valid(y).to_numpy(zero_copy_only=False)
    if (has_x != has_y).any():
        i = _first(has_x != has_y)
        empty = y_name if has_x[i] else x_name
        raise IngestError(
            path,
            f"the value is empty, but the other of curve {key!r}'s pair has one; both cells "
            "of a pair are filled, or both are empty after the curve's end",
            row=i + 1,
            column=empty,
            csv=True,
        )
    size = _first(~has_x) if not has_x.all() else len(has_x)
    if has_x[size:].any():
        i = size + _first(has_x[size:])
        raise IngestError(
            path,
            f"curve {key!r} goes on after an empty line {size + 2}; a curve's samples fill "
            "its pair from line 2 without gaps",
            row=i + 1,
            column=x_name,
            csv=True,
        )
    if size < limits.MIN_POINTS:
        raise IngestError(
            path,
            f"curve {key!r} has {size} sample{'' if size == 1 else 's'}; a curve needs at "
            f"least {limits.MIN_POINTS}",
            row=0,
            column=x_name,
            csv=True,
        )
    xs = x.to_numpy(zero_copy_only=False)[:size]
    ys = y.to_numpy(zero_copy_only=False)[:size]
    for values, name in ((xs, x_name), (ys, y_name)):
        bad = ~np.isfinite(values)
        if bad.any():
            i = _first(bad)
            what = "is infinite" if np.isinf(values[i]) else "is NaN"
            raise IngestError(
                path,
                f"the value {what}; x and y must be finite numbers",
                row=i + 1,
                column=name,
                csv=True,
            )
    return xs, ys


def long_tables(
    path: Path, table: pa.Table, numbers: NumberReader, pairs: list[tuple[str, str, str]]
) -> Iterator[tuple[pa.Table, int]]:
    """The wide table as long ``curve_key, x, y`` tables of about a million samples each,
    with how many curves are done after each."""
    keys: list[str] = []
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    points = 0
    for done, pair in enumerate(pairs, start=1):
        x, y = curve_of(path, table, numbers, pair)
        keys.append(pair[0])
        xs.append(x)
        ys.append(y)
        points += len(x)
        if points >= _CHUNK_POINTS or done == len(pairs):
            sizes = [len(a) for a in xs]
            yield (
                pa.table(
                    {
                        "curve_key": pa.array(np.repeat(np.array(keys, dtype=object), sizes)),
                        "x": np.concatenate(xs),
                        "y": np.concatenate(ys),
                    }
                ),
                done,
            )
            keys, xs, ys, points = [], [], [], 0
