from django.conf import settings
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _


def ratelimited(request, exception=None):
    return render(
        request,
        "error.html",
        {"title": _("Too many requests"), "message": _("Please wait a while and try again.")},
        status=429,
    )


def csrf_failure(request, reason=""):
    return render(
        request,
        "error.html",
        {
            "title": _("Your form expired"),
            "message": _(
                "For your security the form could not be accepted. Go back, reload the page "
                "and send it again (cookies must be enabled)."
            ),
        },
        status=403,
    )


def favicon(request):
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's)."""
    return redirect(static("img/favicon.svg"), permanent=True)


def _legal_context() -> dict:
    return {
        "controller_name": settings.PRIVACY_CONTROLLER_NAME,
        "controller_address": settings.PRIVACY_CONTROLLER_ADDRESS,
        "contact_email": settings.PRIVACY_CONTACT_EMAIL,
    }


def privacy_notice(request):
    """Who holds the entrants' and visitors' data, what, why, how long, and how to withdraw."""
    return render(
        request,
        "privacy.html",
        {
            **_legal_context(),
            "entry_days": settings.PRIVACY_ENTRY_RETENTION_DAYS,
            "visitor_days": settings.PRIVACY_VISITOR_RETENTION_DAYS,
            "site_access_days": settings.SITE_ACCESS_RETENTION_DAYS,
        },
    )


def imprint(request):
    """Who publishes the site and how to reach them."""
    return render(
        request,
        "imprint.html",
        {
            **_legal_context(),
            "publisher": settings.IMPRINT_PUBLISHER,
            "address": settings.IMPRINT_ADDRESS,
            "email": settings.IMPRINT_EMAIL,
            "phone": settings.IMPRINT_PHONE,
            "responsible": settings.IMPRINT_RESPONSIBLE,
        },
    )
