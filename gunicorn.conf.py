"""gunicorn's settings for TweetUp: the Procfile's ``web`` process.

Read from the environment, so one file serves every machine (``make run``,
the acceptance suite and production all run the site with it):

- ``GUNICORN_BIND`` (default ``0.0.0.0:$PORT``, ``PORT`` defaulting to 8000);
- ``WEB_CONCURRENCY``: worker processes, by default two per core plus one,
  at most 12 (each keeps its own database connection);
- ``GUNICORN_THREADS``: threads per worker process (default 1: sync workers,
  which suit a site behind nginx, which buffers slow clients); more than one
  serves more requests at once in less memory (gthread workers), each thread
  with its own database connection;
- ``GUNICORN_TIMEOUT``: seconds a request may take before its worker is
  replaced (default 30);
- ``GUNICORN_GRACEFUL_TIMEOUT``: seconds a worker has to finish the requests
  it holds when told to stop (SIGTERM, a deploy's SIGHUP; default 20).

gunicorn's own lines (start, workers, timeouts) go to standard error in the
site's format and clock (``LOG_FORMAT``, ``LOG_LEVEL``; README, "Watching
it"), beside the site's, which writes the access line of each request. With
``PROMETHEUS_MULTIPROC_DIR``, the workers' request counts are gathered there
for ``/metrics``, starting afresh at each start.
"""

import multiprocessing
import os
from pathlib import Path

from tweetup import logs

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 12)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Longer than nginx's keepalive to gunicorn, so that gunicorn never closes first.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
logconfig_dict = logs.gunicorn_logconfig(
    log_format=os.environ.get("LOG_FORMAT", "plain"), level=os.environ.get("LOG_LEVEL", "INFO")
)


def on_starting(server):
    """Start the request counts afresh when PROMETHEUS_MULTIPROC_DIR gathers the workers'.

    prometheus-client's multiprocess mode adds up every file in the folder
    (tweetup.metrics): those of a previous run would count again.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for counts in Path(folder).glob("*.db"):
            counts.unlink()
