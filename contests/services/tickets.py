"""Reading the tickets in a frozen draw: page by page, bytewise, and their digest.

The freeze, the draw and the audit record (draw.json) all read the tickets
here. Each page is one short query of ``PAGE_SIZE`` tickets in bytewise order,
keyed on the last ticket of the page before, on the index (contest, ticket
COLLATE "C"): no model object per entry, no server-side cursor (so it works
behind PgBouncer in transaction mode), and never more than a page in memory.
``TicketsDigest`` hashes them as the published tickets digest does.
"""

import hashlib
import itertools
import operator
from collections.abc import Iterator

from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.functions import Collate

from .. import draw_algorithm
from ..models import Contest, Entry

# Tickets read per query (and per call of a progress callback).
PAGE_SIZE = 10_000
CHUNK_SIZE = PAGE_SIZE


def _bytewise(queryset: QuerySet[Entry]) -> QuerySet[Entry]:
    """Order by ticket, bytewise (the order of the audit record), in the database."""
    if connections[queryset.db].vendor == "postgresql":
        # The "C" collation compares bytes, whatever the database's own collation.
        return queryset.alias(bytewise=Collate("ticket", "C")).order_by("bytewise")
    # SQLite's default BINARY collation already compares the UTF-8 bytes.
    return queryset.alias(bytewise=F("ticket")).order_by("bytewise")


def _fetch(queryset: QuerySet) -> list[tuple]:
    """The rows of a values_list queryset as plain tuples, on a client-side cursor."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def ticket_pages(contest: Contest, fields: tuple[str, ...] = ()) -> Iterator[list[tuple]]:
    """Pages of ``(ticket, *fields)`` rows of the tickets in the draw, sorted bytewise.

    Each page is one query starting after the last ticket of the page before
    (keyset pagination on the index (contest, ticket COLLATE "C")), so no
    cursor stays open between pages and no more than ``PAGE_SIZE`` rows are
    held. The set is fixed once frozen, so the pages add up to it.
    """
    if contest.tickets_cutoff is None:
        return
    rows = _bytewise(Entry.objects.in_draw(contest)).values_list("ticket", *fields)
    after = None
    while True:
        page = _fetch((rows if after is None else rows.filter(bytewise__gt=after))[:PAGE_SIZE])
        if page:
            yield page
        if len(page) < PAGE_SIZE:
            return
        after = page[-1][0]


def tickets_sorted(contest: Contest) -> Iterator[str]:
    """Stream the tickets in the draw, sorted bytewise, a page at a time."""
    for page in ticket_pages(contest):
        yield from map(operator.itemgetter(0), page)


class _SharedValues(dict):
    """The capped values of a ticket as one dict per combination of values, made once."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        super().__init__()
        self.fields = fields

    def __missing__(self, key) -> dict[str, str]:
        values = key if len(self.fields) > 1 else (key,)
        shared = self[key] = {
            field: str(value or "") for field, value in zip(self.fields, values, strict=True)
        }
        return shared


def attribute_pages(
    contest: Contest, fields: tuple[str, ...]
) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """Pages of (ticket, {field: value}) for the capped fields, sorted bytewise by ticket.

    Entries sharing the same values share one dict, so a page costs a slot
    per ticket, not a dict per ticket, and no Python-level call per ticket.
    """
    shared = _SharedValues(fields)
    values_of = operator.itemgetter(*range(1, len(fields) + 1))
    for page in ticket_pages(contest, fields):
        yield list(
            zip(
                map(operator.itemgetter(0), page),
                map(shared.__getitem__, map(values_of, page)),
                strict=True,
            )
        )


class TicketsDigest:
    """Hash tickets as the tickets digest does, a page at a time.

    The tickets must come sorted bytewise (``ordered`` says whether they
    did, each strictly after the one before); ``add`` raises ValueError on a
    ticket that cannot be one (empty, or holding a newline).
    """

    def __init__(self) -> None:
        self.count = 0
        self.ordered = True
        self._hash = hashlib.sha256()
        self._last: str | None = None

    def add(self, tickets: list[str]) -> None:
        if not tickets:
            return
        data = "\n".join(tickets).encode()
        if data.count(b"\n") != len(tickets) - 1 or "" in tickets:
            for ticket in tickets:
                problem = draw_algorithm.ticket_problem(ticket)
                if problem is not None:
                    raise ValueError(problem)
        # Python compares str by code point, which is the bytewise order of UTF-8.
        if (self._last is not None and not self._last < tickets[0]) or not all(
            map(operator.lt, tickets, itertools.islice(tickets, 1, None))
        ):
            self.ordered = False
        if self._last is not None:
            self._hash.update(b"\n")
        self._hash.update(data)
        self._last = tickets[-1]
        self.count += len(tickets)

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()
