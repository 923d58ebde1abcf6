"""make bench: its baseline project stands on the site's stack, and its driver runs to the end."""

import ast
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need
from tests.support import port_answers
from tweetup.settings import base

BASE_DIR = Path(__file__).resolve().parent.parent
BASELINE = BASE_DIR / "bench" / "baseline"
SITE_PACKAGES = {"tweetup", "contests", "visits", "visitors", "notifications"}


def baseline_settings(monkeypatch) -> dict:
    for name, value in {
        "SECRET_KEY": "baseline-settings-test",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        "CACHE_URL": "rediscache://127.0.0.1:6379/0",
    }.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASELINE / "settings.py"))


def test_the_baseline_has_the_sites_middleware_and_templates_engine(monkeypatch):
    settings = baseline_settings(monkeypatch)

    assert settings["MIDDLEWARE"] == base.MIDDLEWARE
    assert settings["INSTALLED_APPS"][1:] == base.INSTALLED_APPS
    (engine,) = settings["TEMPLATES"]
    (site_engine,) = base.TEMPLATES
    assert engine["BACKEND"] == site_engine["BACKEND"]
    assert engine["DIRS"] == site_engine["DIRS"]
    assert engine["OPTIONS"]["context_processors"] == site_engine["OPTIONS"]["context_processors"]
    assert settings["SECURE_CSP"] == base.SECURE_CSP


def test_the_baseline_settings_import_nothing_of_the_site():
    tree = ast.parse((BASELINE / "settings.py").read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }

    assert imported.isdisjoint(SITE_PACKAGES), imported


@pytest.mark.integration
def test_make_bench_smoke_runs_against_the_real_stack_and_prints_ratios(private_redis):
    """bench/run.py --smoke: both gunicorns, every figure with its ratio, the same pages."""
    need(port_answers("127.0.0.1", 5432), "no PostgreSQL answers at 127.0.0.1:5432")

    done = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--smoke",
            "--database=tweetup_bench_smoke",
            f"--redis=redis://127.0.0.1:{private_redis.port}",
            "--redis-dbs",
            "1",
            "2",
            "3",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    output = done.stdout
    assert done.returncode == 0, output[-3000:] + done.stderr[-3000:]
    rows = re.findall(
        r"^\| (\(\w\) [^|]+) \|.*\*\*(\d+\.\d\d)×\*\* \| ≥ 0\.5×: (met|MISSED) \|$", output, re.M
    )
    assert [title.split(",")[0] for title, _ratio, _verdict in rows] == [
        "(a) people entered per second",
        "(a) people entered per second",
        "(b) contest page /contests/bench-entries/",
        "(b) home page /",
    ]
    assert all(float(ratio) > 0 for _title, ratio, _verdict in rows)
    # The baseline renders the same pages from its fixed context: as many bytes.
    for page in ("contest page", "home page"):
        section = output[output.index(f"(b) {page} /", output.index("|\n\n")) :]
        site, baseline = re.findall(r"page (\d+\.\d) KiB", section)[:2]
        assert site == baseline, page
    assert "site server logs: 0 tracebacks, 0 worker timeouts" in output
    assert "baseline server logs: 0 tracebacks, 0 worker timeouts" in output
