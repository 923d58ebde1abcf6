"""The first organizer of a real site: ``createorganizer`` and ``createtouradmin``."""

import io
import sys

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from tweetup.roles import ORGANIZERS, PRESS_OFFICERS, TOUR_ADMINS

STRONG = "correct horse battery staple 42"


def create(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def no_terminal(monkeypatch):
    monkeypatch.delenv("TWEETUP_STAFF_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO())


@pytest.fixture
def terminal(monkeypatch):
    """A person at a terminal who types the given answers to each password prompt."""
    monkeypatch.delenv("TWEETUP_STAFF_PASSWORD", raising=False)
    stdin = io.StringIO()
    stdin.isatty = lambda: True
    monkeypatch.setattr(sys, "stdin", stdin)

    def types(*answers: str) -> list[str]:
        prompts = []
        replies = iter(answers)

        def getpass(prompt: str = "") -> str:
            prompts.append(prompt)
            return next(replies)

        monkeypatch.setattr("getpass.getpass", getpass)
        return prompts

    return types


def test_createorganizer_reads_the_password_file_and_puts_the_organizer_in_its_group(
    db, tmp_path, no_terminal
):
    secret = tmp_path / "password"
    secret.write_text(STRONG + "\n")
    out = create("createorganizer", "ana", "--email", "ana@example.org", "--password-file", secret)
    ana = User.objects.get(username="ana")
    assert ana.is_staff and not ana.is_superuser
    assert ana.email == "ana@example.org"
    assert ana.check_password(STRONG)
    assert list(ana.groups.values_list("name", flat=True)) == [ORGANIZERS]
    assert ana.has_perm("contests.change_contest")
    assert not ana.has_perm("visits.change_tourstop")
    assert "Organizer 'ana' created" in out and "/admin/" in out


def test_createtouradmin_asks_for_the_password_twice_and_puts_the_tour_admin_in_its_group(
    db, terminal
):
    prompts = terminal(STRONG, STRONG)
    create("createtouradmin", "tom")
    tom = User.objects.get(username="tom")
    assert len(prompts) == 2
    assert tom.check_password(STRONG)
    assert list(tom.groups.values_list("name", flat=True)) == [TOUR_ADMINS]
    assert tom.has_perm("visits.change_tourstop")


def test_createpressofficer_makes_someone_who_writes_to_visitors_and_checks_them_in(db, terminal):
    terminal(STRONG, STRONG)
    create("createpressofficer", "pia")
    pia = User.objects.get(username="pia")
    assert list(pia.groups.values_list("name", flat=True)) == [PRESS_OFFICERS]
    assert pia.has_perm("visitors.add_visitmessage")
    assert pia.has_perm("visitors.check_in_visitorprofile")
    assert pia.has_perm("visits.add_liveupdate")
    assert not pia.has_perm("visits.change_tourstop")
    assert not pia.has_perm("contests.change_contest")


def test_two_different_passwords_create_nobody(db, terminal):
    terminal(STRONG, STRONG + "!")
    with pytest.raises(CommandError, match="differ"):
        create("createorganizer", "ana")
    assert not User.objects.exists()


def test_the_password_variable_serves_a_deployment_script(db, no_terminal, monkeypatch):
    monkeypatch.setenv("TWEETUP_STAFF_PASSWORD", STRONG)
    create("createorganizer", "ana")
    assert User.objects.get(username="ana").check_password(STRONG)


@pytest.mark.parametrize(
    ("password", "refusal"),
    [("password123", "too common"), ("x7!", "too short"), ("anabelle-ana", "too similar")],
)
def test_a_password_djangos_validators_refuse_creates_nobody(
    db, no_terminal, monkeypatch, password, refusal
):
    monkeypatch.setenv("TWEETUP_STAFF_PASSWORD", password)
    with pytest.raises(CommandError, match=refusal):
        create("createorganizer", "anabelle")
    assert not User.objects.exists()


def test_without_a_password_or_a_terminal_it_says_how_to_give_one(db, no_terminal):
    with pytest.raises(CommandError, match="--password-file"):
        create("createorganizer", "ana")
    assert not User.objects.exists()


def test_an_existing_username_is_left_alone(db, no_terminal, monkeypatch):
    existing = User.objects.create_user("ana", password="something else entirely 1")
    monkeypatch.setenv("TWEETUP_STAFF_PASSWORD", STRONG)
    with pytest.raises(CommandError, match="exists already"):
        create("createorganizer", "ana")
    existing.refresh_from_db()
    assert not existing.is_staff and not existing.groups.exists()
