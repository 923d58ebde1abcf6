"""The public audit record of a draw (draw.json), keys as in DESIGN.md.

Everything needed to redo the draw by hand: the algorithm, the seed and its
commitment, the external entropy, the frozen tickets and their digest, the
caps with the capped values of each ticket, the ranking and the places drawn.
The tickets are streamed a page at a time (``contests.services.tickets``).
"""

import json
import operator
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from .. import draw_algorithm
from ..models import Draw
from .draws import CAP_FIELDS
from .tickets import attribute_pages, ticket_pages


def draw_audit_record(*, draw: Draw) -> dict[str, Any]:
    """The public audit record of a draw, as one dict (for small draws and tests).

    Same content as ``draw_audit_record_stream``, which the site serves.
    """
    return json.loads("".join(draw_audit_record_stream(draw=draw)))


def draw_audit_record_stream(*, draw: Draw) -> Iterator[str]:
    """Yield the audit record's JSON text piece by piece, keys as in DESIGN.md.

    The tickets (and their attributes when there are caps) are streamed from
    the database in bytewise order, so a million tickets never sit in memory
    at once. ``json.loads`` of the joined pieces equals what
    ``draw_algorithm.build_audit_record`` gives for the same inputs.
    """
    contest = draw.contest
    seed = bytes(contest.seed)
    caps = dict(draw.caps or {})

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    def compact(value) -> str:
        # One call per page: the tickets of a page as one JSON text.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def scalar(key: str, value, *, first: bool = False) -> str:
        return ("{" if first else ",") + f"\n{dump(key)}:{dump(value)}"

    yield scalar("algorithm", draw_algorithm.ALGORITHM, first=True)
    yield scalar("contest", contest.slug)
    yield scalar("seed", seed.hex())
    yield scalar("commitment", draw_algorithm.commitment(seed))
    yield scalar("external_entropy", draw.external_entropy)
    yield ',\n"tickets":['
    yield from _joined(
        compact(list(map(operator.itemgetter(0), page)))[1:-1] for page in ticket_pages(contest)
    )
    yield "]"
    yield scalar("tickets_digest", contest.tickets_digest)
    yield scalar("winners_count", draw.winners_count)
    yield scalar("alternates_count", draw.alternates_count)
    yield scalar("caps", caps)
    yield ',\n"attributes":{'
    if caps:
        fields = tuple(field for field in CAP_FIELDS if field in caps)
        yield from _joined(compact(dict(page))[1:-1] for page in attribute_pages(contest, fields))
    yield "}"
    yield scalar("ranking", list(draw.ranking))
    yield scalar("winners", list(draw.winners))
    yield scalar("alternates", list(draw.alternates))
    yield scalar("drawn_at", draw.drawn_at.astimezone(UTC).isoformat())
    yield "\n}\n"


def _joined(pieces: Iterator[str]) -> Iterator[str]:
    """Join pieces of a JSON list or object with commas, one piece per page."""
    first = True
    for piece in pieces:
        yield piece if first else "," + piece
        first = False
