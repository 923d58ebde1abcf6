"""The lock files every install reads, and what a fresh server lacks (var/)."""

import re
from pathlib import Path

from packaging.requirements import Requirement

from tweetup.celery import Scheduler, app

BASE_DIR = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)", re.MULTILINE)


def _pins(lock: str) -> dict[str, str]:
    text = (BASE_DIR / lock).read_text()
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(text)}


def _requirements(path: str) -> list[Requirement]:
    lines = (BASE_DIR / path).read_text().splitlines()
    return [Requirement(line) for line in lines if line and not line.startswith(("#", "-"))]


def test_every_runtime_requirement_is_locked_at_its_version_with_hashes():
    lock = _pins("requirements.lock")
    for requirement in _requirements("requirements.txt"):
        name = requirement.name.lower().replace("_", "-")
        assert name in lock, f"{name} is missing from requirements.lock: run make lock"
        assert requirement.specifier.contains(lock[name]), f"{name} {lock[name]}: run make lock"
    text = (BASE_DIR / "requirements.lock").read_text()
    for block in re.split(r"\n(?=[A-Za-z])", text.split("\n\n", 1)[-1]):
        if "==" in block:
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def test_celery_redis_transport_needs_are_in_the_runtime_lock():
    """kombu's Redis transport imports packaging and redis: the site's broker in
    production and in `make run` when Redis answers."""
    lock = _pins("requirements.lock")
    assert "packaging" in lock and "redis" in lock


def test_the_dev_lock_pins_the_site_packages_as_the_runtime_lock_does():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    for requirement in _requirements("requirements-dev.txt"):
        assert requirement.name.lower().replace("_", "-") in dev


def test_beat_makes_the_folder_of_its_schedule_file(tmp_path):
    """On a fresh clone or a new server var/ does not exist yet."""
    filename = tmp_path / "var" / "beat" / "celerybeat-schedule"
    scheduler = Scheduler(app=app, schedule_filename=str(filename), lazy=True)
    scheduler.setup_schedule()
    scheduler.close()
    assert filename.parent.is_dir()
    assert list(filename.parent.iterdir())
