"""The freeze, the draw and draw.json behind PgBouncer in transaction mode.

Behind PgBouncer in transaction mode each transaction may run on another
server connection, so a cursor cannot outlive its transaction (the CSV
export once returned 2,001 of a million lines that way). The site's long
reads page by keyset instead. This test starts Debian's ``pgbouncer`` on a
free port in front of the machine's PostgreSQL, freezes, draws and streams
draw.json through it in a process of its own (``DISABLE_SERVER_SIDE_CURSORS=1``,
pages of 7 tickets), and compares what it got with a direct connection.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from contests import draw_algorithm
from contests.models import Contest, Draw, Entry
from contests.services.audit_record import draw_audit_record
from tests.conftest import need
from tests.contests.drawing import add_entries, closed_contest
from tests.factories import EntryFactory
from tests.support import free_port, port_answers, wait_until

BASE_DIR = Path(__file__).resolve().parents[2]
PGBOUNCER = shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")

# What the process behind PgBouncer runs: the services the organizer's pages call.
THROUGH_PGBOUNCER = """
import json, sys
import django
django.setup()
from django.db import connection
from contests.models import Contest
from contests.services import audit_record, draws, tickets

tickets.PAGE_SIZE = 7  # many pages, each its own query
contest = Contest.objects.get(slug=sys.argv[1])
pages = []
contest = draws.contest_freeze(
    contest=contest, actor=None, progress=lambda done, total: pages.append([done, total])
)
draw = draws.draw_run(contest=contest, actor=None, notify=False, caps={"country": 2})
record = "".join(audit_record.draw_audit_record_stream(draw=draw))
print(json.dumps({
    "port": connection.settings_dict["PORT"],
    "server_side_cursors": not connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"],
    "pages": pages,
    "record": record,
}))
"""


@pytest.fixture
def pgbouncer():
    """A PgBouncer in transaction mode on a free port, any user trusted; yields its port."""
    need(PGBOUNCER is not None, "Debian's pgbouncer is not installed (apt-get install pgbouncer)")
    need(port_answers("127.0.0.1", 5432), "no PostgreSQL answers at 127.0.0.1:5432")
    folder = Path(tempfile.mkdtemp(prefix="tweetup-pgbouncer-"))
    # PgBouncer refuses to run as root: it then switches to nobody, who must read this.
    folder.chmod(0o755)
    user = connection.settings_dict["USER"] or "postgres"
    port = free_port()
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        "* = host=127.0.0.1 port=5432\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        "unix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"admin_users = {user}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 4\nmax_client_conn = 20\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]
    log = (folder / "pgbouncer.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_until(
            lambda: process.poll() is not None or port_answers("127.0.0.1", port),
            timeout=15,
            what="pgbouncer to listen",
        )
        assert process.poll() is None, (folder / "pgbouncer.log").read_text()
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_freeze_draw_and_draw_json_through_pgbouncer_match_a_direct_connection(pgbouncer):
    contest = closed_contest(slug="behind-pgbouncer", winners_count=4, alternates_count=3)
    add_entries(contest, 40)
    EntryFactory(contest=contest, confirmed_at=None)  # never in the draw
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    url = f"postgres://{user}@127.0.0.1:{pgbouncer}/{settings['NAME']}"

    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", THROUGH_PGBOUNCER, contest.slug],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tweetup.settings.test",
            "DATABASE_URL": url,
            "DISABLE_SERVER_SIDE_CURSORS": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    behind = json.loads(result.stdout.strip().splitlines()[-1])
    assert behind["port"] == pgbouncer
    assert behind["server_side_cursors"] is False
    assert behind["pages"] == [[7 * n, 40] for n in range(1, 6)] + [[40, 40]]

    # The direct connection sees the same freeze, draw and audit record.
    contest = Contest.objects.get(pk=contest.pk)
    draw = Draw.objects.get(contest=contest)
    tickets = list(Entry.objects.in_draw(contest).values_list("ticket", flat=True))
    assert contest.tickets_count == 40
    assert contest.tickets_digest == draw_algorithm.tickets_digest(tickets)
    record = json.loads(behind["record"])
    assert record == draw_audit_record(draw=draw)
    assert record["tickets"] == sorted(tickets)
    assert draw_algorithm.verify_audit_record(record) == []

    # And every one of those queries went through PgBouncer.
    with psycopg.connect(
        f"postgres://{user}@127.0.0.1:{pgbouncer}/pgbouncer",
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,  # the console speaks the simple protocol only
    ) as console:
        stats = {row[0]: row for row in console.execute("SHOW STATS").fetchall()}
    assert settings["NAME"] in stats
