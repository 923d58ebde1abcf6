"""Helpers about the HTTP request shared by the apps."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

# A page with a form: shown by GET (and HEAD, which link checkers and monitors
# send), sent by POST.
require_form_methods = require_http_methods(["GET", "HEAD", "POST"])


def client_ip(request) -> str:
    """The client's address, read through the trusted proxies in front of the site.

    With TRUSTED_PROXY_COUNT = 0 it is REMOTE_ADDR. Behind N proxies it is the
    Nth address from the right of X-Forwarded-For: addresses further left were
    written by the client and cannot be trusted.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


def error_page(request, title: str, message: str, status: int):
    """The site's error page, saying what went wrong in words fit for a person."""
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def calendar_response(data: bytes, *, filename: str) -> HttpResponse:
    """An iCalendar file, offered for download."""
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
