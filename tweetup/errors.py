"""The site's one error base: a rule not met, said in words fit for a person.

Each app raises its own subclass from its ``errors`` module
(``contests.errors.ContestError``, ``visits.errors.VisitError``,
``visitors.errors.VisitorError``); views turn it into a form error or a
message through ``errors_shown``, commands into a ``CommandError``, all by showing ``str(error)``.
"""

from collections.abc import Iterator
from contextlib import contextmanager


class ApplicationError(Exception):
    """A rule was not met; ``message`` says which, fit to show to the person who asked.

    ``extra`` holds what a caller may need besides the message (the fields at
    fault, the object in the way).
    """

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class Outcome:
    """What ``errors_shown`` learnt: ``ok`` is False once an error was shown."""

    def __init__(self) -> None:
        self.ok = True
        self.error: ApplicationError | None = None


@contextmanager
def errors_shown(target) -> Iterator[Outcome]:
    """Show an ApplicationError raised in the block to the person who asked.

    The one place where a rule's refusal becomes what a page shows: ``target``
    is a form (the error goes above its fields) or a request (a message on the
    next page, the admin's included). Any other exception goes on.

        with errors_shown(request) as outcome:
            contest_notify_not_chosen(contest=contest, actor=request.user)
        if outcome.ok:
            messages.success(request, ...)
    """
    from django.contrib import messages
    from django.forms import BaseForm

    outcome = Outcome()
    try:
        yield outcome
    except ApplicationError as error:
        outcome.ok = False
        outcome.error = error
        if isinstance(target, BaseForm):
            target.add_error(None, error.message)
        else:
            messages.error(target, error.message)
