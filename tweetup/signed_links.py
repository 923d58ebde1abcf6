"""The signed links of the mail, seen from staff's side: never usable.

Every view whose route takes a ``<token>`` acts for the person a mail was sent
to (``tweetup.permissions.addressee_only``). Staff read the mail the site
sent (the outbox) with those tokens hidden, so no link there can be followed.
"""

import functools
import re

from django.urls import URLPattern, URLResolver, get_resolver, reverse

HIDDEN = "[link hidden]"
_PLACEHOLDER = "TOKEN0PLACEHOLDER"


def _token_routes(resolver: URLResolver, namespace: str = "") -> list[str]:
    names = []
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names += _token_routes(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            if "token" in getattr(pattern.pattern, "converters", {}):
                names.append(f"{namespace}{pattern.name}")
    return names


@functools.cache
def _signed_link_pattern() -> re.Pattern:
    prefixes = {
        reverse(name, kwargs={"token": _PLACEHOLDER}).split(_PLACEHOLDER)[0]
        for name in _token_routes(get_resolver())
    }
    alternatives = "|".join(re.escape(prefix) for prefix in sorted(prefixes, key=len, reverse=True))
    # The token runs to the next slash, or to whatever ends a link in text or HTML.
    return re.compile(rf"({alternatives})[^/\s\"'<>?#]+")


def redact_signed_links(text: str) -> str:
    """The text with the token of every signed link replaced by ``[link hidden]``.

    The address of the page stays readable (which kind of link it was); the
    link itself leads nowhere.
    """
    if not text:
        return text
    return _signed_link_pattern().sub(rf"\g<1>{HIDDEN}", text)
