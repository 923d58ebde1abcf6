"""The draw, tweetup-draw-v1, in plain Python.

This module is the public contract of the draw (DESIGN.md, "The draw:
tweetup-draw-v1"): it is enough, alone, to re-run and check a draw from its
published audit record. It imports nothing but the standard library, so that
anyone can run it without Django, a database or settings::

    python -m contests.draw_algorithm draw.json   # a path, an http(s) URL, or "-"
    python3 verify_draw.py https://…/contests/<slug>/draw.json   # as downloaded

Summary of the algorithm:

1. ``commitment = sha256(seed)``, published when the contest opens.
2. ``tickets_digest = sha256("\\n".join(sorted(tickets)))``, published at the
   freeze (tickets sorted bytewise, hashed as UTF-8).
3. ``key = seed`` when the external entropy ``E`` is empty, else
   ``sha256(seed || utf8(E))``.
4. ``score(ticket) = hmac_sha256(key, utf8(ticket))``; the ranking is the
   tickets ordered by ``(score, ticket)`` ascending.
5. Walking the ranking, a ticket becomes a winner while fewer than
   ``winners_count`` are chosen and it keeps the caps; every other ticket met
   on the walk becomes an alternate while fewer than ``alternates_count`` are
   chosen. A promotion takes the first unused alternate, in order, that keeps
   the caps.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import hmac
import itertools
import json
import operator
import re
import secrets
import sys
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ALGORITHM = "tweetup-draw-v1"
SEED_BYTES = 32
# A million tickets make about 20 MB; refuse anything absurd.
MAX_RECORD_BYTES = 1 << 30

# The keys of an audit record, in the order they are written.
AUDIT_RECORD_KEYS = (
    "algorithm",
    "contest",
    "seed",
    "commitment",
    "external_entropy",
    "tickets",
    "tickets_digest",
    "winners_count",
    "alternates_count",
    "caps",
    "attributes",
    "ranking",
    "winners",
    "alternates",
    "drawn_at",
)

TicketSource = Iterable[str] | Callable[[], Iterable[str]]
Caps = Mapping[str, int]
Attributes = Mapping[str, Mapping[str, str]]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class DrawResult:
    """What a draw chose.

    ``ranking`` is the ranking from its first ticket down to the last ticket
    chosen (winner or alternate); it is empty when nothing was chosen.
    """

    winners: tuple[str, ...]
    alternates: tuple[str, ...]
    ranking: tuple[str, ...]


# Primitives ----------------------------------------------------------------


def new_seed() -> bytes:
    """Return a fresh secret seed of 32 bytes from the OS's CSPRNG."""
    return secrets.token_bytes(SEED_BYTES)


def commitment(seed: bytes) -> str:
    """Return the public commitment to ``seed``: sha256(seed), lowercase hex."""
    return hashlib.sha256(seed).hexdigest()


def sorted_tickets(tickets: Iterable[str]) -> list[str]:
    """Return the tickets sorted bytewise (by their UTF-8 encoding).

    Raise ``ValueError`` if a ticket is not a valid ticket reference (see
    ``ticket_problem``) or appears twice.
    """
    result = list(tickets)
    for ticket in result:
        _check_ticket(ticket)
    # UTF-8 preserves code point order, and Python compares str by code point,
    # so the plain str sort is the bytewise sort of the encoded tickets
    # without building an encoded copy of every ticket.
    result.sort()
    for previous, current in itertools.pairwise(result):
        if previous == current:
            raise ValueError(f"Ticket {current!r} appears more than once.")
    return result


def tickets_digest(tickets: Iterable[str]) -> str:
    """Return sha256 of the sorted tickets joined by newlines, lowercase hex.

    The tickets may come in any order; they are sorted bytewise first. Raise
    ``ValueError`` on an invalid or repeated ticket, since the digest of such a
    list could match another list.
    """
    joined = "\n".join(sorted_tickets(tickets))
    return hashlib.sha256(joined.encode()).hexdigest()


def draw_key(seed: bytes, external_entropy: str) -> bytes:
    """Return the HMAC key: the seed, or sha256(seed || utf8(E)) when E is set.

    The external entropy is published after the freeze, so mixing it in means
    that not even the holder of the seed knew the ranking at freeze time.
    """
    if external_entropy == "":
        return seed
    return hashlib.sha256(seed + external_entropy.encode()).digest()


def ticket_score(key: bytes, ticket: str) -> bytes:
    """Return the ticket's score: hmac_sha256(key, utf8(ticket)), 32 bytes."""
    return hmac.digest(key, ticket.encode(), "sha256")


