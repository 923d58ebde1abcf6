"""The outbox's rules, one module per topic.

``outbox`` (the one entry point that writes a mail, resends, and the purge of
the rows about people forgotten), ``sending`` (a worker sends one row; the
sweep queues what is due) and ``reports`` (the mail that failed for good).
Callers import the topic module they need: ``from notifications.services import outbox``.
"""
