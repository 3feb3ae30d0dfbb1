"""Live ingest's view of the metadata store: which projects exist, and the dead letters."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from models.tables import DeadLetter, Project
from pipelines.live.commit import DeadLetterNote
from pipelines.store import CurveStore

# Column sizes of models.tables.DeadLetter.
_KEY_CHARS, _DETAIL_CHARS, _NAME_CHARS, _TOPIC_CHARS = 256, 1000, 100, 256


class StoreSink:
    """Projects by name from the metadata store, curves into each project's home
    (``store_for``), dead letters into ``dead_letters``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store_for: Callable[[str], CurveStore],
        release: Callable[[CurveStore], None] | None = None,
    ) -> None:
        self.sessions, self._store_for, self._release = sessions, store_for, release

    def project_id(self, name: str) -> int | None:
        with self.sessions() as session:
            return session.scalars(
                sa.select(Project.id).where(Project.name == name).order_by(Project.id).limit(1)
            ).first()

    def store_for(self, project: str) -> CurveStore:
        return self._store_for(project)

    def release(self, store: CurveStore) -> None:
        """Done with ``store`` for this batch (a home's store holds its own client)."""
        if self._release is not None:
            self._release(store)

    def answers(self, project: str) -> bool:
        """Whether the project's engine answers ``SELECT 1`` now."""
        try:
            store = self.store_for(project)
        except Exception:  # its home cannot even be reached
            return False
        try:
            store.client.query("SELECT 1")
            return True
        except Exception:
            return False
        finally:
            self.release(store)

    def record(self, notes: list[DeadLetterNote]) -> None:
        """Insert the notes; one already recorded (the same message redelivered after a crash
        between this and its ack) is not recorded twice."""
        with self.sessions() as session:
            for note in notes:
                key = note.refusal.curve_key
                key = key[:_KEY_CHARS] if key is not None else None
                same = session.scalars(
                    sa.select(DeadLetter.id).where(
                        DeadLetter.payload_sha256 == note.payload_sha256,
                        DeadLetter.topic == note.topic[:_TOPIC_CHARS],
                        DeadLetter.reason == note.refusal.reason,
                        DeadLetter.curve_key.is_(None)
                        if key is None
                        else DeadLetter.curve_key == key,
                    )
                ).first()
                if same is not None:
                    continue
                session.add(
                    DeadLetter(
                        project_id=note.project_id,
                        project_name=note.project[:_NAME_CHARS],
                        topic=note.topic[:_TOPIC_CHARS],
                        reason=note.refusal.reason,
                        detail=note.refusal.detail[:_DETAIL_CHARS],
                        curve_key=key,
                        payload_head=note.payload_head,
                        payload_bytes=note.payload_bytes,
                        payload_sha256=note.payload_sha256,
                        received_at=note.received_at,
                    )
                )
            session.commit()
