"""Hot curves: a filter's stored samples held in memory, so zooming and panning it draw without
the engine.

Exploring is many views of one filter. The first view loads every matching curve's samples
once, as the integer codes the store holds, in fewer bytes (:mod:`pipelines.kernels.compact`:
x as one-byte steps, y relative to each curve's middle in int16: 3 bytes a sample for the
demo's curves, against 4-6 as stored codes and 16 as float64 values), and each later view of
the same filter is one kernel pass over the curves it overlaps
(:func:`pipelines.density.density_and_drawn`, exact as before).
A filter whose samples would not fit the budget is not held: its views go to the engine, which
reduces them there (:mod:`pipelines.fetch`). Only a reader built with the memory-backed sample
source (:class:`pipelines.sources.MemorySamples`, the explorer's) asks this cache at all.

Each entry remembers the store's version (the committed datasets) it holds. A view after new
datasets were committed (an import, or the live listener's micro-batch every second) loads only
their curves and appends them: the held codes sit in buffers with room to grow, and what a held
:class:`HotCurves` shows never changes under it. Anything else (a deletion, a dataset moved in)
loads the filter again. The least recently used entries leave first.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from models.identifiers import identifier
from pipelines.frames import id_chunks, query_frame, query_table
from pipelines.kernels.compact import from_deltas, middles, relative, to_deltas
from pipelines.quantize import codes_fit_int16
from pipelines.schema import STORED_ORDER
from pipelines.views import AXIS_COLUMNS, COLOR_COLUMNS, FILTER_COLUMNS, META_COLUMNS, CurveFilter

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

# Extents decide which curves a view overlaps, without asking the engine.
EXTENTS = ("point_count", "x_min", "x_max", "y_min", "y_max")
# With every filter column and the start time, a narrower filter is picked out in memory.
HOT_COLUMNS = tuple(
    dict.fromkeys(
        (*META_COLUMNS, *AXIS_COLUMNS, *COLOR_COLUMNS, *FILTER_COLUMNS, "started_at", *EXTENTS)
    )
)
BYTES_PER_SAMPLE_BOUND = 8  # int32 x and y: what a filter may need before narrowing
REMEMBERED = 12  # small derived results held beside the filters (the Overview's previews)
TOO_BIG_KEPT = 256  # filters remembered as too large to hold
# Curves per answer of a load. The engine's memory for an answer (decompressed columns, the
# Arrow result and its copy to Python) is what a load needs beyond the codes it keeps. Holding
# the 100k demo's three processes in one process (December 7, x as byte steps): 1,500 per
# answer peaked 217 MB above what stays, in 6.7 s for all three; 375 peaked 81 MB above, in
# 8.8 s; with three explorer sessions, `curvehouse serve` peaked at 2.14-2.19 GB against
# 1.97-1.98 GB. (4,000, the id limit, had peaked 0.55-0.76 GB above with the old layout.) A
# small load is someone's first view waiting: the 10k demo's first views took 324-420 ms at
# 375 against 284-309 at 1,500, so only loads above LARGE_LOAD_SAMPLES ask for fewer.
LOAD_CHUNK = 1_500
LARGE_LOAD_CHUNK = 375
LARGE_LOAD_SAMPLES = 20_000_000
# An engine in this process keeps what its answers took for the next ones: given back every
# few answers of a load (HotCache's ``after_load``), not only at its end. Every answer instead
# of every fourth: the same peak, the load a third slower.
RELEASE_EVERY = 4
# A first load this large is read in two steps: a quarter of its samples first (at most
# PREVIEW_MAX_SAMPLES), handed out for a first picture, then the rest. The share is runs of
# PREVIEW_RUN curves neighbouring in the store, spread over the filter: the engine reads whole
# granules of 256 curves, and a share of curves scattered over them read nearly every one.
PREVIEW_MIN_SAMPLES = 2_000_000
PREVIEW_SHARE = 0.25
PREVIEW_MAX_SAMPLES = 2_000_000
PREVIEW_RUN = 256


@dataclass(frozen=True)
class HotCurves:
    """One filter's curves: metadata, and codes in Arrow's list layout with per-curve steps."""

    meta: pd.DataFrame  # one row per curve, in the order of ``offsets``
    offsets: np.ndarray  # int64, length C+1
    # x: int8 steps from the sample before when ``x_first`` is given (:mod:`.kernels.compact`),
    # else int16 or int32 codes; y: int16 or int32 codes, relative to ``y_base`` when given.
    x: np.ndarray
    y: np.ndarray
    steps: np.ndarray  # float64 (2, C): x and y step per curve; value = code * step
    where: CurveFilter = field(default_factory=CurveFilter)  # whose curves these are
    # A narrower filter's curves among them (ascending indices; None: all of them). They are
    # drawn from the same arrays, with no copy.
    rows: np.ndarray | None = None
    x_first: np.ndarray | None = None  # int64 per curve: its first x code (x holds steps)
    x_last: np.ndarray | None = None  # and its last (a cut to a view walks back from it)
    y_base: np.ndarray | None = None  # int64 per curve: what its y codes are relative to

    @property
    def nbytes(self) -> int:
        return int(self.x.nbytes + self.y.nbytes + self.per_curve_bytes)

    @property
    def per_curve_bytes(self) -> int:
        """What the offsets, steps and bases take."""
        extra = (self.x_first, self.x_last, self.y_base)
        return int(
            self.offsets.nbytes + self.steps.nbytes + sum(a.nbytes for a in extra if a is not None)
        )

    def codes(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Curve ``i``'s x and y codes as stored (int64), whatever form they are held in."""
        s, e = int(self.offsets[i]), int(self.offsets[i + 1])
        x = self.x[s:e].astype(np.int64)
        if self.x_first is not None:
            from_deltas(self.x[s:e], np.array([0, e - s], np.int64), self.x_first[i : i + 1], x)
        y = self.y[s:e].astype(np.int64)
        return x, y if self.y_base is None else y + self.y_base[i]

    @property
    def chosen(self) -> pd.DataFrame:
        """The metadata of this filter's curves."""
        return self.meta if self.rows is None else self.meta.iloc[self.rows]

    def narrowed(self, where: CurveFilter) -> HotCurves:
        """The curves of ``where``, a filter that :meth:`~CurveFilter.narrows` the held one."""
        return replace(self, where=where, rows=np.flatnonzero(where.matching(self.meta)))

    def overlapping(self, x_range, y_range) -> np.ndarray:
        """Indices of the curves whose extents meet the view: the ones a view draws."""
        (x0, x1), (y0, y1) = x_range, y_range
        m = self.chosen
        inside = (
            (m["x_max"].to_numpy() >= x0)
            & (m["x_min"].to_numpy() <= x1)
            & (m["y_max"].to_numpy() >= y0)
            & (m["y_min"].to_numpy() <= y1)
        )
        return np.flatnonzero(inside) if self.rows is None else self.rows[inside]


