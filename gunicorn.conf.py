"""gunicorn's settings for TweetUp: ``gunicorn -c gunicorn.conf.py tweetup.wsgi``.

Read from the environment, so one file serves every machine (the acceptance
suite runs the site with it too):

- ``GUNICORN_BIND`` (default ``0.0.0.0:$PORT``, ``PORT`` defaulting to 8000);
- ``WEB_CONCURRENCY``: worker processes, by default two per core plus one,
  at most 12 (each keeps its own database connection);
- ``GUNICORN_TIMEOUT``: seconds a request may take before its worker is
  replaced (default 30).

Requests and errors are logged to standard output and standard error, for
the process manager to keep.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 12)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
accesslog = "-"
errorlog = "-"
