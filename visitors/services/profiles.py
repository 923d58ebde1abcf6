"""The visitor profile: made from the entry when a place is accepted, completed by the visitor."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tweetup.vocabulary import language_choices

from ..errors import VisitorError
from ..models import LanguageLevel, VisitorProfile
from .mail import itinerary_mail_send, welcome_mail_send
from .site_access import site_access_save


def visitor_profile_create(
    *, selection, notify: bool = True, base_url: str | None = None
) -> VisitorProfile:
    """The visitor profile of an accepted selection, made from its entry.

    Call it inside the transaction that accepts the place: the welcome mail
    (the visitor's signed links, and the visit's date and meeting point) is
    queued in it, unless ``notify`` is False. Safe to call again: the profile
    of a selection is made once (a one-to-one constraint holds it) and an
    existing one is returned unchanged; the mail's outbox key names the
    profile, so it is never queued twice.
    """
    with transaction.atomic():
        profile = VisitorProfile.objects.filter(selection=selection).first()
        if profile is None:
            entry = selection.entry
            profile, _created = VisitorProfile.objects.get_or_create(
                selection=selection,
                defaults={
                    "email": entry.email,
                    "language": entry.language,
                    "display_name": entry.first_name,
                    "handle": entry.twitter_handle,
                    "background": entry.background,
                    "background_other": entry.background_other,
                    "languages": [
                        {"code": code, "level": LanguageLevel.FLUENT}
                        for code in (entry.languages or [])
                    ],
                    "public_consent": bool(entry.publish_handle),
                },
            )
        if notify:
            welcome_mail_send(profile=profile, base_url=base_url)
    return profile


def visitor_profile_locked(profile: VisitorProfile, *, now: datetime | None = None) -> bool:
    """Whether the visit's day has come, in its time zone: the profile can no longer change."""
    now = now or timezone.now()
    visit = profile.visit
    return visit is not None and now >= visit.day_start


def _profile_editable(profile: VisitorProfile, now: datetime) -> None:
    if profile.private_data_removed_at is not None:
        raise VisitorError(_("This visit is over and the profile was closed."))
    if profile.selection.status != "accepted":
        raise VisitorError(_("This place is no longer yours, so the profile cannot change."))
    if visitor_profile_locked(profile, now=now):
        raise VisitorError(_("The day of the visit has come: the profile can no longer change."))


PROFILE_FIELDS = (
    "display_name",
    "handle",
    "languages",
    "background",
    "background_other",
    "bio",
    "dietary_needs",
    "accessibility_needs",
    "emergency_contact_name",
    "emergency_contact_phone",
    "photo_consent",
    "public_consent",
    "language",
)


def visitor_profile_update(
    *,
    profile: VisitorProfile,
    confirm_attendance: bool = False,
    site_access: dict | None = None,
    base_url: str | None = None,
    now: datetime | None = None,
    **fields,
) -> VisitorProfile:
    """Save what the visitor wrote in their profile; confirm attendance when asked.

    ``site_access`` holds the site-access details, for a visit that asks for
    them (``site_access_save``), saved in the same transaction. The profile
    can change until the visit's day begins. The first confirmation sends
    the itinerary by mail (once). Raises VisitorError when the profile can no
    longer change or a field is unknown.
    """
    now = now or timezone.now()
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise VisitorError(_("Unknown profile fields: %(fields)s") % {"fields": ", ".join(unknown)})
    with transaction.atomic():
        profile = (
            VisitorProfile.objects.select_for_update(of=("self",))
            .select_related("selection__entry", "selection__draw__contest__visit")
            .get(pk=profile.pk)
        )
        _profile_editable(profile, now)
        for name, value in fields.items():
            setattr(profile, name, value)
        if "languages" in fields:
            profile.languages = _clean_languages(fields["languages"])
        if "handle" in fields:
            profile.handle = (fields["handle"] or "").strip().lstrip("@")
        confirming = confirm_attendance and profile.attendance_confirmed_at is None
        if confirming:
            if profile.visit is None:
                raise VisitorError(
                    _("The visit is not scheduled yet; you can confirm once it is announced.")
                )
            profile.attendance_confirmed_at = now
        try:
            profile.full_clean(exclude=["selection", "checked_in_by"])
        except ValidationError as exc:
            raise VisitorError(" ".join(exc.messages)) from exc
        profile.save()
        if site_access is not None:
            site_access_save(profile=profile, **site_access)
        if confirming:
            itinerary_mail_send(profile=profile, base_url=base_url)
    return profile


def _clean_languages(languages) -> list[dict]:
    """Languages as [{"code", "level"}], one per code, known levels only."""
    codes = {code for code, _name in language_choices()}
    levels = set(LanguageLevel.values)
    cleaned: dict[str, str] = {}
    for item in languages or []:
        code = str(item.get("code", "")).strip().lower()
        level = str(item.get("level", "")).strip()
        if code in codes and level in levels:
            cleaned[code] = level
    return [{"code": code, "level": level} for code, level in cleaned.items()]


def visitor_profile_save(*, profile: VisitorProfile) -> VisitorProfile:
    """Save a profile as staff corrected it in the admin, on the record of the admin's log.

    Staff may correct it at any time, the visit's day included; what is the
    site's to set (the place, the confirmation, the check-in) the admin shows
    read only.
    """
    profile.save()
    return profile
