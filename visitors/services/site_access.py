"""Site-access details: what the gate of the visit's site asks of each visitor.

Asked only when the visit says so (``Visit.collects_site_access``), through
the visitor's own profile link; kept in their own model (``SiteAccess``), so
no page, export or mail that shows a profile shows them by accident. Read
only by holders of ``visitors.view_siteaccess`` (the organizers, who send
them to security) as one CSV file, each download on the record; deleted
first, SITE_ACCESS_RETENTION_DAYS after the visit (``tweetup.privacy``).
"""

import csv
import io
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tweetup.audit import Verb, log_action
from visits.models import Visit

from ..errors import VisitorError
from ..models import SiteAccess, VisitorProfile

PERMISSION = "visitors.view_siteaccess"
FIELDS = ("name_on_document", "nationality", "date_of_birth", "document_type", "document_number")
# Spreadsheets run a cell that starts so as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def site_access_asked(profile: VisitorProfile) -> bool:
    """Whether the visitor's visit asks for site-access details."""
    visit = profile.visit
    return visit is not None and visit.collects_site_access


def site_access_save(*, profile: VisitorProfile, **fields) -> SiteAccess:
    """Save a visitor's site-access details; call it inside the profile's transaction.

    Raises VisitorError when the visit does not ask for them, a field is
    unknown or missing, or a value is refused.
    """
    if not site_access_asked(profile):
        raise VisitorError(_("This visit does not ask for site-access details."))
    if set(fields) != set(FIELDS):
        raise VisitorError(_("The site-access details are incomplete."))
    details = SiteAccess.objects.filter(profile=profile).first() or SiteAccess(profile=profile)
    for name, value in fields.items():
        setattr(details, name, value.strip() if isinstance(value, str) else value)
    try:
        details.full_clean(exclude=["profile"])
    except ValidationError as exc:
        raise VisitorError(" ".join(exc.messages)) from exc
    details.save()
    return details


def site_access_given(*, visit: Visit) -> dict[str, int]:
    """How many of the visit's visitors holding a place gave their details, of how many."""
    visitors = VisitorProfile.objects.for_visit(visit).active()
    return {
        "given": SiteAccess.objects.filter(profile__in=visitors).count(),
        "visitors": visitors.count(),
    }


def site_access_export(*, visit: Visit, actor) -> tuple[str, int]:
    """The site-access details of the visit's visitors as CSV text, for security.

    Only visitors who hold their place are listed. The download is written to
    the audit log (who, when, how many rows; no details). Returns the text
    and the number of visitors in it. Raises VisitorError when ``actor``
    lacks the permission or the visit does not ask for the details.
    """
    if not (actor.is_active and actor.has_perm(PERMISSION)):
        raise VisitorError(_("Only the organizers may see the site-access details."))
    if not visit.collects_site_access:
        raise VisitorError(_("This visit does not ask for site-access details."))
    rows = (
        SiteAccess.objects.filter(profile__in=VisitorProfile.objects.for_visit(visit).active())
        .order_by("name_on_document", "pk")
        .values_list(*FIELDS)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Name as on the identity document"),
            _("Nationality"),
            _("Date of birth"),
            _("Document type"),
            _("Document number"),
        ]
    )
    types = dict(SiteAccess.DocumentType.choices)
    count = 0
    for name, nationality, born, document_type, number in rows:
        cells = [name, str(nationality), born.isoformat(), str(types.get(document_type)), number]
        writer.writerow(["'" + c if c.startswith(FORMULA_PREFIXES) else c for c in cells])
        count += 1
    log_action(actor=actor, action=Verb.SITE_ACCESS_EXPORT, target=visit, data={"visitors": count})
    return "\ufeff" + out.getvalue(), count


def site_access_retention_days(days: int | None = None) -> int:
    """Days after the visit the site-access details are kept: ``days``, else the setting.

    The setting is SITE_ACCESS_RETENTION_DAYS. Raises VisitorError when it is
    negative.
    """
    if days is None:
        days = settings.SITE_ACCESS_RETENTION_DAYS
    if days < 0:
        raise VisitorError(
            _("The number of days to keep personal data cannot be negative (%(days)s).")
            % {"days": days}
        )
    return days


def site_access_remove(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete the site-access details ``days`` after the date of their visit.

    Counted in the visit's own days: the details of a visit on the 1st are
    kept through the 1st + ``days`` and gone the day after. Details of a
    visitor whose place was taken back, and of a visit that no longer asks,
    go at once. Returns how many were deleted.
    """
    now = now or timezone.now()
    days = site_access_retention_days(days)
    cutoff: date = timezone.localdate(now) - timedelta(days=days)
    visit = "profile__selection__draw__contest__visit__"
    due = (
        Q(**{f"{visit}date__lt": cutoff})
        | Q(**{f"{visit}collects_site_access": False})
        | ~Q(profile__selection__status="accepted")
    )
    deleted, _by_model = SiteAccess.objects.filter(due).delete()
    return deleted
