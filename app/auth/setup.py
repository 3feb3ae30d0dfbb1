"""What login needs before the server starts: a cookie secret and a first owner account."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from models.accounts import FirstOwner, ensure_first_owner
from models.settings import PREFIX, Settings, SettingsError, reveal
from models.store import MetadataStore

SECRET_FILE = "cookie-secret"


def cookie_secret(settings: Settings) -> str:
    """``CURVEHOUSE_COOKIE_SECRET``; serving only to this machine, a random one kept in home.

    A server others can reach refuses to start without one set: a secret generated on one
    machine and copied around, or kept in a repository, would let anyone forge logins.
    """
    if settings.cookie_secret:
        return settings.cookie_secret.get_secret_value()
    if not settings.local:
        raise SettingsError(
            f"Serving on {settings.address} needs {PREFIX}COOKIE_SECRET (signs logins): set it "
            "to 32+ random characters, e.g. from "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    path = settings.home / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return Path(path).read_text().strip()


def first_owner(store: MetadataStore, settings: Settings) -> FirstOwner | None:
    """Make the first owner on an empty store (from settings, or with a generated password)."""
    with store.sessions() as session:
        owner = ensure_first_owner(
            session=session, email=settings.owner_email, password=reveal(settings.owner_password)
        )
        session.commit()
    return owner


def announce(owner: FirstOwner | None, url: str) -> str | None:
    """What to print once so the person who started the server can sign in."""
    if owner is None:
        return None
    if owner.password is None:
        return f"First owner account: {owner.email} (password from {PREFIX}OWNER_PASSWORD)."
    return (
        "\n" + "=" * 72 + "\n"
        f"First owner account created. Sign in at {url}login with\n"
        f"    e-mail:   {owner.email}\n"
        f"    password: {owner.password}\n"
        "This password is shown only now: keep it, or change it on the Team page.\n" + "=" * 72
    )
