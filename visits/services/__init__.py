"""Business rules of the visits app, the day itself, one module per topic.

``stops`` (the itinerary and its change records), ``questions`` (from the
public), ``live`` (updates on the day) and ``calendar`` (iCalendar files).
Callers import the topic module they need: ``from visits.services import stops``.
"""