def ticket_problem(ticket: object) -> str | None:
    """Return why ``ticket`` cannot be a ticket reference, or None if it can.

    A ticket is a non-empty string without a newline (the digest joins tickets
    with newlines, so a newline would make two ticket lists hash alike) that
    can be encoded as UTF-8.
    """
    if not isinstance(ticket, str):
        return f"ticket {ticket!r} is not a string"
    if not ticket:
        return "a ticket is the empty string"
    if "\n" in ticket:
        return f"ticket {ticket!r} contains a newline"
    try:
        ticket.encode()
    except UnicodeEncodeError:
        return f"ticket {ticket!r} cannot be encoded as UTF-8"
    return None


# Selection -----------------------------------------------------------------


def select_tickets(
    *,
    key: bytes,
    tickets: TicketSource,
    winners_count: int,
    alternates_count: int,
    caps: Caps | None = None,
    attributes: Attributes | None = None,
) -> DrawResult:
    """Rank the tickets under ``key`` and choose the winners and alternates.

    Guarantees the result of walking the full ranking (all tickets ordered by
    ``(ticket_score(key, ticket), ticket)`` ascending):

    - a ticket becomes a winner while fewer than ``winners_count`` winners are
      chosen and, for every capped field, fewer than ``caps[field]`` winners
      already share its value ``attributes[ticket][field]``;
    - any other ticket met on the walk (one the caps skipped, or any ticket
      once the winners are complete) becomes an alternate while fewer than
      ``alternates_count`` are chosen. Alternates are not filtered by the caps:
      ``promotion_candidate`` applies them when a place is offered;
    - the walk stops once both lists are complete or the tickets run out, so
      there are fewer winners than asked only when the caps or the number of
      tickets allow no more.

    Cost: the full ranking is never sorted. Every ticket is scored in one pass
    and only the ``n`` smallest ``(score, ticket)`` pairs are kept, in a heap
    (``heapq.nsmallest``), so memory is bounded by ``n`` rather than by the
    number of tickets. ``n`` starts at ``winners_count + alternates_count``
    (plus a margin when there are caps). Since the walk depends only on a
    prefix of the ranking, it gives the same result on the ``n`` smallest as
    on the full ranking whenever it completes within them, or when they are
    all the tickets. Otherwise the caps skipped more tickets than the margin
    allowed for: ``n`` is doubled and the tickets are read again. While
    reading them again, it also watches for a ticket beyond the previous
    prefix that would fit the caps left by the previous walk: if the previous
    walk had all its alternates and no such ticket exists, no further ticket
    can be chosen and the previous result is final. So caps that can never
    be met cost two passes, not one per doubling.

    ``tickets`` is either a zero-argument callable returning a fresh iterable
    of tickets on each call (for instance a lambda around a database query
    that streams the references), or an iterable. A re-iterable collection
    (list, tuple, set) is read again as is; a one-shot iterator is first
    copied into a list of strings so that it can be read again.

    ``caps`` maps a field name to the most winners that may share a value of
    that field; ``attributes`` maps every ticket to its values for the capped
    fields (values compare by equality; the audit record needs strings).

    Raise ``ValueError`` on a negative count, a cap that is not a positive
    integer, an invalid ticket, a ticket repeated within the prefix read, or
    a ticket looked up without a value for a capped field. Duplicates further
    down the ranking are not detected here (``sorted_tickets`` detects them).
    """
    _check_count("winners_count", winners_count)
    _check_count("alternates_count", alternates_count)
    caps = dict(caps or {})
    for field, limit in caps.items():
        _check_cap(field, limit)
    return _select(
        key=key,
        read_tickets=_rereadable(tickets),
        winners_count=winners_count,
        alternates_count=alternates_count,
        caps=caps,
        attributes=attributes or {},
    )


def select_attributed_tickets(
    *,
    key: bytes,
    tickets: Callable[[], Iterable[tuple[str, Mapping[str, str]]]],
    winners_count: int,
    alternates_count: int,
    caps: Caps,
) -> DrawResult:
    """``select_tickets`` for tickets that come with their values for the capped fields.

    ``tickets`` returns, on each call, a fresh iterable of ``(ticket,
    values)`` pairs, ``values`` mapping each capped field to the ticket's
    value. The result is that of ``select_tickets`` with the same tickets and
    ``attributes=dict(pairs)``, but only the values of the tickets kept at the
    head of the ranking are held: memory is bounded by that prefix, not by
    the number of tickets. Raises ``ValueError`` as ``select_tickets`` does.
    """
    _check_count("winners_count", winners_count)
    _check_count("alternates_count", alternates_count)
    caps = dict(caps or {})
    for field, limit in caps.items():
        _check_cap(field, limit)
    if not callable(tickets):
        raise TypeError("tickets must be a callable returning (ticket, values) pairs.")
    return _select(
        key=key,
        read_tickets=tickets,
        winners_count=winners_count,
        alternates_count=alternates_count,
        caps=caps,
        attributes=None,
    )


