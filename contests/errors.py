"""The errors of the contests app: each says, fit for a person, which rule was not met."""

from tweetup.errors import ApplicationError


class ContestError(ApplicationError):
    """A rule of the contest, its entries, its draw or its places was not met."""


class AlreadyEntered(ContestError):
    """The address or the handle has an entry already; its holder was reminded by mail.

    Not to be shown as such: the form answers as for a new entry.
    """


class AlreadyDrawn(ContestError):
    """The contest has its draw already; ``draw`` is that draw."""

    def __init__(self, message: str, *, draw) -> None:
        super().__init__(message)
        self.draw = draw
