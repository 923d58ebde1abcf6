"""Business rules of the visitors app, one module per topic.

``places`` (a winner accepts and becomes a visitor), ``profiles``, ``links``
(the visitor's signed links), ``mail`` (everything the site writes to
visitors), ``check_in``, ``messages`` (from the organizers) and ``privacy``.
Callers import the topic module they need: ``from visitors.services import places``.
"""
