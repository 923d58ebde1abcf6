"""The errors of the visits app: each says, fit for a person, which rule was not met."""

from tweetup.errors import ApplicationError


class VisitError(ApplicationError):
    """A rule of the visit's day (its stops, questions, live updates) was not met."""