# Told the curves read so far of a load and the metadata of every curve it will hold.
Partial = Callable[[HotCurves, pd.DataFrame], None]


class _Codes:
    """One axis's codes, gathered answer by answer into one array: int16 while every code
    fits, int32 from the first that does not. With ``relative``, each curve's codes are held
    minus the middle of its range (:meth:`bases`): a press-fit force curve spans fewer than
    2**16 codes but lies above 2**15, so it fits int16 that way (half its bytes). Each answer
    is copied in and let go before the next is asked for, so loading needs the held size plus
    one answer, not three times it.

    Codes are only ever appended past what :meth:`held` gave out, and a buffer that must grow
    or widen is a new one, so an array handed out before never changes."""

    def __init__(self, total: int, *, relative: bool = False) -> None:
        self.values = np.empty(total, dtype=np.int16)
        self.filled = 0
        self.relative = relative
        self._bases: list[np.ndarray] = []

    def add(self, codes: np.ndarray, offsets: np.ndarray) -> None:
        """One answer's codes, its curves at ``offsets`` (from 0)."""
        if self.relative:
            bases, widest = middles(codes, offsets)
            self._bases.append(bases)
            wide = widest >= 2**15
        else:
            wide = len(codes) and (codes.min() < -(2**15) or codes.max() >= 2**15)
        end = self.filled + len(codes)
        _grown(self, end, np.int32 if wide else self.values.dtype)
        if self.relative:
            relative(codes, offsets, bases, self.values[self.filled : end])
        else:
            self.values[self.filled : end] = codes
        self.filled = end

    def held(self) -> np.ndarray:
        return self.values[: self.filled]

    def bases(self) -> np.ndarray | None:
        """Per curve, what its held codes are relative to (None: absolute codes)."""
        return _joined(self._bases) if self.relative else None


