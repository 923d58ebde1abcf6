"""Middleware of the whole site."""

from django.shortcuts import render
from django.utils.translation import gettext as _


class RejectNulInQueryMiddleware:
    """Answer 400 to a query string that carries a NUL character.

    No page of the site takes one, and PostgreSQL refuses NUL in text, so an
    admin filter or search given ``%00`` would otherwise end in a 500 error.
    Forms are covered already: Django's form fields refuse NUL characters.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return render(
                request,
                "error.html",
                {
                    "title": _("Bad request"),
                    "message": _("The address holds a character that no page accepts."),
                },
                status=400,
            )
        return self.get_response(request)
