"""How the outbox's mail is built and sent: Django's message and SMTP backend, made for bulk.

``OutboxEmail`` is Django's multipart message whose MIME is built by the
standard library's classic email API, with ``BulkPolicy`` folding its
headers; ``SmtpEmailBackend`` is Django's SMTP backend, patient with the
answer to a mail. A bulk mail's cost is building each message, so each
saving here is checked against the code it replaces
(``tests/notifications/test_mail.py``).
"""

import email.policy
import functools
import re
import secrets
import smtplib
from email import base64mime
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.utils import DNS_NAME
from django.utils import timezone

# RFC 2047 allows an encoded word 75 characters. compat32 writes one as long
# as its line less the space that continues it: 77 at 78 characters.
ENCODED_LINE = 76


class BulkPolicy(email.policy.Compat32):
    """The classic API's policy, folding headers as it does, at a fraction of the cost.

    ``compat32`` folds every header through ``email.header.Header``, even a
    short ASCII one that it gives back unchanged: most of the CPU of a bulk
    mail. Such a header (printable ASCII, its line within
    ``max_line_length``) is written as it is here, and so is one without a
    space to fold at, up to RFC 5322's 998 characters (compat32 would begin
    it on a line of its own, which reads back with a leading space). Any
    other is folded by ``compat32`` within ENCODED_LINE characters, so that
    each encoded word keeps to RFC 2047's 75, once per process and
    remembered, since a bulk mail repeats it (the subject, the sender).
    """

    def _plain(self, name: str, value) -> str | None:
        """The header on one line, when it is printable ASCII that fits or cannot be folded."""
        if not (isinstance(value, str) and value.isascii() and value.isprintable()):
            return None
        length = len(name) + 2 + len(value)
        if length <= (self.max_line_length or 0) or (length <= 998 and " " not in value):
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name, value):
        plain = self._plain(name, value)
        if plain is not None:
            return plain
        if isinstance(value, str):
            return _folded(self.linesep, name, value, binary=False)
        return super().fold(name, value)

    def fold_binary(self, name, value):
        plain = self._plain(name, value)
        if plain is not None:
            return plain.encode("ascii")
        if isinstance(value, str):
            return _folded(self.linesep, name, value, binary=True)
        return super().fold_binary(name, value)


@functools.lru_cache(maxsize=512)
def _folded(linesep: str, name: str, value: str, *, binary: bool) -> str | bytes:
    """A header as ``compat32`` folds it within ENCODED_LINE characters."""
    policy = email.policy.compat32.clone(linesep=linesep, max_line_length=ENCODED_LINE)
    return policy.fold_binary(name, value) if binary else policy.fold(name, value)


# One policy per line ending: SMTP's CRLF, or "\n" for files.
_POLICIES = {linesep: BulkPolicy(linesep=linesep, max_line_length=78) for linesep in ("\r\n", "\n")}


def text_part(content: str, subtype: str, *, policy: email.policy.Policy) -> MIMENonMultipart:
    """A text part in UTF-8 and base64: what ``MIMEText(content, subtype, "utf-8")`` makes.

    Built from its headers and encoded payload directly, since ``MIMEText``
    spends most of its time reading back the parameters of the header it
    has just written.
    """
    part = MIMENonMultipart("text", subtype, policy=policy, charset="utf-8")
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64mime.body_encode(content.encode()))
    return part


@functools.lru_cache(maxsize=64)
def _sender(from_email: str) -> str:
    """The From header of a sender, its name quoted as RFC 5322 asks; the same on every mail."""
    return formataddr(parseaddr(from_email), charset="utf-8")


