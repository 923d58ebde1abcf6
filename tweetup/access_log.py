"""The access log: one line per request, and the request id every line of it carries.

django-structlog's ``RequestMiddleware`` writes the line (``request_finished``
with the status ``code``, or ``request_failed`` with the traceback of a 500)
and binds the request's context to every line logged while it runs, and to
the Celery tasks it queues. The receivers here give that context the site's
own reading of the request:

- ``request_id``: the ``X-Request-ID`` header when a trusted proxy sends it
  (``TRUSTED_PROXY_COUNT`` > 0: the proxy sets it, replacing any a client
  sent), else a new one; it goes back to the client in ``X-Request-ID``;
- ``ip``: the client's address as the rate limits read it (``tweetup.http``);
- ``request``: method and path, with the token of a signed link hidden
  (``tweetup.signed_links``), as those links act for their addressee only.
"""

import re
import uuid

import structlog
from django.conf import settings
from django.dispatch import receiver
from django_structlog import signals

from .http import client_ip
from .signed_links import redact_signed_links

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id may look like (nginx's $request_id is 32 hex digits): no
# spaces or control characters, so it cannot forge a line or a field.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}")


def request_id_for(request) -> str:
    """The request's id: the trusted proxy's when it sent a sound one, else a new one."""
    if settings.TRUSTED_PROXY_COUNT > 0:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        if _REQUEST_ID.fullmatch(sent):
            return sent
    return uuid.uuid4().hex


def _request_line(request) -> str:
    return f"{request.method} {redact_signed_links(request.get_full_path())}"


@receiver(signals.bind_extra_request_metadata)
def _bind_request(sender, request, logger, log_kwargs, **kwargs) -> None:
    request_id = request_id_for(request)
    request.request_id = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id, ip=client_ip(request))
    log_kwargs["request"] = _request_line(request)


@receiver(signals.bind_extra_request_finished_metadata)
def _finish_request(sender, request, logger, response, log_kwargs, **kwargs) -> None:
    log_kwargs["request"] = _request_line(request)
    response.headers.setdefault(REQUEST_ID_HEADER, getattr(request, "request_id", ""))


@receiver(signals.bind_extra_request_failed_metadata)
def _fail_request(sender, request, logger, exception, log_kwargs, **kwargs) -> None:
    log_kwargs["request"] = _request_line(request)


@receiver(signals.update_failure_response)
def _answer_failure(sender, request, response, logger, exception, **kwargs) -> None:
    response.headers.setdefault(REQUEST_ID_HEADER, getattr(request, "request_id", ""))
