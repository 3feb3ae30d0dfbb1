"""One micro-batch of MQTT messages → one committed dataset per project, plus dead letters.

The commit is the import's (:meth:`pipelines.store.CurveStore.write`: staging, attach, the
``datasets`` row), so live curves are stored exactly as imported ones. Idempotency is per curve,
never per batch: after a listener restart the broker redelivers unacknowledged messages in
batches cut differently, so a curve whose key is stored with the same samples is a skipped
duplicate, and the same key with other samples a ``conflict`` dead letter.

Order, which is what "acknowledged only after its curve is committed" rests on: parse, commit
every project's curves, then record the dead letters; the caller acks after this returns. An
engine error raises before anything is recorded, so the caller acks nothing and retries the
batch, whose committed curves are then skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import pandas as pd

from pipelines.batch import curve_ids, fingerprints
from pipelines.ingest.assemble import Curve, build_batch
from pipelines.live.payload import (
    CONFLICT,
    NOT_ALLOWED,
    UNKNOWN_PROJECT,
    Parsed,
    Refusal,
    parse_message,
)
from pipelines.store import CurveStore, DatasetSpec, ImportConflictError

# What a dead letter keeps of the message: enough to see what was sent, never megabytes.
HEAD_BYTES = 4096
# A message whose commit the engine refuses though it answers (see commit_alone).
COMMIT_FAILED = "commit_failed"


@dataclass
class Arrival:
    """One message as received. ``handle`` is the listener's, for its ack. ``parsed``: the
    payload already read (:func:`parse_message`) while the message waited for its batch, so
    the commit does not pay for it; None, and the commit reads it. ``project``: set when the
    message came through a broker feed (``pipelines.live.feeds``), which names its project
    whatever the topic says; None, and the topic names it."""

    topic: str
    payload: bytes
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    handle: object = None
    parsed: Parsed | None = None
    project: str | None = None


@dataclass(frozen=True)
class DeadLetterNote:
    """A refusal with what is kept of its message, for :class:`Sink.record`."""

    project: str
    project_id: int | None
    topic: str
    refusal: Refusal
    payload_head: str
    payload_bytes: int
    payload_sha256: str
    received_at: datetime


class Sink(Protocol):
    """Where a batch goes: the projects that exist, their stores, the dead-letter record."""

    def project_id(self, name: str) -> int | None: ...

    def store_for(self, project: str) -> CurveStore: ...

    def release(self, store: CurveStore) -> None: ...

    def record(self, notes: list[DeadLetterNote]) -> None: ...

    def answers(self, project: str) -> bool:
        """Whether the project's engine answers a query now."""
        ...


@dataclass
class BatchOutcome:
    committed: int = 0
    skipped: int = 0
    passed: int = 0  # left to a broker feed (commit_batch's ``feeds``)
    points: int = 0
    datasets: list[str] = field(default_factory=list)
    dead: list[DeadLetterNote] = field(default_factory=list)

    def add(self, other: BatchOutcome) -> None:
        """Count ``other`` in this one (a listener's totals, a batch committed in pieces)."""
        self.committed += other.committed
        self.skipped += other.skipped
        self.passed += other.passed
        self.points += other.points
        self.datasets += other.datasets
        self.dead += other.dead


def project_of(topic: str, prefix: str) -> str | None:
    """``<prefix>/<project>/curves`` → ``project``; anything else → None."""
    head, tail = prefix + "/", "/curves"
    if topic.startswith(head) and topic.endswith(tail):
        name = topic[len(head) : -len(tail)]
        if name and "/" not in name:
            return name
    return None


def project_for(arrival: Arrival, prefix: str) -> str | None:
    """The project a message is for: its feed's, else the one its topic names."""
    return arrival.project or project_of(arrival.topic, prefix)


# Whether a feed takes a topic on a plant's broker for a message received then
# (``pipelines.live.feeds.FeedListeners.takes``).
FeedsTake = Callable[[str, datetime], bool]


def _not_fed(prefix: str, project: str) -> Refusal:
    return Refusal(
        NOT_ALLOWED,
        f"This topic reaches no project: on the plant's broker a project takes curves only "
        f"through a broker feed its owner mapped (project {project!r}, Live ingest over MQTT, "
        f"Broker feeds), read with a login the owner made on that broker. Publish to a topic "
        f"a feed reads, or ask the project's owner to map {prefix}/{project}/curves.",
    )


def _note(arrival: Arrival, project: str, pid: int | None, refusal: Refusal) -> DeadLetterNote:
    payload = arrival.payload
    return DeadLetterNote(
        project=project,
        project_id=pid,
        topic=arrival.topic,
        refusal=refusal,
        # PostgreSQL text holds no NUL.
        payload_head=payload[:HEAD_BYTES].decode("utf-8", errors="replace").replace("\0", "\ufffd"),
        payload_bytes=len(payload),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        received_at=arrival.received_at,
    )


