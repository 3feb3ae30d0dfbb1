"""Passwords, API tokens and invitation links: what is stored is never what is typed.

Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommendation), so a
stolen metadata store does not give away passwords. Tokens and links are 256 random bits: too
many to guess, so a plain SHA-256 is enough to store them, and it can be looked up by value.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 12
TOKEN_PREFIX = "chp_"
# mosquitto_passwd's default for $7$ (PBKDF2-SHA512) hashes. Few rounds are enough for the
# secrets hashed that way: 256 random bits, not a person's password.
PBKDF2_ITERATIONS = 101

_hasher = PasswordHasher()
# A real hash of a random password: checking an unknown e-mail costs the same time as a known
# one, so response times do not tell which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class WeakPasswordError(ValueError):
    pass


def check_password_strength(password: str, email: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise WeakPasswordError(f"A password needs at least {MIN_PASSWORD} characters.")
    if email and password.strip().lower() == email.strip().lower():
        raise WeakPasswordError("A password must not be the account's e-mail address.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for a wrong one, a missing or a malformed hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """After a login: whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


def new_secret(prefix: str = "") -> tuple[str, str]:
    """A fresh secret and the digest to store: ``(shown once, kept)``."""
    secret = prefix + secrets.token_urlsafe(32)
    return secret, digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generated_password() -> str:
    """A first owner's password when none is given: 20 URL-safe characters (120 bits)."""
    return secrets.token_urlsafe(15)


def mosquitto_hash(secret: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """The password-file hash mosquitto 2 checks a broker login against:
    ``$7$<iterations>$<salt>$<PBKDF2-SHA512>``, base64 as mosquitto_passwd writes it."""
    salt = os.urandom(12)
    key = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations, 64)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(key).decode()}"
