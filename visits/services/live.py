"""Live updates: short posts on the day, shown as a page and an Atom feed."""

from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import VisitError
from ..models import LiveUpdate, TourStop, Visit


def live_update_post(
    *,
    visit: Visit,
    text_en: str = "",
    text_fr: str = "",
    author=None,
    stop: TourStop | None = None,
    now=None,
) -> LiveUpdate:
    """Publish a short update on the day, in English, French or both.

    A reader whose language was not written reads the other one. Raises
    VisitError when both are empty or one is too long.
    """
    text_en, text_fr = (text_en or "").strip(), (text_fr or "").strip()
    _check_texts(text_en, text_fr)
    if stop is not None and stop.visit_id != visit.pk:
        raise VisitError(_("This stop belongs to another visit."))
    return LiveUpdate.objects.create(
        visit=visit,
        text_en=text_en,
        text_fr=text_fr,
        stop=stop,
        posted_at=(now or timezone.now()),
        author=author if author is not None and author.is_authenticated else None,
    )


def _check_texts(*texts: str) -> None:
    if not any(texts):
        raise VisitError(_("Write the update in English, French or both."))
    if any(len(text) > LiveUpdate._meta.get_field("text").max_length for text in texts):
        raise VisitError(_("Keep the update short: 500 characters at most."))


def live_update_save(*, update: LiveUpdate, author=None) -> LiveUpdate:
    """Save a live update as a tour admin edited it; a new one is signed by ``author``.

    Raises VisitError when it has no text or its stop is one of another visit's.
    """
    _check_texts(update.text_en or "", update.text_fr or "")
    if update.stop is not None and update.stop.visit_id != update.visit_id:
        raise VisitError(_("This stop belongs to another visit."))
    if update.pk is None and author is not None and author.is_authenticated:
        update.author = author
    update.save()
    return update