def commit_batch(
    arrivals: list[Arrival],
    *,
    sink: Sink,
    prefix: str,
    max_bytes: int,
    now: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
    feeds: FeedsTake | None = None,
) -> BatchOutcome:
    """Commit the good curves of ``arrivals`` (one dataset per project), then record the
    refusals. Raises on an engine error, having recorded nothing.

    ``feeds``, on a plant's broker, says which topics a broker feed takes: there a topic
    alone admits nothing, so a message a feed takes is left to the feed's own subscription,
    and any other is refused as ``not_allowed``."""
    outcome = BatchOutcome()
    # project -> [(arrival, curve)] in arrival order
    good: dict[str, list[tuple[Arrival, Curve]]] = {}
    ids: dict[str, int | None] = {}
    for arrival in arrivals:
        if (
            feeds is not None
            and arrival.project is None
            and feeds(arrival.topic, arrival.received_at)
        ):
            outcome.passed += 1
            continue
        project = project_for(arrival, prefix) or ""
        if project not in ids:
            ids[project] = sink.project_id(project) if project else None
        if feeds is not None and arrival.project is None and ids[project] is not None:
            outcome.dead.append(_note(arrival, project, ids[project], _not_fed(prefix, project)))
            continue
        if ids[project] is None:
            detail = (
                f"no project is named {project!r}; publish to {prefix}/<project>/curves"
                if project
                else f"the topic is not {prefix}/<project>/curves"
            )
            outcome.dead.append(_note(arrival, project, None, Refusal(UNKNOWN_PROJECT, detail)))
            continue
        parsed = arrival.parsed
        if parsed is None:
            parsed = parse_message(arrival.payload, max_bytes=max_bytes)
        for refusal in parsed.refusals:
            outcome.dead.append(_note(arrival, project, ids[project], refusal))
        good.setdefault(project, []).extend((arrival, c) for c in parsed.curves)
    for project, items in good.items():
        _commit_project(project, ids[project], items, sink=sink, now=now, outcome=outcome)
    if outcome.dead:
        sink.record(outcome.dead)
    return outcome


def commit_alone(
    arrivals: list[Arrival],
    *,
    sink: Sink,
    prefix: str,
    max_bytes: int,
    now: Callable[[], pd.Timestamp] = lambda: pd.Timestamp.now(tz="UTC"),
    feeds: FeedsTake | None = None,
) -> BatchOutcome:
    """A batch whose commit keeps failing while its engine answers: each message committed by
    itself, and one that still fails becomes a ``commit_failed`` dead letter with the engine's
    words, so a message no commit can take does not hold up the good ones behind it. Raises
    (for the caller to retry the batch; what went in alone is then skipped) when the engine
    stops answering meanwhile."""
    total = BatchOutcome()
    for arrival in arrivals:
        try:
            one = commit_batch(
                [arrival], sink=sink, prefix=prefix, max_bytes=max_bytes, now=now, feeds=feeds
            )
        except Exception as exc:
            project = project_for(arrival, prefix) or ""
            if not sink.answers(project):
                raise
            detail = f"the engine refused this message's commit: {type(exc).__name__}: {exc}"
            pid = sink.project_id(project) if project else None
            note = _note(arrival, project, pid, Refusal(COMMIT_FAILED, detail))
            sink.record([note])
            total.dead.append(note)
            continue
        total.add(one)
    return total


def _commit_project(
    project: str,
    pid: int | None,
    items: list[tuple[Arrival, Curve]],
    *,
    sink: Sink,
    now: Callable[[], pd.Timestamp],
    outcome: BatchOutcome,
) -> None:
    store = sink.store_for(project)
    try:
        _write(project, pid, items, store=store, now=now, outcome=outcome)
    finally:
        sink.release(store)


def _write(
    project: str,
    pid: int | None,
    items: list[tuple[Arrival, Curve]],
    *,
    store: CurveStore,
    now: Callable[[], pd.Timestamp],
    outcome: BatchOutcome,
) -> None:
    ingested_at = now().floor("ms")
    batch = build_batch([c for _, c in items], ingested_at=ingested_at)
    keys = batch.meta["curve_key"].tolist()
    cids = curve_ids(project, batch.meta["curve_key"]).tolist()
    prints: list[int] = []  # made only when a key is known (the store hashes them again)
    for attempt in range(2):
        keep = np.ones(len(items), dtype=bool)
        conflicts: list[int] = []
        first: dict[int, int] = {}  # curve id -> its print in this batch
        stored = store.stored_fingerprints(project, cids)
        skipped = 0
        if stored or len(set(cids)) < len(cids):  # else all are new: nothing to compare
            prints = prints or [int(p) for p in fingerprints(batch)]
        for i, (cid, fp) in enumerate(zip(cids, prints, strict=True) if prints else ()):
            known = stored.get(cid, first.get(cid))
            if known is None:
                first[cid] = fp
            elif known == fp:  # a redelivery or a gateway's own retry
                keep[i], skipped = False, skipped + 1
            else:
                keep[i] = False
                conflicts.append(i)
        if not keep.any():
            break
        topic = items[int(np.argmax(keep))][0].topic
        spec = DatasetSpec(
            project=project,
            kind="live",
            name=f"mqtt {topic} {ingested_at:%Y-%m-%dT%H:%M:%S.%f}Z",
            source=f"mqtt:{topic}",
        )
        try:
            kept = batch if keep.all() else batch.take(keep)
            written = store.write([kept], spec, ingested_at=ingested_at)
        except ImportConflictError:
            if attempt:  # an import raced us twice: let the caller retry the batch
                raise
            continue
        outcome.committed += written.curves_added
        outcome.points += written.points_added
        skipped += written.curves_skipped
        if written.dataset_id:
            outcome.datasets.append(written.dataset_id)
        break
    outcome.skipped += skipped
    for i in conflicts:
        arrival, _ = items[i]
        refusal = Refusal(
            CONFLICT,
            f"curve key {keys[i]!r} is already stored in project {project!r} with different "
            "samples; a curve key names one part's curve and must not be reused",
            keys[i],
        )
        outcome.dead.append(_note(arrival, project, pid, refusal))
