"""Production's supervisor, configured from the Procfile: a process that dies is started again.

The stack runs its processes as README "Production" does: `honcho export`
writes supervisord's programs from the Procfile (deploy/supervisord.conf) and
Debian's supervisord runs them. A worker killed for good (an out-of-memory
kill, or Celery's own "Unrecoverable error" when Redis goes away) is started
again, and supervisord's log says so.
"""

import pytest

from tests.support import wait_until


@pytest.mark.acceptance
def test_a_killed_worker_is_started_again_and_its_death_is_logged(stack):
    worker = stack.processes["worker"]
    first = worker.pid
    stack.worker_kill()
    stack.worker_start()  # returns once a new worker is ready; nothing here started one
    assert worker.pid not in (0, first)
    said = stack.supervisor_log()
    assert "exited: worker-1 (terminated by SIGKILL; not expected)" in said, said
    assert said.count("spawned: 'worker-1'") >= 2


@pytest.mark.acceptance
def test_every_procfile_process_runs_under_supervisord_and_one_beat_only(stack):
    def states() -> dict[str, str]:
        lines = stack.supervisor.ctl("status").splitlines()
        return {line.split()[0]: line.split()[1] for line in lines if line.strip()}

    wait_until(
        lambda: (
            states()
            == {
                "tweetup:web-1": "RUNNING",
                "tweetup:worker-1": "RUNNING",
                "tweetup:beat-1": "RUNNING",
            }
        ),
        timeout=30,
        what="web, worker and beat to be RUNNING, and nothing else",
    )