class OutboxEmail(EmailMultiAlternatives):
    """A mail of the outbox: a text body, an HTML alternative, ASCII addresses, a few headers.

    Django builds its messages with the standard library's modern email API,
    which parses and folds every header through its header registry: about
    three times the CPU of the classic API (``email.mime``) for the same
    message, the largest cost of sending a bulk mail. Such a mail is built
    here with the classic API (bodies in UTF-8, base64; a non-ASCII subject
    encoded as RFC 2047 asks, see ``BulkPolicy``). Anything else
    (attachments, copies, addresses that are not ASCII) goes through
    Django's own ``message()``. A header that holds a line break is refused
    with ValueError, as Django refuses it.
    """

    def _classic(self) -> bool:
        addresses = [self.from_email, *self.to]
        return (
            not (self.attachments or self.cc or self.bcc or self.reply_to)
            and all(mimetype == "text/html" for _content, mimetype in self.alternatives)
            and len(self.alternatives) <= 1
            and all(address.isascii() for address in addresses)
            and not any(
                name.lower() in {"from", "to", "date", "message-id"} for name in self.extra_headers
            )
        )

    def message(self, *, policy=email.policy.default):
        if not self._classic():
            return super().message(policy=policy)
        classic = _POLICIES.get(policy.linesep) or BulkPolicy(
            linesep=policy.linesep, max_line_length=78
        )
        headers = {"Subject": str(self.subject), **self.extra_headers}
        for value in (*headers.values(), self.from_email, *self.to):
            if "\n" in str(value) or "\r" in str(value):
                raise ValueError("Header values can't contain linefeeds.")
        text = text_part(self.body, "plain", policy=classic)
        if self.alternatives:
            # The parts are base64, whose alphabet has no "_": the boundary
            # cannot occur in them, so the generator need not search them
            # for a boundary of its own (a regular expression compiled per mail).
            boundary = f"=_{secrets.token_hex(12)}"
            message = MIMEMultipart("alternative", boundary=boundary, policy=classic)
            message.attach(text)
            message.attach(text_part(self.alternatives[0].content, "html", policy=classic))
        else:
            message = text
        message["Subject"] = str(self.subject)
        message["From"] = _sender(str(self.from_email))
        message["To"] = ", ".join(self.to)
        # As Django dates its mail: its zone's offset, or +0000 (not "-0000", no zone known).
        now = timezone.localtime() if settings.EMAIL_USE_LOCALTIME else timezone.now()
        message["Date"] = format_datetime(now)
        message["Message-ID"] = make_msgid(domain=str(DNS_NAME))
        for name, value in self.extra_headers.items():
            message[name] = str(value)
        return message


# A plain addr-spec in ASCII (a dot-atom on each side of the "@", RFC 5322
# 3.4.1 and 3.2.3), as nearly every recipient's address is: Django's parser
# gives it back unchanged and finds nothing wrong with it.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_ATEXT}+(?:\.{_ATEXT}+)*")


class SmtpEmailBackend(smtp.EmailBackend):
    """Django's SMTP backend, waiting ``data_timeout`` seconds for the server's answer to a mail.

    The ``timeout`` option bounds connecting and each exchange of the
    greeting; once connected, the answer to the message itself may take
    ``data_timeout`` (RFC 5321, 4.5.3.2.6, suggests ten minutes). A server that
    accepts a mail slowly would otherwise see the site give up, and get the
    same mail again at the next try. An error on QUIT, after the server
    accepted the mail, is not a failure to send it. Addresses are checked
    and reduced to their addr-spec as Django does, at less cost: a plain
    one (``name@example.org``) is its own addr-spec, and the sender's, the
    same on every mail, is parsed once.
    """

    def __init__(self, *, data_timeout: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_timeout = data_timeout
        self._prepared = functools.lru_cache(maxsize=16)(super().prep_address)

    def prep_address(self, address, force_ascii=True):
        if isinstance(address, str) and _PLAIN_ADDRESS.fullmatch(address):
            return address
        return self._prepared(address, force_ascii)

    def _send(self, email_message) -> bool:
        sock = getattr(self.connection, "sock", None)
        if self.data_timeout and sock is not None:
            sock.settimeout(self.data_timeout)
        return super()._send(email_message)

    def _close_connection(self, connection) -> None:
        try:
            super()._close_connection(connection)
        except smtplib.SMTPException:
            connection.close()
