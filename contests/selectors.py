"""Read queries shared by several views."""

from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import Contest, Entry, Selection, SelectionEvent


def contests_public() -> QuerySet[Contest]:
    return Contest.objects.filter(published=True).select_related("draw", "visit")


def contests_with_counts(contests: QuerySet[Contest] | None = None) -> QuerySet[Contest]:
    """Published contests (or these), each with its number of confirmed entries.

    The number is the one the database keeps (``EntryCount``): reading it costs
    the same at ten entries and at a million.
    """
    return (contests_public() if contests is None else contests).annotate(
        confirmed_count=Coalesce(F("entry_count__confirmed"), 0)
    )


def contests_open(*, now: datetime) -> QuerySet[Contest]:
    """Published contests taking entries at ``now``, closing soonest first."""
    return contests_public().filter(opens_at__lte=now, closes_at__gt=now).order_by("closes_at")


def contests_for_visit(visit) -> list[Contest]:
    """The published contests that lead to a visit (their slugs and titles)."""
    return list(
        contests_public().filter(visit=visit).select_related(None).only("slug", "title", "visit")
    )


# What a contest's card (contests/_contest_card.html) reads: its state, times,
# title and hashtag (every language's column), and the addresses it links to.
CARD_FIELDS = (
    "slug",
    "title",
    "hashtag",
    "published",
    "opens_at",
    "closes_at",
    "time_zone",
    "frozen_at",
    # Once frozen, a card counts the tickets in the draw, as the contest's page does.
    "tickets_count",
    "visit__slug",
    "draw__id",
)


def contests_for_cards(contests: QuerySet[Contest] | None = None) -> QuerySet[Contest]:
    """Published contests (or these) with what their cards show, and no other column."""
    return contests_with_counts(contests).only(*CARD_FIELDS)


def contests_for_home(*, now: datetime | None = None) -> dict[str, list[Contest]]:
    """Open and upcoming contests, and past ones (closed, frozen or drawn), for their cards."""
    now = now or timezone.now()
    contests = contests_for_cards()
    return {
        "open": list(contests_for_cards(contests_open(now=now))),
        "upcoming": list(contests.filter(opens_at__gt=now).order_by("opens_at")),
        "past": list(contests.filter(closes_at__lte=now).order_by("-closes_at")[:20]),
    }


# Organizer dashboard: each function is one query, whatever the number of entries.


def contest_entry_counts(contest: Contest) -> dict[str, int]:
    """Entries, confirmed entries and tickets in the draw, in one aggregate query."""
    cutoff = contest.tickets_cutoff
    in_draw = (
        Q(confirmed_at__lt=cutoff, invalidated_at__isnull=True) if cutoff else Q(pk__isnull=True)
    )
    return Entry.objects.filter(contest=contest).aggregate(
        total=Count("pk"),
        confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
        in_draw=Count("pk", filter=in_draw),
    )


def contest_entries_per_day(contest: Contest) -> list[dict]:
    """Entries and confirmed entries per day (in the contest's time zone), gaps as zeros."""
    rows = (
        Entry.objects.filter(contest=contest)
        .annotate(day=TruncDate("created_at", tzinfo=contest.tzinfo))
        .values("day")
        .annotate(total=Count("pk"), confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)))
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    if not by_day:
        return []
    days: list[dict] = []
    day: date = min(by_day)
    last = max(by_day)
    while day <= last:
        row = by_day.get(day, {})
        days.append(
            {"day": day, "total": row.get("total", 0), "confirmed": row.get("confirmed", 0)}
        )
        day += timedelta(days=1)
    return days


def contest_entries_by(contest: Contest, field: str) -> list[dict]:
    """Entries and confirmed entries per value of a plain field (country, background)."""
    if field not in {"country", "background", "language"}:
        raise ValueError(f"No breakdown by {field!r}.")
    return list(
        Entry.objects.filter(contest=contest)
        .values(value=F(field))
        .annotate(total=Count("pk"), confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)))
        .order_by("-total", "value")
    )


def _entries_by_language_sql() -> str:
    """The FROM clause of the entries (``e``) joined to each language they speak (``lang.value``).

    The JSON lists are unnested in SQL (jsonb_array_elements_text on
    PostgreSQL, json_each on SQLite), so the cost stays in the database.
    """
    table = connection.ops.quote_name(Entry._meta.db_table)
    if connection.vendor == "postgresql":
        return f"{table} AS e, jsonb_array_elements_text(e.languages) AS lang(value)"
    if connection.vendor == "sqlite":
        return f"{table} AS e, json_each(e.languages) AS lang"
    raise NotImplementedError(f"No languages spoken on {connection.vendor}.")


def contest_entries_by_language(contest: Contest) -> list[dict]:
    """Entries and confirmed entries per language spoken (a JSON list on each entry).

    One query: the list is unnested in SQL (see _entries_by_language_sql).
    """
    # Only the quoted table name is interpolated; the contest is a parameter.
    sql = (
        f"SELECT lang.value, COUNT(*), COUNT(e.confirmed_at) "  # noqa: S608
        f"FROM {_entries_by_language_sql()} "
        "WHERE e.contest_id = %s GROUP BY lang.value ORDER BY 2 DESC, 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [contest.pk])
        return [
            {"value": value, "total": total, "confirmed": confirmed}
            for value, total, confirmed in cursor.fetchall()
        ]


def entry_languages_in_use() -> list[str]:
    """The languages spoken in at least one entry, as codes, in one query.

    The JSON lists are unnested in SQL (see _entries_by_language_sql).
    """
    # Only the quoted table name is interpolated.
    sql = f"SELECT DISTINCT lang.value FROM {_entries_by_language_sql()}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [value for (value,) in cursor.fetchall()]


def entry_countries_in_use() -> list[str]:
    """The countries of at least one entry, as codes, in one query."""
    return list(Entry.objects.order_by().values_list("country", flat=True).distinct())


def contest_selections(contest: Contest) -> list[Selection]:
    """The draw's selections with their entries and their logs (two queries)."""
    events = SelectionEvent.objects.select_related("actor").order_by("at", "pk")
    return list(
        Selection.objects.filter(draw__contest=contest)
        .select_related("entry")
        .prefetch_related(Prefetch("events", queryset=events))
        .order_by("-kind", "position")
    )


def draw_answers(draw) -> dict[str, int]:
    """How many places of a draw were answered (accepted or declined), and how many by staff.

    A winner answers through the signed link of their mail, which records no
    actor; an answer with an actor was given by a staff member in the winner's
    stead. One aggregate query.
    """
    answers = (SelectionEvent.Action.ACCEPTED, SelectionEvent.Action.DECLINED)
    return SelectionEvent.objects.filter(selection__draw=draw, action__in=answers).aggregate(
        answered=Count("pk"), by_staff=Count("pk", filter=Q(actor__isnull=False))
    )
