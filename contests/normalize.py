"""Normalised forms of what entrants type, used for the one-entry-per-person rule."""

from disposable_email_domains import blocklist

from tweetup.vocabulary import clean_handle


def normalize_email(email: str) -> str:
    """Case-insensitive form of an address: trimmed and lower-cased."""
    return email.strip().lower()


def normalize_handle(handle: str) -> str:
    return clean_handle(handle).lower()


def is_disposable_email(email: str) -> bool:
    """True when the address's domain, or a domain above it, is a throwaway one."""
    domain = normalize_email(email).rpartition("@")[2]
    parts = domain.split(".")
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))
