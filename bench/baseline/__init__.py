"""The baseline of ``make bench``: what Django itself costs on the site's stack.

A Django project of its own (settings ``baseline.settings``, served as
``baseline.wsgi`` by the same gunicorn.conf.py), with the site's middleware,
templates engine, cache and PostgreSQL, and two views: the contest and home
pages rendered from the site's templates with a fixed context (no database),
and a POST of the entry form that makes one INSERT into a one-table model.
``bench/run.py`` measures the site against it.
"""
