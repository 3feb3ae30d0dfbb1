"""Outgoing mail for invitations, through the SMTP server in ``CURVEHOUSE_SMTP_URL``.

``smtp://user:password@host:587`` uses STARTTLS when the server offers it; ``smtps://`` is TLS
from the start. Without a URL nothing is sent and the caller shows the link instead.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from providers.errors import ProviderError


def send_mail(
    smtp_url: str,
    sender: str,
    to: str | Sequence[str],
    subject: str,
    body: str,
    *,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> None:
    """Send ``body`` to ``to`` (one address or several), with ``attachments`` as (file name,
    media type, bytes)."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ProviderError("CURVEHOUSE_SMTP_URL must look like smtp://user:password@host:587")
    message = EmailMessage()
    to = to if isinstance(to, str) else ", ".join(to)
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    for filename, media, data in attachments:
        kind, _, sub = media.partition("/")
        message.add_attachment(data, maintype=kind, subtype=sub, filename=filename)
    kind = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    try:
        with kind(parts.hostname, port, timeout=15) as server:
            server.ehlo()
            if parts.scheme == "smtp" and server.has_extn("starttls"):
                server.starttls()
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise ProviderError(f"Could not send mail through {parts.hostname}:{port}: {exc}") from exc
