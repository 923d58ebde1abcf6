"""The home page's lists of contests and visits, rendered once a language and kept in the cache.

Every visitor of the home page sees the same lists: the open, upcoming and
past contests with their numbers of confirmed entries, and the visits. They
are rendered from the database once per language (``contests/_home_lists.html``,
with no request, so nothing of a visitor, no CSRF token, can be in them) and
kept in the cache until the first of:

- ``HOME_PAGE_CACHE_SECONDS`` (60 by default) have passed, so a number of
  confirmed entries is at most that old;
- a contest opens or closes, or the day changes (the lists and the contests'
  states follow from the time);
- a contest, its draw or a visit is saved or deleted: each save moves the
  lists' generation (``home_lists_changed``), at once and again when the
  transaction commits, so that a request which read the rows before the
  commit cannot keep them.

One cache read answers a visit (the generation and the language's lists
together). While the cache does not answer (django-redis with
``IGNORE_EXCEPTIONS``) every visit renders the lists itself.
"""

import secrets
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from visits.models import Visit

from . import selectors
from .models import Contest, Draw

GENERATION_KEY = "home-lists:generation"
LISTS_TEMPLATE = "contests/_home_lists.html"


def _lists_key(language: str) -> str:
    return f"home-lists:{language}"


def home_lists(*, now: datetime | None = None) -> SafeString:
    """The home page's lists in the active language, from the cache when they are still true."""
    now = now or timezone.now()
    key = _lists_key(translation.get_language())
    kept = cache.get_many([GENERATION_KEY, key])
    generation = kept.get(GENERATION_KEY)
    lists = kept.get(key)
    if generation is not None and lists is not None:
        lists_generation, valid_until, html = lists
        if lists_generation == generation and now < valid_until:
            return mark_safe(html)  # noqa: S308 - rendered by Django's templates, escaped there
    if generation is None:
        # The first request since the cache was emptied names the generation.
        # When another one named it first, or the cache does not answer, the
        # lists are rendered but not kept: they could not be found again.
        generation = secrets.token_hex(8)
        if not cache.add(GENERATION_KEY, generation, timeout=None):
            return _render(now)[0]
    html, valid_until = _render(now)
    seconds = max(1, int((valid_until - now).total_seconds()) + 1)
    cache.set(key, (generation, valid_until, str(html)), timeout=seconds)
    return html


def _render(now: datetime) -> tuple[SafeString, datetime]:
    """The lists rendered from the database, and until when they are true."""
    contests = selectors.contests_for_home(now=now)
    html = render_to_string(LISTS_TEMPLATE, contests)
    ends = [now + timedelta(seconds=settings.HOME_PAGE_CACHE_SECONDS)]
    ends += [contest.closes_at for contest in contests["open"]]
    ends += [contest.opens_at for contest in contests["upcoming"]]
    # The visits are listed as upcoming or past by the site's date.
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    ends.append(datetime.combine(tomorrow, time.min, tzinfo=timezone.get_current_timezone()))
    return mark_safe(html), min(ends)  # noqa: S308 - rendered by Django's templates


def home_lists_changed() -> None:
    """Have the next visit of the home page render its lists again, and again after the commit."""
    _new_generation()
    transaction.on_commit(_new_generation)


def _new_generation() -> None:
    cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)


def _changed(sender, **kwargs) -> None:
    home_lists_changed()


def connect_signals() -> None:
    """Move the lists' generation whenever what they show is saved or deleted.

    Signals, not the services, because the lists depend on every way these
    rows change (the services, the admin's saves and deletes, cascades); they
    only empty a cache and drive nothing of the domain.
    """
    for model in (Contest, Draw, Visit):
        for signal in (post_save, post_delete):
            signal.connect(_changed, sender=model, dispatch_uid=f"home-lists-{model.__name__}")