def _select(
    *,
    key: bytes,
    read_tickets: Callable[[], Iterable[Any]],
    winners_count: int,
    alternates_count: int,
    caps: dict[str, int],
    attributes: Attributes | None,
) -> DrawResult:
    """The walk of ``select_tickets``; ``attributes`` None: the tickets bring their values."""
    attributed = attributes is None
    wanted = winners_count + alternates_count
    if wanted == 0:
        return DrawResult(winners=(), alternates=(), ranking=())
    # Skipped tickets become alternates, so without caps the first ``wanted``
    # tickets of the ranking always suffice; with caps, read a little further
    # on the first pass to make a second one unlikely.
    prefix_size = 2 * wanted + 16 if caps else wanted
    previous: _Walk | None = None
    while True:
        source = _ScoredTickets(key, read_tickets(), attributed=attributed)
        watch = None
        if previous is not None and previous.alternates_full:
            watch = _FitWatch(previous, caps, attributes)
            scored: Iterable[tuple] = watch.watch(source)
        else:
            scored = source
        try:
            prefix = heapq.nsmallest(prefix_size, scored)
        except TypeError as exc:
            # Two items with the same score and ticket but different values
            # (dicts do not order): the same ticket twice.
            raise ValueError("A ticket appears more than once.") from exc
        if watch is not None and not watch.found:
            return watch.walk.result
        if attributed:
            prefix_attributes: Attributes = {ticket: values for _, ticket, values in prefix}
            prefix = [(score, ticket) for score, ticket, _ in prefix]
        else:
            prefix_attributes = attributes
        for (_, previous_ticket), (_, ticket) in itertools.pairwise(prefix):
            if previous_ticket == ticket:
                raise ValueError(f"Ticket {ticket!r} appears more than once.")
        walk = _walk(
            prefix,
            winners_count=winners_count,
            alternates_count=alternates_count,
            caps=caps,
            attributes=prefix_attributes,
        )
        if walk.complete or source.total <= prefix_size:
            return walk.result
        previous = walk
        prefix_size *= 2


def promotion_candidate(
    *,
    alternates: Sequence[str],
    winners_in_place: Iterable[str],
    attributes: Attributes,
    caps: Caps,
    used: Collection[str],
) -> str | None:
    """Return the alternate to offer a free place to, or None if there is none.

    Guarantees the first alternate, in the draw's order, that is neither in
    ``used`` (already offered a place, disqualified, ...) nor holding a place
    itself, and that keeps the caps: for each capped field, the tickets in
    ``winners_in_place`` (those currently holding places, promoted alternates
    included) that share its value number fewer than the limit.

    Raise ``ValueError`` if a ticket needed for the decision has no value for
    a capped field.
    """
    holders = list(winners_in_place)
    held = set(holders)
    counts: dict[tuple[str, str], int] = {}
    for ticket in holders:
        for field in caps:
            value = _attribute(attributes, ticket, field)
            counts[field, value] = counts.get((field, value), 0) + 1
    for ticket in alternates:
        if ticket in used or ticket in held:
            continue
        if _fits(ticket, counts, caps, attributes):
            return ticket
    return None


# Audit record --------------------------------------------------------------


