"""Business rules of the contests app, one module per topic.

``entries`` (contests, entries and their confirmation), ``draws`` (the
invalidation of entries, the freeze and the draw), ``tickets`` (the frozen
tickets read page by page, and their digest), ``audit_record`` (the draw's
published record), ``answers`` (the answer links and the time to answer),
``selections`` (answers, disqualifications, promotions), ``selection_mail``
(the offers and the other mail about places) and ``privacy`` (the entries'
purge), among others. Callers import the topic module they need:
``from contests.services import draws``.
"""
