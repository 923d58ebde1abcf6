"""The SMTP backend the outbox sends through: Django's, patient with the answer to a mail."""

import smtplib

from django.core.mail.backends import smtp


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
