"""Benchmark: the entries export by keyset paging (the job) against a server-side cursor.

Usage, after bench_dashboard.py has made its contests in the same database:

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tweetup_bench \\
        .venv/bin/python bench/bench_export_paging.py [--slug bench-dashboard] [--repeat 3]

Writes the same CSV to a temporary file both ways, alternating, and prints
each time: the job's keyset paging (``contests.services.exports``, 5,000
rows a query, no cursor: works behind PgBouncer in transaction mode) and the
former ``values_list(...).iterator()`` on a PostgreSQL server-side cursor.
"""

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slug", default="bench-dashboard")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tweetup.settings.local")
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tweetup_bench"
    )
    import django

    django.setup()
    from contests.models import Contest, Entry
    from contests.services.exports import ENTRY_COLUMNS, csv_cell, entries_export_write

    contest = Contest.objects.get(slug=args.slug)

    def cursor() -> int:
        rows = (
            Entry.objects.filter(contest=contest)
            .order_by("created_at", "pk")
            .values_list(*(field for _name, field in ENTRY_COLUMNS))
            .iterator(chunk_size=2000)
        )
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            count = 0
            for row in rows:
                writer.writerow([csv_cell(value, contest.tzinfo) for value in row])
                count += 1
        return count

    def keyset() -> int:
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out:
            return entries_export_write(contest=contest, out=out)

    times: dict[str, list[float]] = {"keyset paging (job)": [], "server-side cursor": []}
    for _ in range(args.repeat):
        for name, write in (("keyset paging (job)", keyset), ("server-side cursor", cursor)):
            started = time.perf_counter()
            rows = write()
            times[name].append(time.perf_counter() - started)
    for name, seconds in times.items():
        print(
            f"{name}: {rows:,} rows, median {statistics.median(seconds):.1f} s "
            f"(min {min(seconds):.1f}, max {max(seconds):.1f})"
        )
    ratio = statistics.median(times["keyset paging (job)"]) / statistics.median(
        times["server-side cursor"]
    )
    print(f"ratio keyset / cursor: {ratio:.2f}")


if __name__ == "__main__":
    main()
