"""The itinerary of a visit: its stops, the rules of its day, and the record of their changes."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import VisitError
from ..models import StopChange, TourStop, Visit


@dataclass(frozen=True)
class StopSlot:
    """A tour stop as it is about to be saved: enough to check the day's rules."""

    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    pk: int | None = None


def _hm(moment: datetime, visit: Visit) -> str:
    return timezone.localtime(moment, visit.tzinfo).strftime("%H:%M")


def time_span(start: datetime, end: datetime, visit: Visit) -> str:
    """``10:00–11:30``: a span of the visit's day, read in its time zone."""
    return f"{_hm(start, visit)}–{_hm(end, visit)}"


def stops_conflicts(*, visit: Visit, stops: Sequence[StopSlot]) -> list[str]:
    """The rules of a visit's day that these stops break, as messages naming the stops.

    Each stop ends after it starts, lies within the visit's day (in its time
    zone), and no two stops overlap (one may start when the previous ends).
    Pure: reads nothing from the database.
    """
    errors: list[str] = []
    timed = []
    day_start, day_end = visit.day_start, visit.day_end
    for stop in stops:
        if stop.starts_at is None or stop.ends_at is None:
            continue
        if stop.ends_at <= stop.starts_at:
            errors.append(
                _("“%(stop)s” ends (%(end)s) before it starts (%(start)s).")
                % {
                    "stop": stop.title,
                    "start": _hm(stop.starts_at, visit),
                    "end": _hm(stop.ends_at, visit),
                }
            )
            continue
        if stop.starts_at < day_start or stop.ends_at > day_end:
            errors.append(
                _("“%(stop)s” is not within the day of the visit (%(date)s, %(zone)s).")
                % {"stop": stop.title, "date": visit.date.isoformat(), "zone": visit.time_zone}
            )
        timed.append(stop)
    timed.sort(key=lambda s: (s.starts_at, s.ends_at))
    for index, first in enumerate(timed):
        for second in timed[index + 1 :]:
            if second.starts_at >= first.ends_at:
                break
            errors.append(
                _(
                    "“%(first)s” (%(first_start)s–%(first_end)s) and “%(second)s” "
                    "(%(second_start)s–%(second_end)s) overlap."
                )
                % {
                    "first": first.title,
                    "first_start": _hm(first.starts_at, visit),
                    "first_end": _hm(first.ends_at, visit),
                    "second": second.title,
                    "second_start": _hm(second.starts_at, visit),
                    "second_end": _hm(second.ends_at, visit),
                }
            )
    return errors


def stops_validate(
    *, visit: Visit, stops: Sequence[StopSlot], deleted_pks: Iterable[int] = ()
) -> None:
    """Check the stops about to be saved together with the visit's other stops.

    Locks the visit's row (when it exists) so that two editors never save
    overlapping stops side by side; call it inside the transaction that then
    saves the stops. ``stops`` are the new or changed stops, ``deleted_pks``
    those about to go; every other stop of the visit is read from the
    database. Raises VisitError naming every conflict, by stop name; its
    ``extra["conflicts"]`` lists them one by one.
    """
    others: list[StopSlot] = []
    if visit.pk is not None:
        list(Visit.objects.select_for_update().filter(pk=visit.pk).values_list("pk", flat=True))
        mentioned = {s.pk for s in stops if s.pk is not None} | set(deleted_pks)
        others = [
            StopSlot(title=stop.title, starts_at=stop.starts_at, ends_at=stop.ends_at, pk=stop.pk)
            for stop in TourStop.objects.filter(visit_id=visit.pk).exclude(pk__in=mentioned)
        ]
    errors = stops_conflicts(visit=visit, stops=[*stops, *others])
    if errors:
        raise VisitError(" ".join(errors), extra={"conflicts": errors})


def stops_save(
    *,
    visit: Visit,
    stops: Sequence[TourStop],
    deleted: Sequence[TourStop] = (),
    actor=None,
) -> list[TourStop]:
    """Save a visit's new and changed stops and delete others, checked together.

    The stops are checked with the visit's other stops under the visit's lock
    (``stops_validate``), so two editors never save overlapping stops side by
    side, and a refused change saves nothing. A change of a stop's time or
    place is recorded, so the confirmed visitors hear of it. Raises
    VisitError naming the stops in conflict.
    """
    with transaction.atomic():
        stops_validate(
            visit=visit,
            stops=[
                StopSlot(title=s.title, starts_at=s.starts_at, ends_at=s.ends_at, pk=s.pk)
                for s in stops
            ],
            deleted_pks=[s.pk for s in deleted if s.pk is not None],
        )
        known = [s.pk for s in stops if s.pk is not None]
        before = {s.pk: s for s in TourStop.objects.select_related("location").filter(pk__in=known)}
        for stop in deleted:
            stop.delete()
        for stop in stops:
            stop.save()
            if stop.pk in before:
                stop_change_record(stop=stop, old=before[stop.pk], actor=actor)
    return list(stops)


def tour_stop_save(*, stop: TourStop, actor=None) -> TourStop:
    """Save one stop after checking it against the visit's other stops (``stops_save``).

    Raises VisitError naming the stops in conflict.
    """
    [stop] = stops_save(visit=stop.visit, stops=[stop], actor=actor)
    return stop


def stop_change_record(
    *, stop: TourStop, old: TourStop, actor=None, now: datetime | None = None
) -> StopChange | None:
    """Record that a stop's time or place changed; the visitors hear of it in one digest.

    ``old`` is the stop as it was before the save. Returns None when neither
    its time nor its place changed.
    """
    moved = old.starts_at != stop.starts_at or old.ends_at != stop.ends_at
    relocated = old.location_id != stop.location_id
    if not (moved or relocated):
        return None
    return StopChange.objects.create(
        visit_id=stop.visit_id,
        stop=stop,
        stop_title=stop.title,
        old_starts_at=old.starts_at,
        old_ends_at=old.ends_at,
        old_location=old.location.name_en if old.location_id else "",
        from_location_id=old.location_id,
        new_starts_at=stop.starts_at,
        new_ends_at=stop.ends_at,
        new_location=stop.location.name_en if stop.location_id else "",
        to_location_id=stop.location_id,
        changed_at=(now or timezone.now()),
        changed_by=actor if actor is not None and actor.is_authenticated else None,
    )
