"""Normalised forms of what entrants type, used for the one-entry-per-person rule."""

import re

from disposable_email_domains import blocklist

HANDLE_RE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def normalize_email(email: str) -> str:
    """Case-insensitive form of an address: trimmed and lower-cased."""
    return email.strip().lower()


def clean_handle(handle: str) -> str:
    """The handle as typed, without surrounding space, a leading @ or a profile URL.

    Raises ValueError when what remains is not 1 to 15 of letters, digits and _.
    """
    value = handle.strip()
    for prefix in ("https://", "http://"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
    for host in ("www.twitter.com/", "twitter.com/", "www.x.com/", "x.com/"):
        if value.lower().startswith(host):
            value = value[len(host) :].split("/")[0].split("?")[0]
    value = value.removeprefix("@")
    if not HANDLE_RE.fullmatch(value):
        raise ValueError(value)
    return value


def normalize_handle(handle: str) -> str:
    return clean_handle(handle).lower()


def is_disposable_email(email: str) -> bool:
    """True when the address's domain, or a domain above it, is a throwaway one."""
    domain = normalize_email(email).rpartition("@")[2]
    parts = domain.split(".")
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))
