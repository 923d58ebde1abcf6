"""The site's one error base: a rule not met, said in words fit for a person.

Each app raises its own subclass from its ``errors`` module
(``contests.errors.ContestError``, ``visits.errors.VisitError``,
``visitors.errors.VisitorError``); views turn it into a form error or a
message, commands into a ``CommandError``, all by showing ``str(error)``.
"""


class ApplicationError(Exception):
    """A rule was not met; ``message`` says which, fit to show to the person who asked.

    ``extra`` holds what a caller may need besides the message (the fields at
    fault, the object in the way).
    """

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