def build_audit_record(
    *,
    contest: str,
    seed: bytes,
    external_entropy: str,
    tickets: Iterable[str],
    winners_count: int,
    alternates_count: int,
    caps: Caps | None,
    attributes: Attributes | None,
    drawn_at: datetime,
) -> dict[str, Any]:
    """Run the draw and return its public audit record, a JSON-ready dict.

    The record has exactly the keys of ``AUDIT_RECORD_KEYS``; its winners and
    alternates are the draw's result (create the selections from them), so
    the record and the draw cannot disagree. ``attributes`` is reduced to the
    capped fields, and is {} when there are no caps. ``drawn_at`` must be
    aware; it is written in ISO 8601.

    Raise ``ValueError`` on an empty contest slug, a seed that is not 32
    bytes, a naive ``drawn_at``,
    an invalid or repeated ticket, a ticket without a value (a string) for a
    capped field, or anything ``select_tickets`` refuses.
    """
    if not isinstance(contest, str) or not contest:
        raise ValueError("The contest must be given by its slug.")
    if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
        raise ValueError(f"The seed must be {SEED_BYTES} bytes.")
    if drawn_at.tzinfo is None or drawn_at.utcoffset() is None:
        raise ValueError("drawn_at must be an aware datetime.")
    if not isinstance(external_entropy, str):
        raise ValueError("The external entropy must be a string.")
    external_entropy.encode()  # Fail now on text that cannot be hashed.
    ordered = sorted_tickets(tickets)
    caps = dict(caps or {})
    for field, limit in caps.items():
        _check_cap(field, limit)
    published_attributes: dict[str, dict[str, str]] = {}
    if caps:
        attributes = attributes or {}
        for ticket in ordered:
            values = {}
            for field in caps:
                value = _attribute(attributes, ticket, field)
                if not isinstance(value, str):
                    raise ValueError(f"Ticket {ticket!r} has a {field!r} that is not a string.")
                values[field] = value
            published_attributes[ticket] = values

    result = select_tickets(
        key=draw_key(seed, external_entropy),
        tickets=ordered,
        winners_count=winners_count,
        alternates_count=alternates_count,
        caps=caps,
        attributes=published_attributes,
    )
    return {
        "algorithm": ALGORITHM,
        "contest": contest,
        "seed": seed.hex(),
        "commitment": commitment(seed),
        "external_entropy": external_entropy,
        "tickets": ordered,
        "tickets_digest": hashlib.sha256("\n".join(ordered).encode()).hexdigest(),
        "winners_count": winners_count,
        "alternates_count": alternates_count,
        "caps": caps,
        "attributes": published_attributes,
        "ranking": list(result.ranking),
        "winners": list(result.winners),
        "alternates": list(result.alternates),
        "drawn_at": drawn_at.isoformat(),
    }


def verify_audit_record(record: object) -> list[str]:
    """Recompute a draw from its audit record alone; return what differs.

    An empty list means the record is consistent: every key is present with
    the right type and no other key is; the algorithm is tweetup-draw-v1; the
    commitment is sha256 of the seed; the tickets are valid, sorted bytewise
    and unique, and hash to the digest; caps and attributes are well formed
    (attributes exactly for the capped fields and for every ticket, {} without
    caps); the ranking, winners and alternates are those the draw gives; the
    winners keep the caps; drawn_at is an aware ISO 8601 datetime.

    Never raises on malformed input: every problem becomes a sentence in the
    returned list. The contest slug and drawn_at are not inputs of the draw,
    so a record can only be tied to its contest through the commitment shown
    on the contest page.
    """
    if not isinstance(record, dict):
        return ["The record is not a JSON object."]
    problems: list[str] = []
    missing = [key for key in AUDIT_RECORD_KEYS if key not in record]
    if missing:
        problems.append(f"Missing keys: {', '.join(missing)}.")
    unexpected = sorted(str(key) for key in record if key not in AUDIT_RECORD_KEYS)
    if unexpected:
        problems.append(f"Unexpected keys: {', '.join(unexpected)}.")

    algorithm = record.get("algorithm")
    if "algorithm" in record and algorithm != ALGORITHM:
        problems.append(f"algorithm is {algorithm!r}, expected {ALGORITHM!r}.")
    contest = record.get("contest")
    if "contest" in record and not (isinstance(contest, str) and contest):
        problems.append("contest must be a non-empty string (the contest's slug).")

    seed = _check_seed(record, problems)
    _check_commitment(record, seed, problems)
    external_entropy = _check_external_entropy(record, problems)
    tickets = _check_tickets(record, problems)
    winners_count = _check_count_field(record, "winners_count", problems)
    alternates_count = _check_count_field(record, "alternates_count", problems)
    caps = _check_caps(record, problems)
    attributes = _check_attributes(record, tickets, caps, problems)
    published = {
        name: _check_ticket_list(record, name, problems)
        for name in ("ranking", "winners", "alternates")
    }
    _check_drawn_at(record, problems)

    if caps and attributes is not None and published["winners"] is not None:
        _check_winners_keep_caps(published["winners"], caps, attributes, problems)

    if (
        seed is None
        or external_entropy is None
        or tickets is None
        or winners_count is None
        or alternates_count is None
        or caps is None
        or attributes is None
    ):
        problems.append("The draw was not recomputed because its inputs above are invalid.")
        return problems
    # Every input is now valid, so the draw itself cannot raise.
    result = select_tickets(
        key=draw_key(seed, external_entropy),
        tickets=tickets,
        winners_count=winners_count,
        alternates_count=alternates_count,
        caps=caps,
        attributes=attributes,
    )
    for name, recomputed in (
        ("ranking", result.ranking),
        ("winners", result.winners),
        ("alternates", result.alternates),
    ):
        if published[name] is not None:
            _compare_lists(name, list(recomputed), published[name], problems)
    return problems