class _Steps:
    """x codes as int8 steps from the sample before, with each curve's first and last code:
    a byte a sample where :class:`_Codes` takes two. False from :meth:`add` once a step does
    not fit; :meth:`as_codes` then gives what is held as codes, to carry on with."""

    def __init__(self, total: int) -> None:
        self.values = np.empty(total, dtype=np.int8)
        self.filled = 0
        self._firsts: list[np.ndarray] = []
        self._lasts: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []

    def add(self, codes: np.ndarray, offsets: np.ndarray) -> bool:
        end = self.filled + len(codes)
        _grown(self, end, np.int8)
        n = len(offsets) - 1
        firsts, lasts = np.empty(n, np.int64), np.empty(n, np.int64)
        if not to_deltas(codes, offsets, self.values[self.filled : end], firsts, lasts):
            return False
        self._firsts.append(firsts)
        self._lasts.append(lasts)
        self._lengths.append(np.diff(offsets))
        self.filled = end
        return True

    def held(self) -> np.ndarray:
        return self.values[: self.filled]

    def firsts(self) -> np.ndarray:
        return _joined(self._firsts)

    def lasts(self) -> np.ndarray:
        return _joined(self._lasts)

    def as_codes(self) -> _Codes:
        codes = np.empty(self.filled, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(_joined(self._lengths))]).astype(np.int64)
        from_deltas(self.values, offsets, self.firsts(), codes)
        axis = _Codes(len(self.values))
        axis.add(codes, offsets)
        return axis


def _grown(axis: _Codes | _Steps, end: int, dtype) -> None:
    """Room in ``axis.values`` for codes up to ``end``, of ``dtype``: a new buffer if needed."""
    if end > len(axis.values) or dtype != axis.values.dtype:
        room = end if end <= len(axis.values) else end + end // 8  # appends to come
        grown = np.empty(max(room, len(axis.values)), dtype=dtype)
        grown[: axis.filled] = axis.values[: axis.filled]
        axis.values = grown


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def load(client: Client, database: str, where: CurveFilter) -> HotCurves | None:
    """Every curve matching ``where``, with its samples as stored; None when nothing matches."""
    held = _fetch(client, database, where)
    return None if held is None else held.hot


@dataclass
class _Held:
    """A cache entry: a filter's curves, the buffers later curves are appended to, and the
    store's version they hold."""

    hot: HotCurves
    x: _Codes | _Steps
    y: _Codes
    version: tuple = ()

    @property
    def nbytes(self) -> int:  # the buffers' room counts: it is memory taken
        return int(self.x.values.nbytes + self.y.values.nbytes + self.hot.per_curve_bytes)


