"""How the outbox's mail is built and sent: Django's message and SMTP backend, made for bulk.

``OutboxEmail`` is Django's multipart message whose MIME is built by the
standard library's classic email API; ``SmtpEmailBackend`` is Django's SMTP
backend, patient with the answer to a mail.
"""

import email.policy
import smtplib
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.utils import DNS_NAME


class OutboxEmail(EmailMultiAlternatives):
    """A mail of the outbox: a text body, an HTML alternative, ASCII addresses, a few headers.

    Django builds its messages with the standard library's modern email API,
    which parses and folds every header through its header registry: about
    three times the CPU of the classic API (``email.mime``) for the same
    message, the largest cost of sending a bulk mail. Such a mail is built
    here with the classic API (bodies in UTF-8, base64; a non-ASCII subject
    encoded as RFC 2047 asks). Anything else (attachments, copies, addresses
    that are not ASCII) goes through Django's own ``message()``. A header
    that holds a line break is refused with ValueError, as Django refuses it.
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
        classic = email.policy.compat32.clone(linesep=policy.linesep)
        headers = {"Subject": str(self.subject), **self.extra_headers}
        for value in (*headers.values(), self.from_email, *self.to):
            if "\n" in str(value) or "\r" in str(value):
                raise ValueError("Header values can't contain linefeeds.")
        text = MIMEText(self.body, "plain", "utf-8", policy=classic)
        if self.alternatives:
            message = MIMEMultipart("alternative", policy=classic)
            message.attach(text)
            message.attach(MIMEText(self.alternatives[0].content, "html", "utf-8", policy=classic))
        else:
            message = text
        subject = str(self.subject)
        message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
        message["From"] = formataddr(parseaddr(self.from_email), charset="utf-8")
        message["To"] = ", ".join(self.to)
        message["Date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        message["Message-ID"] = make_msgid(domain=str(DNS_NAME))
        for name, value in self.extra_headers.items():
            message[name] = str(value)
        return message


class SmtpEmailBackend(smtp.EmailBackend):
    """Django's SMTP backend, waiting ``data_timeout`` seconds for the server's answer to a mail.

    The ``timeout`` option bounds connecting and each exchange of the
    greeting; once connected, the answer to the message itself may take
    ``data_timeout`` (RFC 5321, 4.5.3.2.6, suggests ten minutes). A server that
    accepts a mail slowly would otherwise see the site give up, and get the
    same mail again at the next try. An error on QUIT, after the server
    accepted the mail, is not a failure to send it.
    """

    def __init__(self, *, data_timeout: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_timeout = data_timeout

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
