"""The outbox's mail as it goes on the wire: built cheaply, and still what the RFCs ask.

``notifications.mail`` builds each mail of a bulk send with less of the
standard library's machinery (headers folded only when they need it, text
parts built from their encoded payload, plain addresses taken as they are).
Each shortcut is checked here against the machinery it skips, on many
values; and mail sent by the real worker to a real SMTP server is read back
with the email package.
"""

import email
import email.policy
import random
import re
from datetime import timedelta
from email.mime.text import MIMEText

import pytest
from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend
from django.db import connection
from django.utils import timezone

from notifications.mail import BulkPolicy, SmtpEmailBackend, text_part
from notifications.models import OutboxMessage
from notifications.services import outbox
from notifications.services.outbox import Mail
from tests.conftest import need
from tests.support import celery_publishing_to, wait_until
from tests.support import text_part as received_text

# A title long enough, and French enough, to need several encoded words.
LONG_TITLE = (
    "Journée « derrière les coulisses » au Centre de calcul et au Centre de contrôle "
    "du CERN : visite guidée, questions du public et conférence de clôture, édition d’été"
)
HEADER_NAMES = ("Subject", "To", "From", "X-TweetUp-Key", "Content-Type", "Message-ID")


def header_values(rng: random.Random, count: int) -> list[str]:
    """Header values of every kind the folding treats apart: short and long, ASCII or not,
    with tabs, runs of spaces, control characters and things that look like encoded words.

    None breaks a line (a subject is rendered on one, a line break in a header is refused).
    """
    pieces = [
        "a",
        "Zoë",
        "«",
        "»",
        "’",
        "é",
        "€",
        "😀",
        " ",
        "  ",
        "\t",
        "\x00",
        "\x7f",
        "=?utf-8?q?x?=",
        ";",
        ",",
        "<tweetup@example.org>",
        'boundary="=_0123456789abcdef"',
        "not_chosen:12:345",
        "word",
        "x" * 40,
    ]
    values = ["", " ", "leading", " leading space", "trailing ", "x" * 76, "x" * 77, "é" * 80]
    while len(values) < count:
        values.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))))
    return values


