"""The embedded broker's logins follow the metadata store: the ingest tokens project admins made
(and revoked), besides the fixed publishers of this process (the demo plant, ``listen
--publisher``). Read every few seconds, so a token made on a page or over the API works, and a
revoked one stops, without restarting anything, in ``curvehouse serve`` and in a separate
``curvehouse listen`` alike."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models.ingest_tokens import broker_logins
from pipelines.live.broker import EmbeddedBroker, Publisher

log = logging.getLogger(__name__)
# How often the store's tokens are read: a new token works, and a revoked one stops, within it.
POLL_SECONDS = 2.0


def token_publishers(sessions: sessionmaker[Session]) -> list[Publisher]:
    """Every working ingest token as a broker login for its project."""
    with sessions() as session:
        return [
            Publisher(login, "", project, hashed=hashed)
            for login, project, hashed in broker_logins(session)
        ]


class LoginSync:
    """Keep ``broker``'s logins equal to ``fixed`` plus the store's working tokens."""

    def __init__(
        self,
        broker: EmbeddedBroker,
        sessions: sessionmaker[Session],
        fixed: Iterable[Publisher] = (),
        *,
        every: float = POLL_SECONDS,
    ) -> None:
        self.broker, self.sessions, self.fixed, self.every = broker, sessions, list(fixed), every
        self._known: list[tuple[str, str, str]] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync(self) -> bool:
        """Reload the broker if the tokens changed since the last look; return whether it did."""
        tokens = token_publishers(self.sessions)
        seen = [(p.username, p.project, p.hashed) for p in tokens]
        if seen == self._known:
            return False
        self.broker.reload(self.fixed + tokens, tokens_known=True)
        self._known = seen
        log.info("broker logins: %d ingest token(s)", len(tokens))
        return True

    def start(self) -> LoginSync:
        self._thread = threading.Thread(target=self._run, name="broker-logins", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.sync()
            except (SQLAlchemyError, OSError) as exc:  # the store or the broker is away: next time
                log.warning("could not refresh the broker's logins: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.every + 5)
