"""The processes below a launcher (`make run`, honcho), read from /proc.

honcho starts each line of the Procfile in a session of its own, so a process
group does not hold them all: these follow parent links instead.
"""

import contextlib
import os
from pathlib import Path

# The Procfile's programs, as their command lines start.
PROGRAMS = {
    "web": "gunicorn -c gunicorn.conf.py",
    "worker": "celery -A tweetup worker",
    "beat": "celery -A tweetup beat",
}


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, whatever its session (honcho gives each its own)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            if fields[0] != "Z":
                parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found.extend(children)
        frontier = children
    return found


def parent(pid: int) -> int:
    with contextlib.suppress(OSError):
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    return 0


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its parent.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def procfile_programs(launcher: int) -> dict[str, int]:
    """The Procfile's programs running below ``launcher``: name -> pid.

    Each is the child of the shell that honcho runs its line with; its own
    children (gunicorn's workers, Celery's pool) carry the same command line.
    """
    found = {}
    for shell in descendants(launcher):
        line = command_line(shell)
        if not line.startswith("/bin/sh -c "):
            continue
        for name, program in PROGRAMS.items():
            if program in line:
                for pid in descendants(shell):
                    if parent(pid) == shell and program in command_line(pid):
                        found[name] = pid
    return found
