"""Real outages a test can cause in its own process."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from tests.support import free_port


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Point the default connection at a closed port (PostgreSQL) or a missing folder (SQLite).

    Needs a test outside a transaction (``django_db(transaction=True)``): the
    connection is closed, and opened again as it was afterwards.
    """
    params = connection.settings_dict
    saved = dict(params)
    connection.close()
    if connection.vendor == "sqlite":
        params["NAME"] = "/nonexistent-folder/db.sqlite3"
    else:
        params.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        params.clear()
        params.update(saved)
