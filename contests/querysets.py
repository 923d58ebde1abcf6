"""The querysets of the contests' models: which entries are confirmed, eligible, in the draw.

``EntryQuerySet`` is ``Entry.objects``. "In the draw" is read from the
contest's freeze (its ``tickets_cutoff``), never from a column of the entry.
"""

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from .models import Contest


def in_draw_condition(prefix: str = "") -> models.Q:
    """Whether an entry's ticket is in its contest's draw, as a filter on entries.

    ``prefix`` reaches the entry through a relation (``"entry__"``). False
    before the freeze: the contest's cut-off is null then.
    """
    return models.Q(
        **{
            f"{prefix}confirmed_at__lt": models.F(f"{prefix}contest__tickets_cutoff"),
            f"{prefix}invalidated_at__isnull": True,
        }
    )


class EntryQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(confirmed_at__isnull=False)

    def in_draw(self, contest: "Contest"):
        """The entries whose tickets the contest's freeze fixed; none before the freeze.

        Filters on the contest's own cut-off, without a join, so that the
        draw's reads use the index on (contest, ticket).
        """
        if contest.tickets_cutoff is None:
            return self.none()
        return self.filter(
            contest=contest,
            confirmed_at__lt=contest.tickets_cutoff,
            invalidated_at__isnull=True,
        )

    def with_in_draw(self):
        """Annotate ``in_the_draw`` (True/False) on each entry, from its contest's freeze."""
        return self.annotate(
            in_the_draw=models.Case(
                models.When(in_draw_condition(), then=models.Value(True)),
                default=models.Value(False),
                output_field=models.BooleanField(),
            )
        )

    def eligible(self, contest: "Contest"):
        """Entries that go into the draw: confirmed before closing, not invalidated."""
        return self.filter(
            contest=contest,
            confirmed_at__isnull=False,
            confirmed_at__lt=contest.closes_at,
            invalidated_at__isnull=True,
            withdrawn_at__isnull=True,
        )