ENCODED_WORD = re.compile(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=")


@pytest.mark.parametrize("linesep", ["\r\n", "\n"])
def test_the_bulk_policy_folds_as_compat32_with_encoded_words_of_at_most_75_characters(linesep):
    """A printable ASCII header that compat32 leaves as it is, or cannot fold, is written as it
    is; any other is folded by compat32 within 76 characters (at 78 its encoded words reach 77).
    """
    bulk = BulkPolicy(linesep=linesep, max_line_length=78)
    classic = email.policy.compat32.clone(linesep=linesep, max_line_length=78)
    narrow = email.policy.compat32.clone(linesep=linesep, max_line_length=76)
    rng = random.Random(11)
    for value in header_values(rng, 800):
        for name in HEADER_NAMES:
            folded = bulk.fold_binary(name, value)
            assert bulk.fold_binary(name, value) == folded  # remembered, or written again
            assert bulk.fold(name, value).encode("ascii") == folded
            one_line = f"{name}: {value}{linesep}"
            plain = value.isascii() and value.isprintable()
            fits = len(one_line) <= 78 + len(linesep)
            unfoldable = " " not in value and len(one_line) <= 998 + len(linesep)
            if plain and fits:
                assert folded == one_line.encode() == classic.fold_binary(name, value)
            elif plain and unfoldable:
                assert folded == one_line.encode(), (name, value)
            else:
                assert folded == narrow.fold_binary(name, value), (name, value)
            lines = folded.decode("ascii").split(linesep)
            assert all(len(word) <= 75 for word in ENCODED_WORD.findall(folded.decode())), folded
            assert all(len(line) <= 998 for line in lines)
            if not value.isascii():
                assert all(len(line) <= 78 for line in lines), folded
            if (
                name in ("Subject", "X-TweetUp-Key")  # unstructured: read back as written
                and value == " ".join(value.split())
                and value.isprintable()
                and "=?" not in value
                and (not value.isascii() or max(map(len, value.split()), default=0) < 60)
            ):
                read = email.message_from_bytes(
                    folded + linesep.encode(), policy=email.policy.default
                )
                assert read[name] == value, (name, value)


def test_a_text_part_is_byte_for_byte_the_one_mimetext_builds():
    policy = BulkPolicy(linesep="\r\n", max_line_length=78)
    rng = random.Random(12)
    alphabet = "aZ é’«»€😀\n\r\t<>=-.\x00"
    for _ in range(500):
        content = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        for subtype in ("plain", "html"):
            expected = MIMEText(content, subtype, "utf-8", policy=policy).as_bytes()
            assert text_part(content, subtype, policy=policy).as_bytes() == expected


def plain_addresses(rng: random.Random, count: int) -> list[str]:
    atext = "azAZ09!#$%&'*+/=?^_`{|}~-"

    def dot_atom() -> str:
        return ".".join(
            "".join(rng.choice(atext) for _ in range(rng.randint(1, 6)))
            for _ in range(rng.randint(1, 3))
        )

    return [f"{dot_atom()}@{dot_atom()}" for _ in range(count)]


def test_a_plain_address_is_taken_as_it_is_and_any_other_is_read_as_django_reads_it():
    ours = SmtpEmailBackend(alias="test", host="127.0.0.1")
    djangos = EmailBackend(alias="test", host="127.0.0.1")
    for address in plain_addresses(random.Random(13), 2000):
        assert ours.prep_address(address) == djangos.prep_address(address) == address
    others = [
        "TweetUp <tweetup@example.org>",
        '"Zoë, CERN" <zoe@example.org>',
        "zoe@exämple.org",
        "zoe@example.org ",
        "zoe@[127.0.0.1]",
        "a..b@example.org",
        ".a@example.org",
        "a@example.org.",
        "zoe@example.org\r\nBcc: eve@example.org",
        "zoe@example.org\nBcc: eve@example.org",
        "zoe@example.org, eve@example.org",
        "zoë@example.org",
        "<>",
    ]
    for address in others:
        for _ in range(2):  # the second time from the cache
            assert outcome(ours, address) == outcome(djangos, address), address
    assert outcome(djangos, "zoe@example.org\r\nBcc: eve@example.org") is ValueError


def outcome(backend: EmailBackend, address: str) -> str | type[ValueError]:
    try:
        return backend.prep_address(address)
    except ValueError as exc:
        return type(exc)


def assert_rfc_valid(raw: bytes) -> None:
    """7-bit, lines of at most 998 octets, headers folded within 78, RFC 2047 encoded words."""
    assert raw.isascii()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
    for word in re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=", head):
        assert len(word) <= 75, word


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_french_bulk_mail_sent_by_the_worker_reads_back_whole_and_rfc_valid(
    machine_redis_url, smtp_server, celery_worker_factory
):
    need(connection.vendor == "postgresql", "the worker shares the test database")
    contest = {"title": LONG_TITLE}
    mails = [
        Mail(
            key=f"not_chosen:bulk:{n}",
            kind=OutboxMessage.Kind.NOT_CHOSEN,
            to=f"zoe.{n}@example.org",
            language=language,
            template="contests/mail/not_chosen",
            context={
                "entry": {"name": "Zoë Lefèvre"},
                "contest": contest,
                "contest_url": "https://tweetup.example.org/contests/cern/",
            },
        )
        for n, language in enumerate(["fr", "en", "fr"])
    ]
    worker = celery_worker_factory(broker_url=machine_redis_url)
    with celery_publishing_to(machine_redis_url, worker.queue):
        outbox.mail_enqueue_many(mails=mails)
        smtp_server.sink.wait_for(3)
        wait_until(
            lambda: OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT).count() == 3,
            timeout=30,
            what="three rows recorded sent",
        )
    rows = {row.key: row for row in OutboxMessage.objects.all()}
    assert rows["not_chosen:bulk:0"].subject.startswith("Merci de votre participation à « Journée")
    message_ids = set()
    for raw in smtp_server.sink.received:
        assert_rfc_valid(raw)
        assert b"=?utf-8?" in raw.partition(b"\r\n\r\n")[0]  # the subject, encoded
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message.defects == []
        row = rows[message["X-TweetUp-Key"]]
        assert message["Subject"] == row.subject
        assert message["From"] == settings.DEFAULT_FROM_EMAIL
        assert message["To"] == row.to_email
        assert abs(message["Date"].datetime - timezone.now()) < timedelta(minutes=5)
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message["Message-ID"])
        message_ids.add(message["Message-ID"])
        for name in ("Subject", "From", "To", "Date", "Message-ID"):
            assert message[name].defects == (), name
        assert message.get_content_type() == "multipart/alternative"
        text = received_text(message)
        assert text == row.body_text
        assert "Zoë Lefèvre" in text and LONG_TITLE in text
        footer = "Protection des données :" if row.language == "fr" else "Privacy notice:"
        assert footer in text and "/privacy/" in text
        html = message.get_body(preferencelist=("html",)).get_content()
        assert html == row.body_html and "Zoë Lefèvre" in html
    assert len(message_ids) == 3
