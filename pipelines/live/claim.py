"""One listener per home: the process taking a home's live curves holds a lock on it.

A home's listener connects with a client id derived from the home (``app.live.plant_broker``;
the embedded broker's service login), so a second process of the same home listening too, a
``curvehouse listen`` started beside a ``curvehouse serve`` that listens already, would take the
broker session from the first, which reconnects and takes it back, for as long as both run:
every few seconds a dropped connection and redelivered messages, and nothing said. The claim is
an exclusive ``flock`` on ``<home>/live/listener.lock``; the kernel lets go of it when the
process ends, crashed or not, so a restart never finds a stale claim. The file says who holds
it, for the refusal's words.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class ListenerTaken(RuntimeError):
    """Another process listens for this home's live curves already."""


class ListeningClaim:
    """This process's hold on a home's live curves, let go by :meth:`release` or its end."""

    def __init__(self, handle: IO[str] | None) -> None:
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def claim_listening(home: Path) -> ListeningClaim:
    """Claim ``home``'s live curves for this process; :class:`ListenerTaken` names the process
    that has them. Where no lock can be taken (a read-only home, a file system without
    ``flock``) it warns and listens unguarded: the guard must not be what stops ingest."""
    path = home / "live" / "listener.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+", encoding="utf-8")
    except OSError as exc:
        return _unguarded(path, exc)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ListenerTaken(
            f"{holder} takes this home's live curves already ({home}). One process per home "
            "listens: two would take the broker session from each other all the time. Stop "
            "that one, or set CURVEHOUSE_MQTT_LISTEN=0 for curvehouse serve when curvehouse "
            "listen runs beside it."
        ) from None
    except OSError as exc:
        handle.close()
        return _unguarded(path, exc)
    try:
        handle.seek(0)
        handle.truncate()
        command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]])  # "curvehouse serve"
        handle.write(f"PID {os.getpid()} ({command})")
        handle.flush()
    except OSError:  # held all the same; a refusal then names no one
        pass
    return ListeningClaim(handle)


def _unguarded(path: Path, exc: OSError) -> ListeningClaim:
    log.warning(
        "could not lock %s (%s): a second listener of this home would not be refused", path, exc
    )
    return ListeningClaim(None)