def _fetch(
    client: Client,
    database: str,
    where: CurveFilter,
    *,
    datasets: list[uuid.UUID] | None = None,
    after: _Held | None = None,
    partial: Partial | None = None,
    release: Callable[[Client], None] | None = None,
) -> _Held | None:
    """The curves of ``where`` (only those of ``datasets`` when given), appended to ``after``'s
    buffers when given (curves it holds already are skipped); None when no curve is added.
    ``partial(so_far, whole)``: called once, after a first share of the curves is read (a load
    of at least :data:`PREVIEW_MIN_SAMPLES`), with those curves and every matching curve's
    metadata, so a first picture can be drawn while the rest load. ``release(client)``: run
    every :data:`RELEASE_EVERY` answers (an engine in this process gives back what they took)."""
    db = identifier(database)
    sql, params = where.where()
    if datasets is not None:
        sql, params = (
            f"({sql}) AND dataset_id IN {{datasets:Array(UUID)}}",
            {
                **params,
                "datasets": datasets,
            },
        )
    columns = [*HOT_COLUMNS, "x_step", "y_step"]
    meta = query_frame(
        client,
        f"SELECT {', '.join(columns)} FROM {db}.curves WHERE {sql} ORDER BY {STORED_ORDER}",
        columns,
        params,
    )
    if after is not None:  # committed while the held ones were read: held already
        meta = meta[~meta["curve_id"].isin(after.hot.meta["curve_id"])]
    if meta.empty:
        return None
    total = int(meta["point_count"].sum())
    if after is not None:
        x, y = after.x, after.y
    else:
        x, y = _Steps(total), _Codes(total, relative=True)
    lengths, fetched, steps = [], [], []
    first = preview_at = 0
    if partial is not None and after is None:
        meta, preview_at = _preview_first(meta)
    answer = LARGE_LOAD_CHUNK if total > LARGE_LOAD_SAMPLES else LOAD_CHUNK
    for ids in _chunks(meta["curve_id"].tolist(), preview_at, answer):
        if first and first == preview_at and fetched:
            so_far = _assembled(meta, fetched, lengths, steps, x, y, where, None)
            partial(so_far.hot, meta)
        chosen = meta.iloc[first : first + len(ids)]
        first += len(ids)
        # Codes the curves' extents show to be small travel as int16: half the answer.
        xs, ys = (
            f"CAST({a} AS Array(Int16))" if codes_fit_int16(chosen, a) else a for a in ("x", "y")
        )
        sql = (
            f"SELECT curve_id, x_step, y_step, {xs} AS xs, {ys} AS ys FROM {db}.curve_samples "
            "WHERE curve_id IN {ids:Array(UInt64)}"
        )
        part = query_table(client, sql, {"ids": ids})
        if part is None or not part.num_rows:
            continue
        xs, ys = (part.column(c).combine_chunks() for c in ("xs", "ys"))
        offsets = xs.offsets.to_numpy().astype(np.int64)
        offsets -= offsets[0]
        if isinstance(x, _Steps) and not x.add(_values(xs), offsets):
            x = x.as_codes()  # a step beyond a byte: these curves are held as codes
        if isinstance(x, _Codes):
            x.add(_values(xs), offsets)
        y.add(_values(ys), offsets)
        lengths.append(np.diff(offsets))
        fetched.append(part.column("curve_id").to_numpy())
        steps.append([part.column("x_step").to_numpy(), part.column("y_step").to_numpy()])
        del part, xs, ys  # the answer's memory goes back before the next is asked for
        if release is not None and len(fetched) % RELEASE_EVERY == 0:
            release(client)
    if not fetched:
        return None
    return _assembled(meta, fetched, lengths, steps, x, y, where, after)


def _assembled(
    meta: pd.DataFrame,
    fetched: list[np.ndarray],
    lengths: list[np.ndarray],
    steps: list,
    x: _Codes,
    y: _Codes,
    where: CurveFilter,
    after: _Held | None,
) -> _Held:
    """The curves read so far (``fetched``, answer by answer), after ``after``'s if given."""
    meta = meta.set_index("curve_id").loc[np.concatenate(fetched)].reset_index()
    steps = np.hstack(steps)
    base = 0
    if after is not None:
        held = after.hot
        base = int(held.offsets[-1])
        meta = pd.concat([held.meta, meta], ignore_index=True)
        steps = np.hstack([held.steps, steps])
    ends = np.cumsum(np.concatenate(lengths)) + base
    offsets = np.concatenate(
        [after.hot.offsets if after is not None else np.zeros(1, np.int64), ends]
    )
    stepped = isinstance(x, _Steps)
    hot = HotCurves(
        meta=meta,
        offsets=offsets.astype(np.int64, copy=False),
        x=x.held(),
        y=y.held(),
        steps=np.ascontiguousarray(steps, dtype=np.float64),
        where=where,
        x_first=x.firsts() if stepped else None,
        x_last=x.lasts() if stepped else None,
        y_base=y.bases(),
    )
    return _Held(hot, x, y)


