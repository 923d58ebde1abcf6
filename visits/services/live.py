"""Live updates: short posts on the day, shown as a page and an Atom feed."""

from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import VisitError
from ..models import LiveUpdate, TourStop, Visit


def live_update_post(
    *, visit: Visit, text: str, author=None, stop: TourStop | None = None, now=None
) -> LiveUpdate:
    """Publish a short update on the day; raises VisitError when it is empty or too long."""
    text = (text or "").strip()
    if not text:
        raise VisitError(_("Write the update."))
    if len(text) > LiveUpdate._meta.get_field("text").max_length:
        raise VisitError(_("Keep the update short: 500 characters at most."))
    if stop is not None and stop.visit_id != visit.pk:
        raise VisitError(_("This stop belongs to another visit."))
    return LiveUpdate.objects.create(
        visit=visit,
        text=text,
        stop=stop,
        posted_at=(now or timezone.now()),
        author=author if author is not None and author.is_authenticated else None,
    )


def live_update_save(*, update: LiveUpdate, author=None) -> LiveUpdate:
    """Save a live update as a tour admin edited it; a new one is signed by ``author``.

    Raises VisitError when its stop is one of another visit's.
    """
    if update.stop is not None and update.stop.visit_id != update.visit_id:
        raise VisitError(_("This stop belongs to another visit."))
    if update.pk is None and author is not None and author.is_authenticated:
        update.author = author
    update.save()
    return update
