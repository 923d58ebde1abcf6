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
