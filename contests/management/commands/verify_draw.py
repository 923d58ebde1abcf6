"""Verify a draw from its audit record alone: ``manage.py verify_draw FILE_OR_URL``."""

import re
import sys
import urllib.error
import urllib.parse
import urllib.request

from django.core.management.base import BaseCommand, CommandError

from contests import draw_algorithm

MAX_BYTES = 1 << 30  # A million tickets make about 20 MB; refuse anything absurd.


def _served_for(source: str, record: object) -> list[str]:
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


class Command(BaseCommand):
    help = (
        f"Recompute a {draw_algorithm.ALGORITHM} draw from its audit record (a file, an "
        "http(s) URL such as https://…/contests/<slug>/draw.json, or - for stdin) and print "
        "OK or what differs. Exit code 1 when the record does not check out."
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="FILE_OR_URL")
        parser.add_argument(
            "--timeout", type=float, default=60.0, help="Seconds to wait for a URL (default 60)."
        )

    def handle(self, *args, source: str, timeout: float, **options):
        text = self._read(source, timeout=timeout)
        record, problems = draw_algorithm.load_audit_record(text)
        if record is not None:
            problems += draw_algorithm.verify_audit_record(record)
            problems += _served_for(source, record)
        if problems:
            for problem in problems:
                self.stdout.write(problem)
            raise CommandError(
                f"The draw does not check out ({len(problems)} problem(s)).", returncode=1
            )
        summary = ""
        if isinstance(record, dict):
            summary = (
                f" {record['contest']}: {len(record['tickets'])} tickets, "
                f"{len(record['winners'])} winners, {len(record['alternates'])} alternates."
            )
        self.stdout.write(self.style.SUCCESS("OK") + summary)

    def _read(self, source: str, *, timeout: float) -> str:
        if source == "-":
            return sys.stdin.buffer.read().decode("utf-8-sig", errors="replace")
        if source.startswith(("http://", "https://")):
            return self._fetch(source, timeout=timeout)
        if "://" in source:
            raise CommandError(f"Only http and https URLs can be read, not {source}.", returncode=2)
        try:
            with open(source, encoding="utf-8-sig") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {source}: {exc}", returncode=2) from exc

    def _fetch(self, url: str, *, timeout: float) -> str:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, headers={"Accept": "application/json", "User-Agent": "tweetup-verify-draw"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data = response.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            hint = " (the contest may not be drawn yet)" if exc.code == 404 else ""
            raise CommandError(
                f"Cannot fetch {url}: HTTP {exc.code} {exc.reason}{hint}.", returncode=2
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CommandError(f"Cannot fetch {url}: {reason}.", returncode=2) from exc
        if len(data) > MAX_BYTES:
            raise CommandError(f"{url} is larger than {MAX_BYTES} bytes.", returncode=2)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{url} is not UTF-8 text: {exc}", returncode=2) from exc