def load_audit_record(text: str) -> tuple[object, list[str]]:
    """Parse an audit record's JSON text; return it and any parsing problems.

    A key repeated in one JSON object is a problem: readers would disagree on
    which value counts. Never raises; on invalid JSON the record is None.
    """
    duplicates: list[str] = []

    def reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        record = json.loads(text, object_pairs_hook=reject_duplicates)
    except (ValueError, RecursionError) as exc:
        return None, [f"The file is not valid JSON: {exc}."]
    problems = [f"Key {key!r} appears more than once." for key in duplicates]
    return record, problems


class SourceError(Exception):
    """An audit record could not be read; the message says why, for a person."""


def read_audit_record_source(source: str, *, timeout: float = 60.0) -> str:
    """The text of an audit record from a file path, an http(s) URL, or "-" (stdin).

    Raises SourceError when the source cannot be read, is not UTF-8, or is
    another kind of URL.
    """
    if source == "-":
        try:
            return sys.stdin.buffer.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError(f"Cannot read the standard input: {exc}") from exc
    if source.startswith(("http://", "https://")):
        return fetch_audit_record(source, timeout=timeout)
    if "://" in source:
        raise SourceError(f"Only http and https URLs can be read, not {source}.")
    try:
        with open(source, encoding="utf-8-sig") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"Cannot read {source}: {exc}") from exc


