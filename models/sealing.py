"""Cluster secrets sealed at rest: the metadata store keeps them encrypted, the key lives apart.

A cluster's ``provider_config`` holds what opens it: an embedded node's or a cloud service's
password, a server's URL with its password. The store keeps that column as a Fernet token
(AES-128-CBC with an HMAC-SHA256, from the ``cryptography`` package), so a copy of
``curvehouse.db`` or of a PostgreSQL dump gives no cluster away without the key.

The key is ``CURVEHOUSE_SECRET_KEY`` (one Fernet key, or several separated by commas: the first
seals, every one opens, so a key can be rotated), else the file ``CURVEHOUSE_SECRET_KEY_FILE``
(default ``$CURVEHOUSE_HOME/secret.key``, made with mode 0600 on first use). The default keeps
the key beside the store, which already guards against copies of the store alone (backups, a
PostgreSQL dump); an operator should move it to another volume or a secrets mount.

Rows written before sealing existed are sealed when the store opens. A key that does not open
the sealed rows is refused then, with what to do, before anything else runs.
"""

from __future__ import annotations

import json
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from models.settings import Settings

# The one key of a sealed value: {"sealed": "<Fernet token>"}.
SEALED = "sealed"
# The key set of each engine's dialect: a TypeDecorator sees the dialect, not the engine.
_KEYS: weakref.WeakKeyDictionary[sa.Dialect, MultiFernet] = weakref.WeakKeyDictionary()


class SecretKeyError(ValueError):
    """The key cannot open the store's sealed secrets, or is missing; the message says what to
    do. It never contains a key."""


def _source(settings: Settings) -> str:
    return "CURVEHOUSE_SECRET_KEY" if settings.secret_key else str(settings.key_file)


def load_keys(settings: Settings, *, create: bool = True) -> list[Fernet]:
    """The keys from settings, the sealing one first; a missing key file is made (mode 0600)
    only when ``create``."""
    if settings.secret_key:
        text = settings.secret_key.get_secret_value()
        keys = [k.strip() for k in text.split(",") if k.strip()]
    else:
        path = settings.key_file
        if not path.exists():
            if not create:
                raise SecretKeyError(
                    "The metadata store holds sealed secrets (cluster passwords, feeds' broker "
                    f"logins), but the key file {path} is missing. Put the key file back, or "
                    "point CURVEHOUSE_SECRET_KEY_FILE (or CURVEHOUSE_SECRET_KEY) at the key it "
                    "was sealed with."
                )
            _write_key(path)
        keys = [k.strip() for k in path.read_text().splitlines() if k.strip()]
    try:
        fernets = [Fernet(k) for k in keys]
    except ValueError:
        fernets = []
    if not fernets:
        raise SecretKeyError(
            f"{_source(settings)} holds no Fernet key (32 URL-safe base64-encoded bytes, e.g. "
            "from python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        )
    return fernets


def _write_key(path: Path) -> None:
    """A new key in a new file readable by this account only; a file made at the same moment
    by another process wins."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as out:
        out.write(Fernet.generate_key().decode() + "\n")


def attach(engine: sa.Engine, keys: MultiFernet) -> None:
    """Seal and open :class:`SealedJSON` values on ``engine`` with ``keys``."""
    _KEYS[engine.dialect] = keys


def _keys(dialect: sa.Dialect) -> MultiFernet:
    try:
        return _KEYS[dialect]
    except KeyError:
        raise SecretKeyError(
            "This metadata engine has no secret key, so secrets can be neither sealed nor "
            "read: open the store with models.store.open_metadata."
        ) from None


def is_sealed(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {SEALED}


class SealedJSON(sa.TypeDecorator[Any]):
    """JSON stored as a Fernet token. Values an older Curvehouse stored in clear read as they
    are, and are sealed by :func:`seal_existing` when the store opens."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        token = _keys(dialect).encrypt(json.dumps(value, sort_keys=True).encode())
        return {SEALED: token.decode()}

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if not is_sealed(value):
            return value
        try:
            return json.loads(_keys(dialect).decrypt(value[SEALED].encode()))
        except InvalidToken:
            raise SecretKeyError(
                "A sealed secret in the metadata store was sealed with another key than this "
                "one; set the key it was sealed with."
            ) from None


def has_sealed(connection: sa.Connection, table: sa.Table, column: str) -> bool:
    raw = sa.column(column, sa.JSON)
    rows = connection.execute(sa.select(raw).select_from(sa.table(table.name))).scalars()
    return any(is_sealed(value) for value in rows)


def seal_existing(
    connection: sa.Connection, settings: Settings, table: sa.Table, column: str, *, rotate: bool
) -> int:
    """Check that the key opens every sealed value of ``table.column``, seal the values stored in
    clear, and, when ``rotate``, seal the others anew with the first key. Returns how many rows
    were written."""
    keys = _keys(connection.dialect)
    raw = sa.table(table.name, sa.column("id"), sa.column(column, sa.JSON))
    written = 0
    for row_id, value in connection.execute(sa.select(raw.c.id, raw.c[column])).all():
        if value is None:
            continue
        if is_sealed(value):
            try:
                plain = json.loads(keys.decrypt(value[SEALED].encode()))
            except InvalidToken:
                raise SecretKeyError(
                    f"The metadata store's sealed secrets were sealed with another key than "
                    f"the one in {_source(settings)}. Set CURVEHOUSE_SECRET_KEY_FILE (or "
                    "CURVEHOUSE_SECRET_KEY) to the key they were sealed with; with a new key the "
                    "cluster passwords and feeds' logins cannot be read."
                ) from None
            if not rotate:
                continue
        else:
            plain = value
        connection.execute(sa.update(table).where(table.c.id == row_id).values({column: plain}))
        written += 1
    return written
