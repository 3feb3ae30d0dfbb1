"""Invitation mail through a real SMTP server (aiosmtpd) on a free port."""

from __future__ import annotations

import pytest

from providers.errors import ProviderError
from providers.mail import send_mail
from tests.ui.conftest import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.mail_from, envelope.rcpt_tos, envelope.content.decode("utf-8"))
        )
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_an_invitation_is_delivered(smtp):
    inbox, port = smtp
    send_mail(
        f"smtp://127.0.0.1:{port}",
        "curvehouse@plant.example",
        "new@plant.example",
        "Join demo on Curvehouse",
        "Open http://plant:5006/invite?token=abc\n",
    )
    [(sender, to, text)] = inbox.messages
    assert (sender, to) == ("curvehouse@plant.example", ["new@plant.example"])
    assert "Subject: Join demo on Curvehouse" in text and "invite?token=abc" in text


def test_an_unreachable_server_is_a_clear_error():
    with pytest.raises(ProviderError, match=r"Could not send mail through 127\.0\.0\.1"):
        send_mail(f"smtp://127.0.0.1:{free_port()}", "a@b.example", "c@d.example", "s", "b")
    with pytest.raises(ProviderError, match="must look like"):
        send_mail("http://mail.example", "a@b.example", "c@d.example", "s", "b")
