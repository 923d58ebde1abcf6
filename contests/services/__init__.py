"""Business rules of the contests app, one module per topic.

``entries`` (contests, entries and their confirmation), ``draws`` (the freeze,
the draw and its audit record), ``selections`` (offers, answers, promotions)
and ``privacy`` (the entries' purge). Callers import the topic module they
need: ``from contests.services import draws``.
"""
