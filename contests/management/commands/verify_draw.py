"""Verify a draw from its audit record alone: ``manage.py verify_draw FILE_OR_URL``."""

from django.core.management.base import BaseCommand, CommandError

from contests import draw_algorithm


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
            problems += draw_algorithm.served_for_problems(source, record)
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
        # The verifier the entrants download reads its sources the same way.
        try:
            return draw_algorithm.read_audit_record_source(source, timeout=timeout)
        except draw_algorithm.SourceError as exc:
            raise CommandError(str(exc), returncode=2) from exc
