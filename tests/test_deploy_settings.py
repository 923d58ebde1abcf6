"""Production settings and the site's own deploy checks (``manage.py check --deploy``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks

from tweetup.checks import EXAMPLE_LEGAL, legal_details_set, proxy_settings_agree

BASE_DIR = Path(__file__).resolve().parent.parent
# What the Makefile's `make check` gives the production settings.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "tweetup.settings.production",
    "SECRET_KEY": "check-deploy-0123456789abcdefghijklmnopqrstuvwxyz-0123456789",
    "ALLOWED_HOSTS": "tweetup.example.org",
    "EMAIL_HOST": "smtp.example.org",
    "DATABASE_URL": "sqlite://:memory:",
    "PRIVACY_CONTROLLER_NAME": "A lab",
    "PRIVACY_CONTROLLER_ADDRESS": "A street",
    "PRIVACY_CONTACT_EMAIL": "dpo@lab.example",
    "IMPRINT_PUBLISHER": "A lab",
    "IMPRINT_ADDRESS": "A street",
    "IMPRINT_EMAIL": "press@lab.example",
    "IMPRINT_RESPONSIBLE": "A person",
}


def _production(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "TRUSTED_PROXY_COUNT"}
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, *args],
        cwd=BASE_DIR,
        env={**environ, **PRODUCTION_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_tests_a_kept_database_connection_before_reusing_it():
    result = _production(
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['CONN_HEALTH_CHECKS'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_make_check_deploy_passes_with_the_makefile_environment():
    result = _production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    # Says where the client address is read, without failing the check.
    assert "tweetup.I001" in result.stderr


def test_check_deploy_fails_when_the_proxy_is_trusted_for_tls_but_not_for_addresses():
    result = _production(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", TRUSTED_PROXY_COUNT="0"
    )
    assert result.returncode != 0
    assert "tweetup.W001" in result.stderr


def _ids(messages) -> set[str]:
    return {message.id for message in messages}


def test_a_tls_proxy_with_no_trusted_hop_is_warned_about(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT = 0
    messages = proxy_settings_agree()
    assert _ids(messages) == {"tweetup.W001"}
    assert all(message.level == checks.WARNING for message in messages)


def test_trusted_hops_without_a_declared_proxy_are_warned_about(settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.TRUSTED_PROXY_COUNT = 2
    assert _ids(proxy_settings_agree()) == {"tweetup.W002", "tweetup.I001"}


def test_agreeing_proxy_settings_only_say_where_the_address_is_read(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT = 2
    messages = proxy_settings_agree()
    assert _ids(messages) == {"tweetup.I001"}
    assert "number 2 from the right" in messages[0].msg
    assert not any(message.is_serious(checks.WARNING) for message in messages)


def test_no_proxy_at_all_is_fine(settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.TRUSTED_PROXY_COUNT = 0
    assert proxy_settings_agree() == []


@pytest.mark.parametrize("count", [-1, "2"])
def test_a_proxy_count_that_is_not_a_whole_number_is_an_error(settings, count):
    settings.TRUSTED_PROXY_COUNT = count
    assert _ids(proxy_settings_agree()) == {"tweetup.E001"}


def test_a_wsgi_server_started_without_a_settings_module_serves_production_settings():
    """gunicorn imports tweetup.wsgi, whose package first loads the Celery app:
    the default that module sets must not be the local settings (DEBUG on)."""
    environ = {key: value for key, value in PRODUCTION_ENV.items()}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import tweetup.wsgi; from django.conf import settings; "
            "print(settings.SETTINGS_MODULE, settings.DEBUG)",
        ],
        cwd=BASE_DIR,
        env={
            **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
            **environ,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["tweetup.settings.production", "False"]


def test_check_deploy_warns_while_the_privacy_notice_lacks_a_detail():
    result = _production(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", PRIVACY_CONTACT_EMAIL=""
    )
    assert result.returncode != 0
    assert "tweetup.W003" in result.stderr and "PRIVACY_CONTACT_EMAIL" in result.stderr
    assert "IMPRINT_EMAIL" not in result.stderr


def test_the_legal_details_check_names_each_example_left(settings):
    assert "tweetup.W003" in _ids(legal_details_set())
    for name, example in EXAMPLE_LEGAL.items():
        setattr(settings, name, f"not {example}")
    assert legal_details_set() == []