def _preview_first(meta: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``meta`` (in :data:`STORED_ORDER`) reordered so the first share read comes first, and
    how many curves it has: about :data:`PREVIEW_SHARE` of the samples, at most
    :data:`PREVIEW_MAX_SAMPLES`, taken as every k-th run of :data:`PREVIEW_RUN` neighbouring
    curves so it spans the filter's stations and times. 0 (no share) for a load too small to
    need one."""
    counts = meta["point_count"].to_numpy()
    total = int(counts.sum())
    if total < PREVIEW_MIN_SAMPLES:
        return meta, 0
    share = min(total * PREVIEW_SHARE, PREVIEW_MAX_SAMPLES)
    stride = max(1, int(total // share))
    runs = np.arange(len(counts)) // PREVIEW_RUN
    candidates = np.flatnonzero(runs % stride == 0)
    chosen = candidates[: int(np.searchsorted(np.cumsum(counts[candidates]), share)) + 1]
    if len(chosen) == len(counts):
        return meta, 0
    rest = np.setdiff1d(np.arange(len(counts)), chosen, assume_unique=True)
    return meta.iloc[np.concatenate([chosen, rest])].reset_index(drop=True), len(chosen)


def _chunks(ids: list[int], first: int, size: int) -> Iterator[list[int]]:
    """``ids`` in bound lists of at most ``size`` (:func:`~pipelines.frames.id_chunks`), the
    first ``first`` of them apart (none when 0)."""
    yield from id_chunks(ids[:first], size)
    yield from id_chunks(ids[first:], size)


def _values(lists: pa.ListArray) -> np.ndarray:
    return lists.flatten().to_numpy(zero_copy_only=False)


def store_version(client: Client, database: str) -> tuple:
    """Changes whenever an import, a demo run or a clean-up commits (see ``pipelines.store``):
    the datasets' count, their curves, and the newest one's commit time."""
    row = client.query(
        f"SELECT count(), sum(curve_count), max(created_at) FROM {identifier(database)}.datasets"
    ).result_rows[0]
    return tuple(row)


def additions(client: Client, database: str, since: tuple) -> tuple[list[uuid.UUID] | None, tuple]:
    """The datasets committed after the store's version ``since``, when nothing else changed
    (every dataset of ``since`` is still there and none older came in), else None; and the
    store's version now."""
    count, curves, newest = since
    t = "{t:DateTime64(3, 'UTC')}"
    row = client.query(
        f"SELECT countIf(created_at <= {t}), sumIf(curve_count, created_at <= {t}), "
        f"groupArrayIf(dataset_id, created_at > {t}), count(), sum(curve_count), max(created_at) "
        f"FROM {identifier(database)}.datasets",
        parameters={"t": newest},
    ).result_rows[0]
    now = tuple(row[3:])
    if newest is None or (row[0], row[1]) != (count, curves):
        return None, now
    return list(row[2]), now


T = TypeVar("T")


class HotCache:
    """Filters' samples in memory, up to ``budget_bytes`` in all, shared by the sessions of a
    process (each entry is read-only)."""

    def __init__(
        self, budget_bytes: int, *, after_load: Callable[[Client], None] | None = None
    ) -> None:
        """``after_load(client)`` runs after each load: an engine in this process gives back
        the memory its reads kept (:meth:`providers.engines.base.Engine.release_memory`)."""
        self.budget = int(budget_bytes)
        self._after_load = after_load
        self._entries: OrderedDict[tuple, _Held] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple, threading.Lock] = {}
        # Filters known not to fit, with the store's curve count then: asked again only once
        # the store holds fewer curves (more only makes them larger). The newest are kept.
        self._too_big: OrderedDict[tuple, int] = OrderedDict()
        self._remembered: OrderedDict[tuple, object] = OrderedDict()
        self.loads = 0  # filters loaded from the engine so far (a held view loads nothing)
        self.appends = 0  # times curves committed since were added to a held filter

    def get(
        self,
        client: Client,
        database: str,
        where: CurveFilter,
        *,
        scope: str = "",
        partial: Partial | None = None,
    ) -> HotCurves | None:
        """The filter's curves, loaded on first use; None when they would not fit the budget
        (or nothing matches), so the caller asks the engine instead. A filter narrower than a
        held one (a station, a result or a time window of a held process) is picked out of
        it, not loaded. Curves committed since a filter was loaded are added to it first.
        ``scope`` names the deployment ``client`` reaches (a project's home): two homes may
        hold databases of the same name, and one budget serves them all. ``partial``: for a
        filter loaded now, what :func:`_fetch` hands its first share of the curves to."""
        if self.budget <= 0 or where.judged:  # verdicts change without a commit: never held
            return None
        sql, params = where.where()
        version = store_version(client, database)
        key = (scope, database, sql, repr(sorted(params.items())))
        with self._lock:
            if self._too_big.get(key, -1) > (version[1] or 0):
                self._too_big.pop(key)  # curves were deleted: it may fit now
            if key in self._too_big:
                return None
            found = key if key in self._entries else self._wider(key, where)
        if found is not None:
            held = self._current(found, client, database, version)
            if held is not None and found == key:
                return held.hot
            if held is not None:
                narrowed = held.hot.narrowed(where)
                return narrowed if len(narrowed.rows) else None
        return self._load(key, client, database, where, version, partial)

    def _load(
        self,
        key: tuple,
        client: Client,
        database: str,
        where: CurveFilter,
        version: tuple,
        partial: Partial | None = None,
    ) -> HotCurves | None:
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per filter, however many sessions ask at once
            try:
                with self._lock:
                    if key in self._entries:
                        return self._entries[key].hot
                sql, params = where.where()
                if not self._fits(client, database, sql, params):
                    with self._lock:
                        self._too_big[key] = version[1] or 0
                        while len(self._too_big) > TOO_BIG_KEPT:
                            self._too_big.popitem(last=False)
                    return None
                held = _fetch(client, database, where, partial=partial, release=self._after_load)
                self.loads += 1
                if self._after_load is not None:
                    self._after_load(client)
                if held is None:
                    return None
                held.version = version  # read before the load: later commits are added
                kept = self._keep(key, held)
                return None if kept is None else kept.hot
            finally:
                with self._lock:
                    self._loading.pop(key, None)

    def _current(self, key: tuple, client: Client, database: str, version: tuple) -> _Held | None:
        """The entry ``key`` at the store's ``version``: the datasets committed since it was
        read are added to it (one at a time per entry); None when it had to go (something
        other than new datasets changed, or it outgrew the budget)."""
        with self._lock:
            held = self._entries.get(key)
            if held is None or held.version == version:
                if held is not None:
                    self._entries.move_to_end(key)
                return held
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            try:
                with self._lock:
                    held = self._entries.get(key)
                if held is None or held.version == version:  # another session added them
                    return held
                new, now = additions(client, database, held.version)
                if new is None:  # a deletion, or a dataset moved in: load it again
                    with self._lock:
                        self._entries.pop(key, None)
                    return None
                grown = (
                    _fetch(client, database, held.hot.where, datasets=new, after=held)
                    if new
                    else None
                )
                self.appends += grown is not None
                return self._keep(key, replace(grown or held, version=now))
            finally:
                with self._lock:
                    self._loading.pop(key, None)

    def _keep(self, key: tuple, held: _Held) -> _Held | None:
        """Hold ``held`` under ``key``, the least recently used others leaving to make room."""
        with self._lock:
            if held.nbytes > self.budget:
                self._entries.pop(key, None)
                return None
            self._entries[key] = held
            self._entries.move_to_end(key)
            while sum(e.nbytes for e in self._entries.values()) > self.budget:
                self._entries.popitem(last=False)
        return held

    def _wider(self, key: tuple, where: CurveFilter) -> tuple | None:
        """The held filter with the fewest curves that ``where`` narrows, in the same home and
        database (the caller holds the lock)."""
        held = [
            (len(e.hot.meta), k)
            for k, e in self._entries.items()
            if k[:2] == key[:2] and where.narrows(e.hot.where)
        ]
        return min(held, default=(0, None))[1]

    def remember(
        self, client: Client, database: str, key: tuple, make: Callable[[], T], *, scope: str = ""
    ) -> T:
        """``make()``, kept until the store's version changes: a small result every session
        shows alike, such as the Overview's previews of the newest curves (fetched and drawn,
        about 0.8 s of each page). The last :data:`REMEMBERED` are held, outside the budget."""
        full = (scope, database, key, store_version(client, database))
        with self._lock:
            if full in self._remembered:
                self._remembered.move_to_end(full)
                return self._remembered[full]
        value = make()
        with self._lock:
            self._remembered[full] = value
            while len(self._remembered) > REMEMBERED:
                self._remembered.popitem(last=False)
        return value

    def warm(
        self, client: Client, database: str, filters: Iterable[CurveFilter], *, scope: str = ""
    ) -> int:
        """Load ``filters``, in order, while each still fits beside those held, so a person's
        first view of one is drawn from memory (a page opens on the largest process, and
        choosing another is then a view change, not a load). Returns how many are held."""
        held = 0
        for where in filters:
            sql, params = where.where()
            with self._lock:
                free = self.budget - sum(e.nbytes for e in self._entries.values())
            if self._samples(client, database, sql, params) * BYTES_PER_SAMPLE_BOUND > free:
                continue  # would push out a larger filter loaded before it
            held += self.get(client, database, where, scope=scope) is not None
        return held

    def _fits(self, client: Client, database: str, sql: str, params: dict) -> bool:
        return self._samples(client, database, sql, params) * BYTES_PER_SAMPLE_BOUND <= self.budget

    @staticmethod
    def _samples(client: Client, database: str, sql: str, params: dict) -> int:
        samples = client.query(
            f"SELECT sum(point_count) FROM {identifier(database)}.curves WHERE {sql}",
            parameters=params,
        ).result_rows[0][0]
        return int(samples or 0)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._too_big.clear()