def fetch_audit_record(url: str, *, timeout: float = 60.0) -> str:
    """The text served at an http(s) URL; raises SourceError when it cannot be fetched."""
    if not url.startswith(("http://", "https://")):
        raise SourceError(f"Only http and https URLs can be read, not {url}.")
    # Imported here: urllib.request imports the standard library's selectors,
    # which contests/selectors.py would shadow when this file is run in place.
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, headers={"Accept": "application/json", "User-Agent": "tweetup-verify-draw"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(MAX_RECORD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        hint = " (the contest may not be drawn yet)" if exc.code == 404 else ""
        raise SourceError(f"Cannot fetch {url}: HTTP {exc.code} {exc.reason}{hint}.") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceError(f"Cannot fetch {url}: {reason}.") from exc
    if len(data) > MAX_RECORD_BYTES:
        raise SourceError(f"{url} is larger than {MAX_RECORD_BYTES} bytes.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{url} is not UTF-8 text: {exc}") from exc


def served_for_problems(source: str, record: object) -> list[str]:
    """A record served at /contests/<slug>/draw.json must name that contest."""
    if not source.startswith(("http://", "https://")) or not isinstance(record, dict):
        return []
    match = re.search(r"/contests/([^/]+)/draw\.json$", urllib.parse.urlsplit(source).path)
    if not match:
        return []
    slug = urllib.parse.unquote(match[1])
    if record.get("contest") != slug:
        return [f"contest is {record.get('contest')!r}, but the record is served for {slug!r}."]
    return []


def _program_name() -> str | None:
    """The name the usage line gives: how this module was started.

    Run as ``python -m package.module``, argparse's default would name the
    file alone; run as a script (``python3 verify_draw.py``), the default,
    taken from ``sys.argv[0]``, is right.
    """
    if __name__ == "__main__" and __spec__ is not None:
        return f"python -m {__spec__.name}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Verify an audit record (a file, an http(s) URL or stdin); print OK or the differences.

    Return 0 when the record checks out, 1 when it does not, 2 when the
    record cannot be read.
    """
    parser = argparse.ArgumentParser(
        prog=_program_name(),
        description=f"Verify a {ALGORITHM} audit record (draw.json).",
    )
    parser.add_argument(
        "source",
        metavar="FILE_OR_URL",
        help='path or http(s) URL of the audit record, or "-" for stdin',
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for a URL (default 60)"
    )
    args = parser.parse_args(argv)
    try:
        text = read_audit_record_source(args.source, timeout=args.timeout)
    except SourceError as exc:
        print(exc, file=sys.stderr)
        return 2
    record, problems = load_audit_record(text)
    if record is not None:
        problems += verify_audit_record(record)
        problems += served_for_problems(args.source, record)
    if problems:
        for problem in problems:
            print(problem)
        return 1
    print("OK")
    return 0


# Internals -----------------------------------------------------------------


# Tickets scored per batch: each batch is encoded and checked in one go.
_BATCH = 4096


def _keyed_states(key: bytes) -> tuple[Any, Any]:
    """The SHA-256 states after the HMAC key's inner and outer pads (RFC 2104)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))
    return inner, outer


def _encoded(tickets: list[str]) -> list[bytes]:
    """The tickets as UTF-8, encoded and checked in one go; raise ValueError on a bad one."""
    try:
        encoded = "\n".join(tickets).encode().split(b"\n")
    except (TypeError, UnicodeEncodeError):
        encoded = []
    # A newline inside a ticket makes more pieces than tickets; an empty
    # ticket an empty piece. Leave the wording of the error to ticket_problem.
    if len(encoded) != len(tickets) or b"" in encoded:
        for ticket in tickets:
            _check_ticket(ticket)
    return encoded


def _scores(inner: Any, outer: Any, encoded: list[bytes]) -> list[bytes]:
    """hmac_sha256(key, ticket) of each encoded ticket, from the keyed states.

    The same bytes as ``ticket_score``: HMAC is sha256(outer pad ||
    sha256(inner pad || message)), and the pads were hashed once. Each
    ticket costs two SHA-256 blocks and no Python-level call.
    """
    scores: list[bytes] = []
    append = scores.append
    inner_copy = inner.copy
    outer_copy = outer.copy
    for data in encoded:
        mac = inner_copy()
        mac.update(data)
        digest = outer_copy()
        digest.update(mac.digest())
        append(digest.digest())
    return scores


class _ScoredTickets:
    """Iterate over ``(score, ticket)`` pairs, counting the tickets read.

    With ``attributed``, the tickets come as ``(ticket, values)`` pairs and
    the items are ``(score, ticket, values)``.
    """

    def __init__(self, key: bytes, tickets: Iterable[Any], *, attributed: bool = False) -> None:
        self.key = key
        self.tickets = tickets
        self.attributed = attributed
        self.total = 0

    def __iter__(self) -> Iterator[tuple]:
        inner, outer = _keyed_states(self.key)
        self.total = 0
        tickets = iter(self.tickets)

        def next_batch() -> list:
            batch = list(itertools.islice(tickets, _BATCH))
            self.total += len(batch)
            return batch

        def scored(batch: list) -> Iterator[tuple]:
            if self.attributed:
                references = list(map(operator.itemgetter(0), batch))
                values = list(map(operator.itemgetter(1), batch))
                scores = _scores(inner, outer, _encoded(references))
                return zip(scores, references, values, strict=True)
            return zip(_scores(inner, outer, _encoded(batch)), batch, strict=True)

        # Chained in C: no Python frame per ticket between the scores and the heap.
        return itertools.chain.from_iterable(map(scored, iter(next_batch, [])))


@dataclass(frozen=True)
class _Walk:
    """The outcome of walking a prefix of the ranking."""

    result: DrawResult
    complete: bool
    alternates_full: bool
    # How many winners share each (field, value) after the walk.
    counts: Mapping[tuple[str, str], int]
    # The last (score, ticket) walked: where the next ticket would come from.
    boundary: tuple[bytes, str] | None


class _FitWatch:
    """Watch a pass for a ticket past a walk's prefix that fits its caps.

    ``attributes`` None: the items carry the ticket's values, as
    ``(score, ticket, values)``.
    """

    def __init__(self, walk: _Walk, caps: Caps, attributes: Attributes | None) -> None:
        self.walk = walk
        self.caps = caps
        self.attributes = attributes
        self.found = False

    def watch(self, scored: Iterable[tuple]) -> Iterator[tuple]:
        boundary = self.walk.boundary
        counts = self.walk.counts
        for item in scored:
            if not self.found and (boundary is None or item[:2] > boundary):
                if self.attributes is None:
                    fits = _fits(item[1], counts, self.caps, {item[1]: item[2]})
                else:
                    fits = _fits(item[1], counts, self.caps, self.attributes)
                if fits:
                    self.found = True
            yield item


def _rereadable(tickets: TicketSource) -> Callable[[], Iterable[str]]:
    if isinstance(tickets, str | bytes):
        raise TypeError("tickets must be a collection of tickets, not a string.")
    if callable(tickets):
        return tickets
    if iter(tickets) is tickets:
        # A one-shot iterator: keep the strings so that a retry can read them.
        kept = list(tickets)
        return lambda: kept
    return lambda: tickets


def _walk(
    ranked: Sequence[tuple[bytes, str]],
    *,
    winners_count: int,
    alternates_count: int,
    caps: Caps,
    attributes: Attributes,
) -> _Walk:
    """Walk a prefix of the ranking, choosing winners then alternates."""
    winners: list[str] = []
    alternates: list[str] = []
    walked = 0
    chosen_upto = 0
    counts: dict[tuple[str, str], int] = {}
    for _score, ticket in ranked:
        if len(winners) == winners_count and len(alternates) == alternates_count:
            break
        walked += 1
        if len(winners) < winners_count and _fits(ticket, counts, caps, attributes):
            winners.append(ticket)
            for field in caps:
                value = attributes[ticket][field]
                counts[field, value] = counts.get((field, value), 0) + 1
            chosen_upto = walked
        elif len(alternates) < alternates_count:
            alternates.append(ticket)
            chosen_upto = walked
    result = DrawResult(
        winners=tuple(winners),
        alternates=tuple(alternates),
        ranking=tuple(ticket for _score, ticket in ranked[:chosen_upto]),
    )
    return _Walk(
        result=result,
        complete=(len(winners) == winners_count and len(alternates) == alternates_count),
        alternates_full=len(alternates) == alternates_count,
        counts=counts,
        boundary=ranked[walked - 1] if walked else None,
    )


def _fits(
    ticket: str,
    counts: Mapping[tuple[str, str], int],
    caps: Caps,
    attributes: Attributes,
) -> bool:
    """Whether one more winner with ``ticket``'s values keeps every cap."""
    for field, limit in caps.items():
        value = _attribute(attributes, ticket, field)
        if counts.get((field, value), 0) >= limit:
            return False
    return True


def _attribute(attributes: Attributes, ticket: str, field: str) -> str:
    values = attributes.get(ticket)
    if values is None or field not in values:
        raise ValueError(f"Ticket {ticket!r} has no value for the capped field {field!r}.")
    return values[field]


def _check_ticket(ticket: object) -> None:
    problem = ticket_problem(ticket)
    if problem is not None:
        raise ValueError(problem[0].upper() + problem[1:] + ".")


def _check_count(name: str, value: object) -> None:
    if not _is_count(value):
        raise ValueError(f"{name} must be an integer, 0 or more.")


def _check_cap(field: object, limit: object) -> None:
    if not isinstance(field, str) or not field:
        raise ValueError(f"Cap field {field!r} must be a non-empty string.")
    if not _is_positive_int(limit):
        raise ValueError(f"The cap on {field!r} must be an integer, 1 or more.")


def _is_count(value: object) -> bool:
    # bool is an int subclass, but true is not a number of winners.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_seed(record: dict[Any, Any], problems: list[str]) -> bytes | None:
    if "seed" not in record:
        return None
    seed = record["seed"]
    if not isinstance(seed, str) or not _SHA256_HEX.fullmatch(seed):
        problems.append(
            f"seed must be {SEED_BYTES} bytes as {2 * SEED_BYTES} lowercase hex digits."
        )
        return None
    return bytes.fromhex(seed)


def _check_commitment(record: dict[Any, Any], seed: bytes | None, problems: list[str]) -> None:
    if "commitment" not in record:
        return
    published = record["commitment"]
    if not isinstance(published, str) or not _SHA256_HEX.fullmatch(published):
        problems.append("commitment must be 64 lowercase hex digits.")
    elif seed is not None and published != commitment(seed):
        problems.append(f"commitment is {published}, but sha256(seed) is {commitment(seed)}.")


def _check_external_entropy(record: dict[Any, Any], problems: list[str]) -> str | None:
    if "external_entropy" not in record:
        return None
    value = record["external_entropy"]
    if not isinstance(value, str):
        problems.append('external_entropy must be a string ("" when none).')
        return None
    try:
        value.encode()
    except UnicodeEncodeError:
        problems.append("external_entropy cannot be encoded as UTF-8.")
        return None
    return value


def _check_tickets(record: dict[Any, Any], problems: list[str]) -> list[str] | None:
    """Check tickets and tickets_digest; return the tickets if usable."""
    tickets = record.get("tickets")
    usable: list[str] | None = None
    if "tickets" in record:
        if not isinstance(tickets, list):
            problems.append("tickets must be a list of strings.")
        else:
            invalid = [p for p in map(ticket_problem, tickets) if p is not None]
            if invalid:
                problems.append(
                    f"tickets: {invalid[0]}"
                    + (f" (and {len(invalid) - 1} more)." if len(invalid) > 1 else ".")
                )
            elif len(set(tickets)) != len(tickets):
                problems.append("tickets: some ticket appears more than once.")
            else:
                usable = tickets
                for index, (previous, current) in enumerate(
                    zip(tickets, tickets[1:], strict=False), start=1
                ):
                    if previous > current:
                        problems.append(
                            f"tickets are not sorted bytewise: {previous!r} comes "
                            f"before {current!r} (position {index})."
                        )
                        break
    if "tickets_digest" in record:
        published = record["tickets_digest"]
        if not isinstance(published, str) or not _SHA256_HEX.fullmatch(published):
            problems.append("tickets_digest must be 64 lowercase hex digits.")
        elif usable is not None:
            # Hash the tickets as published: the digest must match the list
            # anyone can read, whatever its order.
            digest = hashlib.sha256("\n".join(usable).encode()).hexdigest()
            if published != digest:
                problems.append(f"tickets_digest is {published}, but the tickets hash to {digest}.")
    return usable


def _check_count_field(record: dict[Any, Any], name: str, problems: list[str]) -> int | None:
    if name not in record:
        return None
    value = record[name]
    if not _is_count(value):
        problems.append(f"{name} must be an integer, 0 or more.")
        return None
    return value


def _check_caps(record: dict[Any, Any], problems: list[str]) -> dict[str, int] | None:
    if "caps" not in record:
        return None
    caps = record["caps"]
    if not isinstance(caps, dict):
        problems.append("caps must be an object (field name → limit), {} when none.")
        return None
    valid = True
    for field, limit in caps.items():
        if not isinstance(field, str) or not field:
            problems.append(f"caps: field {field!r} must be a non-empty string.")
            valid = False
        elif not _is_positive_int(limit):
            problems.append(f"caps: the limit for {field!r} must be an integer, 1 or more.")
            valid = False
    return caps if valid else None


def _check_attributes(
    record: dict[Any, Any],
    tickets: list[str] | None,
    caps: dict[str, int] | None,
    problems: list[str],
) -> dict[str, dict[str, str]] | None:
    if "attributes" not in record:
        return None
    attributes = record["attributes"]
    if not isinstance(attributes, dict):
        problems.append("attributes must be an object (ticket → {field: value}).")
        return None
    if caps is None:
        return None
    if not caps:
        if attributes:
            problems.append("attributes must be {} when there are no caps.")
            return None
        return attributes
    valid = True
    for ticket, values in attributes.items():
        if not isinstance(values, dict):
            problems.append(f"attributes of {ticket!r} must be an object.")
            return None
        if set(values) != set(caps) or not all(isinstance(value, str) for value in values.values()):
            problems.append(
                f"attributes of {ticket!r} must give a string for exactly the "
                f"capped fields ({', '.join(sorted(caps))})."
            )
            valid = False
            break
    if tickets is not None and set(attributes) != set(tickets):
        without = [ticket for ticket in tickets if ticket not in attributes]
        if without:
            problems.append(f"attributes: ticket {without[0]!r} has none.")
        else:
            extra = next(iter(set(attributes) - set(tickets)))
            problems.append(f"attributes: {extra!r} is not a ticket.")
        valid = False
    return attributes if valid and tickets is not None else None


def _check_ticket_list(record: dict[Any, Any], name: str, problems: list[str]) -> list[str] | None:
    if name not in record:
        return None
    value = record[name]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        problems.append(f"{name} must be a list of tickets (strings).")
        return None
    return value


def _check_drawn_at(record: dict[Any, Any], problems: list[str]) -> None:
    if "drawn_at" not in record:
        return
    value = record["drawn_at"]
    try:
        drawn_at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        drawn_at = None
    if drawn_at is None or drawn_at.utcoffset() is None:
        problems.append("drawn_at must be an ISO 8601 date and time with an offset.")


def _check_winners_keep_caps(
    winners: list[str],
    caps: dict[str, int],
    attributes: dict[str, dict[str, str]],
    problems: list[str],
) -> None:
    counts: dict[tuple[str, str], int] = {}
    for ticket in winners:
        values = attributes.get(ticket)
        if values is None:
            problems.append(f"winners: {ticket!r} is not a ticket with attributes.")
            return
        for field in caps:
            counts[field, values[field]] = counts.get((field, values[field]), 0) + 1
    for (field, value), count in sorted(counts.items()):
        if count > caps[field]:
            problems.append(
                f"winners break the caps: {count} winners have {field} = {value!r}, "
                f"at most {caps[field]} allowed."
            )


def _compare_lists(
    name: str, recomputed: list[str], published: list[str], problems: list[str]
) -> None:
    if recomputed == published:
        return
    for index, (mine, theirs) in enumerate(zip(recomputed, published, strict=False)):
        if mine != theirs:
            problems.append(
                f"{name} differs at position {index + 1}: the draw gives {mine!r}, "
                f"the record has {theirs!r}."
            )
            return
    problems.append(f"{name} has {len(published)} tickets, the draw gives {len(recomputed)}.")


if __name__ == "__main__":
    sys.exit(main())
