"""The errors of the visitors app: each says, fit for a person, which rule was not met."""

from tweetup.errors import ApplicationError


class VisitorError(ApplicationError):
    """A rule about a visitor (their profile, links, check-in, mail) was not met."""
