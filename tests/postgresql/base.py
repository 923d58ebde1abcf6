"""PostgreSQL for the tests: Django's backend, emptied by DELETE between tests.

A transactional test (``django_db(transaction=True)``, the browser and worker
tests) ends with Django's ``flush``: on PostgreSQL one TRUNCATE of every table
(new files for each, hundreds of milliseconds even for a handful of rows),
then the ``post_migrate`` signal, which inserts the content types and
permissions again, one committed INSERT at a time. Here the flush DELETEs the
rows instead, in one transaction (Django's foreign keys are deferrable, so the
order does not matter), and keeps the content types and permissions, which
``post_migrate`` would write back as they were: it then only reads them. The
other tests, rolled back, keep them too. Sequences are reset only when a test
asks for it (``reset_sequences``), through Django's TRUNCATE. Everything else
is Django's PostgreSQL backend; production never uses this module.
"""

from django.db.backends.postgresql import base, operations

# Rebuilt identically by post_migrate after every flush.
KEPT_TABLES = frozenset({"django_content_type", "auth_permission"})


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        emptied = [table for table in tables if table not in KEPT_TABLES]
        if not emptied:
            return []
        return [
            "SET CONSTRAINTS ALL DEFERRED",
            *(
                f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
                for table in emptied
            ),
        ]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
