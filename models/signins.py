"""Sign-ins: failed attempts counted per e-mail address, and browser sessions kept server-side.

Counting. Every attempt first adds one to its address's counter in one atomic statement
(``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, SQLite 3.35+ and PostgreSQL) and commits
it; the count it gets back decides whether the password is checked at all. However many
attempts arrive at once, each gets its own number, so at most :data:`FREE_ATTEMPTS` passwords
are checked before the lock. Addresses without an account are counted and locked the same way,
so neither the words nor the lock tell which accounts exist.

Sessions. A sign-in makes a :class:`~models.tables.LoginSession` row; the browser's cookie
carries its random token, and only the token's SHA-256 is stored. Every request and every open
page looks the row up, so ending it (sign-out, password change or reset, a lock, removal) takes
effect at once, in every server process that shares the store.

These are the mechanics; :mod:`models.accounts` builds the audited actions on them. The two the
app calls itself, :func:`start_session` and :func:`sweep`, are use cases and take keyword-only
arguments like those of :mod:`models.accounts`; the rest take the session positionally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.credentials import digest, new_secret
from models.tables import LoginSession, LoginThrottle, User, normal_email, utcnow

# Failed sign-ins allowed before the address locks; each lock after that lasts twice as long.
FREE_ATTEMPTS = 5
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # a counter untouched this long starts again from zero
SESSION_LENGTH = timedelta(days=1)  # a shift and a bit; shared screens sign in each day
SEEN_STEP = timedelta(minutes=5)  # last_seen_at is written at most this often
KEEP_ENDED = timedelta(days=30)  # ended sessions stay listable this long, then are swept


@dataclass(frozen=True)
class Attempt:
    """What one counted attempt may do: ``check`` its password or not; ``locked_for`` is the
    lock in seconds (in force when ``check`` is False, starting now if this check fails)."""

    check: bool
    locked_for: int = 0


def throttle_key(email: str) -> str:
    """The counter's key: a digest of the normalised address, so typed text is not kept."""
    return digest(normal_email(email)[:320])


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds()) + 1


def count_attempt(session: Session, email: str, now: datetime | None = None) -> Attempt:
    """Count one sign-in attempt for ``email`` and commit the count before anything else.

    Commits ``session`` (and so whatever it holds): the attempt must count even if what follows
    fails, and the row lock is held only for this short transaction, not while argon2 runs.
    """
    now = now or utcnow()
    table = LoginThrottle.__table__
    key = throttle_key(email)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stale = table.c.updated_at < now - FORGET_AFTER
    counted = (
        insert(table)
        .values(key=key, failures=1, locks=0, locked_until=None, updated_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": sa.case((stale, 1), else_=table.c.failures + 1),
                "locks": sa.case((stale, 0), else_=table.c.locks),
                "locked_until": sa.case((stale, sa.null()), else_=table.c.locked_until),
                "updated_at": now,
            },
        )
        .returning(table.c.failures, table.c.locks, table.c.locked_until)
    )
    # The row stays locked (PostgreSQL) or the database write-locked (SQLite) until the commit,
    # so deciding and arming the lock below cannot interleave with another attempt.
    failures, locks, locked_until = session.execute(counted).one()
    if locked_until is not None and locked_until > now:
        attempt = Attempt(check=False, locked_for=_seconds(locked_until - now))
    elif failures >= FREE_ATTEMPTS:
        # This attempt is the one that locks (or re-locks after a lock ran out): it is checked,
        # and every attempt after it is refused until the lock ends or a right password clears it.
        lock = min(FIRST_LOCK * 2 ** min(locks, 16), LONGEST_LOCK)
        session.execute(
            sa.update(table)
            .where(table.c.key == key)
            .values(locks=locks + 1, locked_until=now + lock)
        )
        attempt = Attempt(check=True, locked_for=_seconds(lock))
    else:
        attempt = Attempt(check=True)
    session.commit()
    return attempt


def forget_failures(session: Session, email: str) -> None:
    """After a right password or an operator's reset: the address starts from zero, unlocked."""
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == throttle_key(email)))


def start_session(
    *,
    session: Session,
    user: User,
    ip: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> str:
    """A new browser session for ``user``; returns its token (for the cookie, never stored)."""
    now = now or utcnow()
    plain, hashed = new_secret()
    session.add(
        LoginSession(
            user=user,
            token_hash=hashed,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LENGTH,
            ip=ip,
            user_agent=user_agent[:300],
        )
    )
    session.flush()
    return plain


def live_session(session: Session, plain: str, now: datetime | None = None) -> LoginSession | None:
    """The session ``plain`` is the token of, unless it is unknown, ended or expired."""
    row = session.scalar(sa.select(LoginSession).where(LoginSession.token_hash == digest(plain)))
    if row is None or row.revoked_at is not None or row.expires_at <= (now or utcnow()):
        return None
    return row


def session_user(session: Session, plain: str, now: datetime | None = None) -> User | None:
    """The person signed in with ``plain``, None when the session is over; notes it was seen."""
    now = now or utcnow()
    row = live_session(session, plain, now)
    if row is None or row.user.locked_at is not None:
        return None
    if now - row.last_seen_at >= SEEN_STEP:
        row.last_seen_at = now
    return row.user


def end_session(session: Session, plain: str) -> LoginSession | None:
    """End this one session (sign-out); None if it had ended already."""
    row = live_session(session, plain)
    if row is not None:
        row.revoked_at = utcnow()
    return row


def end_all_sessions(session: Session, user_id: int) -> int:
    """End every live session of the person at once; returns how many."""
    now = utcnow()
    return session.execute(
        sa.update(LoginSession)
        .where(
            LoginSession.user_id == user_id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def sweep(*, session: Session, now: datetime | None = None) -> tuple[int, int]:
    """Delete counters nobody touched for :data:`FORGET_AFTER` and sessions over for
    :data:`KEEP_ENDED`; returns ``(counters, sessions)``. Run at every server start."""
    now = now or utcnow()
    counters = session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.updated_at < now - FORGET_AFTER,
            sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    ).rowcount
    over = now - KEEP_ENDED
    sessions = session.execute(
        sa.delete(LoginSession).where(
            sa.or_(LoginSession.expires_at < over, LoginSession.revoked_at < over)
        )
    ).rowcount
    return counters, sessions
