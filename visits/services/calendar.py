"""A visit's itinerary as an iCalendar file."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar as ICalendar
from icalendar import Event as ICalEvent
from icalendar import Timezone as ICalTimezone
from icalendar import vText

from tweetup.links import absolute_url

from ..models import Visit


def visit_calendar(*, visit: Visit, private: bool = False, base_url: str | None = None) -> bytes:
    """The visit's stops as an iCalendar file, times in the visit's time zone.

    The public calendar names the stops, places, guides and languages; the
    visitors' one (``private``) adds the meeting point, practical notes and
    the stops' notes.
    """
    calendar = ICalendar()
    calendar.add("prodid", "-//TweetUp//Visit itinerary//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # X- properties are not known to be text: escape their line breaks explicitly.
    calendar.add("x-wr-calname", vText(visit.title))
    calendar.add("x-wr-timezone", visit.time_zone)
    stamp = timezone.now()
    page = absolute_url(visit.get_absolute_url(), base_url=base_url)
    for stop in visit.stops.select_related("location"):
        event = ICalEvent()
        event.add("uid", f"tourstop-{stop.pk}@tweetup")
        event.add("dtstamp", stamp)
        event.add("dtstart", timezone.localtime(stop.starts_at, visit.tzinfo))
        event.add("dtend", timezone.localtime(stop.ends_at, visit.tzinfo))
        event.add("summary", stop.title)
        place = stop.location.name
        if stop.location.address:
            place = f"{place}, {stop.location.address}"
        event.add("location", place)
        lines = [stop.location.description] if stop.location.description else []
        if stop.guide:
            lines.append(_("Guide: %(guide)s") % {"guide": stop.guide})
        lines.append(_("Language: %(language)s") % {"language": stop.language_name})
        if private:
            lines.append(_("Meeting point: %(place)s") % {"place": visit.meeting_point})
            if stop.notes:
                lines.append(stop.notes)
        lines.append(page)
        event.add("description", "\n".join(lines))
        event.add("url", page)
        calendar.add_component(event)
    if private and visit.practical_notes:
        calendar.add("x-wr-caldesc", vText(visit.practical_notes))
    calendar.subcomponents.insert(0, _vtimezone(visit))
    return calendar.to_ical()


def _vtimezone(visit: Visit) -> ICalTimezone:
    """The VTIMEZONE of the visit's time zone around its date, one onset per observance.

    icalendar lists the onsets of an observance as one multi-valued RDATE;
    widely used readers (vobject, hence Radicale) keep only its first value
    and then put summer stops an hour off. Each onset gets an observance of
    its own, which every reader understands, and only the two years around
    the visit are described.
    """
    margin = timedelta(days=400)
    source = ICalTimezone.from_tzid(
        visit.time_zone, first_date=visit.date - margin, last_date=visit.date + margin
    )
    zone = ICalTimezone()
    zone.add("tzid", visit.time_zone)
    for observance in source.subcomponents:
        onsets = [observance.decoded("dtstart")]
        rdates = observance.get("rdate", [])
        for rdate in rdates if isinstance(rdates, list) else [rdates]:
            onsets.extend(item.dt for item in rdate.dts)
        for onset in sorted(onsets):
            single = type(observance)()
            for name, value in observance.property_items(recursive=False)[1:-1]:
                if name not in ("DTSTART", "RDATE"):
                    single.add(name, value, encode=False)
            single.add("dtstart", onset)
            zone.add_component(single)
    return zone
