"""A real SMTP server whose answers each test writes: aiosmtpd with a scripted handler."""

import asyncio
import email
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from tests.support import free_port, wait_until

ACCEPTED = "250 Message accepted for delivery"


class ScriptedSmtp:
    """An aiosmtpd handler that refuses as told: a sender, some recipients, the next messages.

    ``recipients`` maps an address to the answer to its RCPT (e.g. "550 5.1.1
    No such user"); ``sender`` answers every MAIL FROM; ``data`` holds the
    answers to the next messages, one each, then they are accepted; ``delay``
    is how long the server takes to answer a message.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: list[str] = []
        self.recipients: dict[str, str] = {}
        self.sender: str | None = None
        self.data: list[str] = []
        self.delay = 0.0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.sender:
            with self.lock:
                self.refused.append(self.sender)
            return self.sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        answer = self.recipients.get(address.lower())
        if answer:
            with self.lock:
                self.refused.append(answer)
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.data:
                answer = self.data.pop(0)
                self.refused.append(answer)
                return answer
            self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return ACCEPTED

    def keys(self) -> list[str]:
        """The X-TweetUp-Key of each message received, in order."""
        with self.lock:
            return [message["X-TweetUp-Key"] for message in self.messages]

    def wait_for(self, count: int, *, timeout: float = 20) -> list[EmailMessage]:
        wait_until(
            lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} mail(s) by SMTP"
        )
        return list(self.messages)


class ScriptedServer:
    def __init__(self, handler: ScriptedSmtp, port: int) -> None:
        self.handler = handler
        self.host = "127.0.0.1"
        self.port = port

    def mailers(self, *, timeout: float = 5, data_timeout: float | None = None) -> dict:
        """A MAILERS setting that sends through this server with the site's SMTP backend."""
        options = {"host": self.host, "port": self.port, "timeout": timeout}
        if data_timeout is not None:
            options["data_timeout"] = data_timeout
        return {"default": {"BACKEND": "notifications.mail.SmtpEmailBackend", "OPTIONS": options}}


@pytest.fixture(scope="session")
def _scripted_controller() -> Iterator[ScriptedServer]:
    handler = ScriptedSmtp()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield ScriptedServer(handler, port)
    finally:
        controller.stop()


@pytest.fixture
def scripted_smtp(_scripted_controller, settings) -> ScriptedServer:
    """A real SMTP server (aiosmtpd) that accepts everything until told otherwise.

    The site sends through it for the length of the test.
    """
    _scripted_controller.handler.reset()
    settings.MAILERS = _scripted_controller.mailers()
    return _scripted_controller
