"""Secrets in URLs never reach the server's log.

Tornado logs every request's URL with its query string (``tornado.access``), and an uncaught
error with the request (``tornado.application``). A token, password or invitation link in a
query string (``/invite?token=...``, or an API token someone put in a URL) would be written
there for whoever reads the logs. The filter here replaces the value of every query parameter
whose name looks secret with ``***`` before a record is written, on the loggers Tornado uses;
the API refuses tokens in URLs anyway (``app/api/handler.py``).
"""

from __future__ import annotations

import logging
import re

# Parameter names whose values are secrets: token, access_token, password, api_key, secret,
# code (OAuth), session ids, signatures.
SECRET_NAME = re.compile(
    r"token|passw|secret|key|code|auth|session|signature|credential", re.IGNORECASE
)
# A query parameter, also percent-encoded inside another one (``next=%2Fx%3Ftoken%3D...``).
_PARAM = re.compile(
    r"(?P<lead>[?&;]|%3[Ff]|%26)(?P<name>[^=&;\s#%]+)(?P<eq>=|%3[Dd])"
    r"(?P<value>[^&;\s#%]*(%(?!26|3[Ff])[0-9A-Fa-f]{2}[^&;\s#%]*)*)"
)
LOGGERS = ("tornado.access", "tornado.application", "tornado.general")


def redact(text: str) -> str:
    """``text`` with the values of secret-looking query parameters replaced by ``***``."""

    def hide(match: re.Match[str]) -> str:
        if not SECRET_NAME.search(match["name"]):
            return match[0]
        return f"{match['lead']}{match['name']}{match['eq']}***"

    return _PARAM.sub(hide, text)


class RedactSecrets(logging.Filter):
    """Rewrites a record whose message holds a secret query parameter."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Put the filter on Tornado's loggers (once; calling again changes nothing)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
