"""Helpers for the freeze and selection tests: closed contests with their entries, and mail.

A drawn contest comes from the one builder, ``tests.builders.drawn_contest``.
"""

import re
from datetime import timedelta

from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from contests.models import Contest, Entry
from contests.services.draws import contest_freeze
from tests.factories import ContestFactory, EntryFactory, staff_user
from tweetup.roles import ORGANIZERS

COUNTRIES = ("CH", "FR", "DE", "IT", "GB", "US", "JP", "BR")
BACKGROUNDS = ("science", "engineering", "student", "teaching", "arts")


def closed_contest(**fields) -> Contest:
    """A published contest that closed an hour ago."""
    now = timezone.now()
    fields.setdefault("opens_at", now - timedelta(days=10))
    fields.setdefault("closes_at", now - timedelta(hours=1))
    return ContestFactory(**fields)


def add_entries(contest: Contest, count: int, **fields) -> list[Entry]:
    """``count`` entries confirmed before closing, with varied countries and backgrounds."""
    fields.setdefault("confirmed_at", contest.closes_at - timedelta(hours=2))
    entries = []
    for n in range(count):
        entry = EntryFactory.build(contest=contest, **fields)
        if "country" not in fields:
            entry.country = COUNTRIES[n % len(COUNTRIES)]
        if "background" not in fields:
            entry.background = BACKGROUNDS[(n // 3) % len(BACKGROUNDS)]
        entries.append(entry)
    return Entry.objects.bulk_create(entries)


def organizer(username: str = "orga") -> User:
    """A staff user in the Organizers group (made again if a transactional test flushed it)."""
    return staff_user(username, ORGANIZERS)


def frozen_contest(entries: int = 30, **fields) -> Contest:
    contest = closed_contest(**fields)
    add_entries(contest, entries)
    return contest_freeze(contest=contest, actor=None)


def mails_to(entry: Entry) -> list:
    return [message for message in mail.outbox if message.to == [entry.email]]


def links_in(message) -> dict[str, str]:
    """The accept and decline links of an offer mail, by action."""
    return {
        action: url
        for url, action in re.findall(r"(https?://\S+/place/\S+/(accept|decline)/)", message.body)
    }
