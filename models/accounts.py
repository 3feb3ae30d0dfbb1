"""Accounts: the first owner, password logins with lockout, sessions, API tokens, invitations.

Use cases (every function that writes an audit row, and :func:`create_user`) take keyword-only
arguments, ``session`` first, then ``actor`` where someone acts on another person; lookups such
as :func:`find_user` take the session positionally. All of them leave committing to the caller,
so a change and its audit row are written together or not at all. The one exception is
:func:`authenticate`, which commits each attempt's count before it checks the password (see
:mod:`models.signins`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import names, signins
from models.access import Principal
from models.audit import audit
from models.credentials import (
    TOKEN_PREFIX,
    check_password_strength,
    digest,
    generated_password,
    hash_password,
    needs_rehash,
    new_secret,
    verify_password,
)
from models.tables import (
    ApiToken,
    Invitation,
    LoginSession,
    Organisation,
    Project,
    ProjectMember,
    Role,
    Team,
    User,
    normal_email,
    utcnow,
)

LOCAL_ORGANISATION = "Local"
DEFAULT_PROJECT = "Default project"
FREE_ATTEMPTS, FIRST_LOCK, LONGEST_LOCK = (
    signins.FREE_ATTEMPTS,
    signins.FIRST_LOCK,
    signins.LONGEST_LOCK,
)
WRONG_LOGIN = "Wrong e-mail address or password."
TOKEN_DAYS = 90
LONGEST_TOKEN_DAYS = 365
INVITATION_DAYS = 7


class AccountError(ValueError):
    """A request about an account that cannot be granted; the message says why."""


class LoginError(AccountError):
    pass


class NameTaken(AccountError):
    """A name that must be unique is in use."""


def default_project(session: Session) -> Project:
    """The first project, made on first use in the local organisation."""
    project = session.scalar(sa.select(Project).order_by(Project.id).limit(1))
    if project is None:
        organisation = session.scalar(
            sa.select(Organisation).where(Organisation.name == LOCAL_ORGANISATION)
        ) or Organisation(name=LOCAL_ORGANISATION)
        project = Project(organisation=organisation, name=DEFAULT_PROJECT)
        session.add(project)
        session.flush()
    return project


def adopt_projects(*, session: Session, names: list[str]) -> list[Project]:
    """Make a project for each curve ``project`` label that has none yet (curves imported from
    the command line), owned by the owners of the first project. Returns the new ones."""
    first = default_project(session)
    known = set(session.scalars(sa.select(Project.name)))
    owners = [m.user for m in first.members if m.user is not None and m.role == Role.OWNER]
    made = []
    for name in sorted(set(names) - known):
        project = Project(organisation=first.organisation, name=name)
        project.members = [ProjectMember(user=owner, role=Role.OWNER) for owner in owners]
        session.add(project)
        audit(session, "setup", "project.adopt", "project", name, owners=[o.email for o in owners])
        made.append(project)
    session.flush()
    return made


def _checked(check, *args: str) -> str:
    """A :mod:`models.names` check whose refusal is an :class:`AccountError`, as the pages,
    the API and the command line expect of account functions."""
    try:
        return check(*args)
    except names.BadName as exc:
        raise AccountError(str(exc)) from None


def new_group_name(session: Session, kind: type[Project] | type[Team], name: str) -> str:
    """``name`` trimmed, once it is a valid (:func:`models.names.group_name`) and unused name
    for a project or team."""
    noun = kind.__name__.lower()
    name = _checked(names.group_name, name, noun)
    if session.scalar(sa.select(kind.id).where(kind.name == name)) is not None:
        raise NameTaken(f"A {noun} named {name!r} exists already; choose another name.")
    return name


def create_project(*, session: Session, owner: User, name: str, ip: str | None = None) -> Project:
    """A new project in the first organisation, owned by ``owner``."""
    name = new_group_name(session, Project, name)
    project = Project(organisation=default_project(session).organisation, name=name)
    project.members = [ProjectMember(user=owner, role=Role.OWNER)]
    session.add(project)
    session.flush()
    audit(session, owner.email, "project.create", "project", project.id, ip=ip, name=name)
    return project


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == normal_email(email)))


def checked_email(email: str) -> str:
    """``email`` as accounts store it, or :class:`AccountError` when it is not an address."""
    email = normal_email(email)
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise AccountError(f"{email!r} is not an e-mail address.")
    return email


def create_user(
    *, session: Session, email: str, password: str | None, display_name: str = ""
) -> User:
    email = checked_email(email)
    if find_user(session, email) is not None:
        raise AccountError(f"An account for {email} exists already.")
    if password is not None:
        check_password_strength(password, email)
    user = User(
        email=email,
        display_name=_checked(names.printable, display_name.strip(), "A display name")
        or email.split("@")[0],
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class FirstOwner:
    email: str
    password: str | None  # set only when it was generated here, to be shown once


def ensure_first_owner(*, session: Session, email: str, password: str | None) -> FirstOwner | None:
    """On a store with no accounts: make ``email`` the owner of every existing project.

    ``password`` None generates one, returned so the caller can show it once. Nothing happens
    when any account exists, so restarting never resets a password.
    """
    if session.scalar(sa.select(sa.func.count()).select_from(User)):
        return None
    generated = generated_password() if password is None else None
    user = create_user(
        session=session, email=email, password=password or generated, display_name="Owner"
    )
    default_project(session)
    for project in session.scalars(sa.select(Project)):
        session.add(ProjectMember(project=project, user=user, role=Role.OWNER))
    audit(session, "setup", "user.first_owner", "user", user.id, email=user.email)
    return FirstOwner(user.email, generated)


def authenticate(
    *,
    session: Session,
    email: str,
    password: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> User:
    """The user whose password this is, or :class:`LoginError`; writes the audit row either way.

    The attempt is counted and committed first (:func:`models.signins.count_attempt`), and
    the count decides whether the password is checked: after ``FREE_ATTEMPTS`` failures in a
    row the address locks, first for 30 s, doubling with every lock up to 15 minutes, and a
    locked address is refused even with the right password. Unknown addresses are counted,
    locked and answered in the same words, and cost the same argon2 check (a dummy hash), so
    neither the answer nor its time tells whether an account exists. This lock does not end
    the person's open sessions: anyone can trip it with five wrong passwords, and would then
    sign anyone out at will. An operator's lock (:func:`lock_user`) does; it is told only to
    someone who gave the right password. The rest is left for the caller to commit.
    """
    now = now or utcnow()
    attempt = signins.count_attempt(session, email, now)
    user = find_user(session, email)
    actor = user.email if user is not None else normal_email(email)[:320]
    if not attempt.check:
        audit(session, actor, "login.locked", "user", user.id if user else "", ip=ip)
        raise LoginError(
            f"Too many failed attempts: this account is locked for {attempt.locked_for} s more."
        )
    # Always exactly one argon2 check: a missing account or password checks the dummy hash.
    if not verify_password(user.password_hash if user is not None else None, password):
        locked = {"locked_for": attempt.locked_for} if attempt.locked_for else {}
        audit(session, actor, "login.failed", "user", "", ip=ip, **locked)
        raise LoginError(WRONG_LOGIN)
    if user.locked_at is not None:
        audit(session, user.email, "login.locked", "user", user.id, ip=ip, by="operator")
        raise LoginError("This account is locked by an administrator; ask them to unlock it.")
    signins.forget_failures(session, email)
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit(session, user.email, "login", "user", user.id, ip=ip)
    return user


def sign_out(*, session: Session, plain: str, ip: str | None = None) -> LoginSession | None:
    """End this browser session only (the person's other devices stay signed in)."""
    row = signins.end_session(session, plain)
    if row is not None:
        audit(session, row.user.email, "logout", "user", row.user_id, ip=ip, session_id=row.id)
    return row


def end_sessions(*, session: Session, user: User, reason: str, ip: str | None = None) -> int:
    """End every session of ``user`` at once (password change or reset, lock, removal)."""
    ended = signins.end_all_sessions(session, user.id)
    if ended:
        audit(
            session,
            user.email,
            "session.revoke",
            "user",
            user.id,
            ip=ip,
            reason=reason,
            sessions=ended,
        )
    return ended


def change_password(*, session: Session, user: User, old: str, new: str) -> None:
    """A person's own change. Every session ends, the one it was made in too: a thief's copy
    of that cookie must die with the old password, so the person signs in again."""
    if not verify_password(user.password_hash, old):
        raise AccountError("The current password is wrong.")
    check_password_strength(new, user.email)
    user.password_hash = hash_password(new)
    audit(session, user.email, "user.password", "user", user.id)
    end_sessions(session=session, user=user, reason="password change")


def issue_token(
    *,
    session: Session,
    user: User,
    name: str,
    days: int = TOKEN_DAYS,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A new personal token: ``(shown once, stored row)``."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("Name the token (1 to 100 characters), e.g. 'line-7 import job'.")
    _checked(names.printable, name, "A token's name")
    if not 1 <= days <= LONGEST_TOKEN_DAYS:
        raise AccountError(f"A token lives 1 to {LONGEST_TOKEN_DAYS} days, not {days}.")
    plain, hashed = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        user=user,
        name=name,
        prefix=plain[: len(TOKEN_PREFIX) + 6],
        token_hash=hashed,
        expires_at=(now or utcnow()) + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit(session, user.email, "token.create", "api_token", token.id, name=name, days=days)
    return plain, token


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= (now or utcnow()) else "active"


def set_password(*, session: Session, actor: Principal, user: User, password: str) -> None:
    """A new password set by the operator (a lost or stolen one): it lifts a lock and ends
    every session of the person."""
    check_password_strength(password, user.email)
    user.password_hash = hash_password(password)
    signins.forget_failures(session, user.email)
    audit(session, actor.label, "user.password_reset", "user", user.id, email=user.email)
    end_sessions(session=session, user=user, reason="password reset")


def lock_user(*, session: Session, actor: Principal, user: User) -> None:
    """Lock a person out (a stolen laptop, someone who left): sign-in and API tokens are
    refused and every session ends, until :func:`unlock_user`."""
    user.locked_at = utcnow()
    audit(session, actor.label, "user.lock", "user", user.id, email=user.email)
    end_sessions(session=session, user=user, reason="locked")


def unlock_user(*, session: Session, actor: Principal, user: User) -> None:
    user.locked_at = None
    signins.forget_failures(session, user.email)
    audit(session, actor.label, "user.unlock", "user", user.id, email=user.email)


def remove_user(*, session: Session, actor: Principal, user: User) -> None:
    """Delete an account: its sessions end, its memberships and tokens go with it. Refused
    while it is the last owner of a project or team, which would be left without one."""
    for membership in [*user.project_memberships, *user.team_memberships]:
        group = membership.project if isinstance(membership, ProjectMember) else membership.team
        owners = [m for m in group.members if m.user_id is not None and m.role == Role.OWNER]
        if membership.role == Role.OWNER and len(owners) == 1:
            kind = "project" if isinstance(membership, ProjectMember) else "team"
            raise AccountError(
                f"{user.email} is the last owner of {kind} {group.name}: make someone else "
                "owner first."
            )
    end_sessions(session=session, user=user, reason="removed")
    audit(session, actor.label, "user.remove", "user", user.id, email=user.email)
    session.delete(user)
    session.flush()


def token_user(session: Session, plain: str, now: datetime | None = None) -> User | None:
    """The user a live token belongs to; None for an unknown, revoked or expired token."""
    now = now or utcnow()
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest(plain)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if token.user.locked_at is not None:
        return None
    token.last_used_at = now
    return token.user


def revoke_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise AccountError(f"You have no token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(session, user.email, "token.revoke", "api_token", token.id, name=token.name)
    return token


def _direct_member(user: User, project_id: int) -> bool:
    return any(m.project_id == project_id for m in user.project_memberships)


def invite(
    *, session: Session, actor: Principal, project: Project, email: str, role: Role
) -> tuple[str, Invitation]:
    """A one-time invitation: ``(link secret shown or mailed once, stored row)``."""
    email = checked_email(email)
    existing = find_user(session, email)
    if existing is not None and _direct_member(existing, project.id):
        raise AccountError(f"{email} is a member of {project.name} already.")
    plain, hashed = new_secret()
    invitation = Invitation(
        project=project,
        email=email,
        role=role,
        token_hash=hashed,
        invited_by=actor.label,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    audit(session, actor.label, "member.invite", "project", project.id, email=email, role=str(role))
    return plain, invitation


def open_invitation(session: Session, plain: str, now: datetime | None = None) -> Invitation:
    invitation = session.scalar(sa.select(Invitation).where(Invitation.token_hash == digest(plain)))
    if invitation is None or invitation.accepted_at is not None:
        raise AccountError("This invitation link is not valid, or it was used already.")
    if invitation.expires_at <= (now or utcnow()):
        raise AccountError("This invitation link has expired; ask for a new one.")
    return invitation


def accept_invitation(
    *,
    session: Session,
    plain: str,
    password: str,
    display_name: str = "",
    ip: str | None = None,
) -> User:
    """Join the invited project with the invited role; a new account sets its password here,
    an existing one signs in (see :func:`authenticate`, which commits the attempt's count)."""
    invitation = open_invitation(session, plain)
    user = find_user(session, invitation.email)
    if user is None:
        user = create_user(
            session=session, email=invitation.email, password=password, display_name=display_name
        )
    else:
        # A sign-in like any other, counted towards the lock: an admin may invite anyone's
        # address and is shown the link, which must not become a way to guess passwords.
        try:
            user = authenticate(session=session, email=invitation.email, password=password, ip=ip)
        except LoginError as exc:
            if str(exc) != WRONG_LOGIN:
                raise
            raise LoginError(
                "An account for this address exists: enter its current password."
            ) from None
    if not _direct_member(user, invitation.project_id):
        session.add(ProjectMember(project=invitation.project, user=user, role=invitation.role))
    invitation.accepted_at = utcnow()
    audit(
        session,
        user.email,
        "member.join",
        "project",
        invitation.project_id,
        role=str(invitation.role),
        invited_by=invitation.invited_by,
    )
    return user
