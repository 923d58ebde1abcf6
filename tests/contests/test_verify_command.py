"""``manage.py verify_draw FILE_OR_URL`` and the verifier without Django."""

import copy
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from contests import draw_algorithm
from contests.services.audit_record import draw_audit_record
from tests.builders import drawn_contest


def run(*args) -> str:
    out = io.StringIO()
    call_command("verify_draw", *args, stdout=out)
    return out.getvalue()


def _record(**draw) -> dict:
    _contest, draw = drawn_contest(**draw)
    return draw_audit_record(draw=draw)


@pytest.fixture(scope="module")
def _records(django_db_setup, django_db_blocker) -> dict[str, dict]:
    """Two audit records, made once for the module: only their data stays, the rows go."""
    with django_db_blocker.unblock(), transaction.atomic():
        records = {
            "plain": _record(entries=30, winners=3, alternates=3),
            "capped": _record(entries=40, winners=4, alternates=2, caps={"country": 1}),
        }
        transaction.set_rollback(True)
    return records


@pytest.fixture
def record(_records) -> dict:
    return copy.deepcopy(_records["plain"])


@pytest.fixture
def capped_record(_records) -> dict:
    return copy.deepcopy(_records["capped"])


def write(tmp_path: Path, record: dict) -> str:
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return str(path)


def test_verifier_agrees_with_the_draw(tmp_path, record):
    output = run(write(tmp_path, record))
    assert output.startswith("OK")
    assert "30 tickets, 3 winners, 3 alternates" in output


def test_verifier_agrees_with_a_capped_draw(tmp_path, capped_record):
    assert run(write(tmp_path, capped_record)).startswith("OK")


def _flip_hex(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def _unchosen(record: dict) -> str:
    chosen = {*record["winners"], *record["alternates"]}
    return next(t for t in record["tickets"] if t not in chosen)


MUTATIONS = {
    "algorithm": lambda r: r.update(algorithm="tweetup-draw-v2"),
    "contest": lambda r: r.update(contest=""),
    "seed": lambda r: r.update(seed=_flip_hex(r["seed"])),
    "commitment": lambda r: r.update(commitment=_flip_hex(r["commitment"])),
    "external_entropy": lambda r: r.update(external_entropy=r["external_entropy"] + "!"),
    "tickets": lambda r: r["tickets"].remove(_unchosen(r)),
    "tickets_digest": lambda r: r.update(tickets_digest=_flip_hex(r["tickets_digest"])),
    "winners_count": lambda r: r.update(winners_count=r["winners_count"] + 1),
    "alternates_count": lambda r: r.update(alternates_count=r["alternates_count"] - 1),
    "caps": lambda r: r.update(caps={"country": 1}),
    "attributes": lambda r: r.update(attributes={r["tickets"][0]: {"country": "CH"}}),
    "ranking": lambda r: r["ranking"].insert(0, r["ranking"].pop(1)),
    "winners": lambda r: r["winners"].reverse(),
    "alternates": lambda r: r["alternates"].reverse(),
    "drawn_at": lambda r: r.update(drawn_at="2012-07-12 10:00"),
}


def test_every_published_key_is_covered():
    assert set(MUTATIONS) == set(draw_algorithm.AUDIT_RECORD_KEYS)


@pytest.mark.parametrize("key", sorted(MUTATIONS))
def test_changing_any_one_published_value_fails(tmp_path, record, key):
    changed = copy.deepcopy(record)
    MUTATIONS[key](changed)
    assert changed != record
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify_draw", write(tmp_path, changed), stdout=out)
    assert caught.value.returncode == 1
    assert out.getvalue().strip()
    assert "OK" not in out.getvalue().splitlines()


def test_changing_a_winners_attribute_fails_a_capped_draw(tmp_path, capped_record):
    changed = copy.deepcopy(capped_record)
    first, second = changed["winners"][:2]
    changed["attributes"][second] = dict(changed["attributes"][first])
    with pytest.raises(CommandError):
        run(write(tmp_path, changed))


def test_the_same_record_always_verifies_the_same(tmp_path, record):
    path = write(tmp_path, record)
    assert run(path) == run(path)


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read") as caught:
        run(str(tmp_path / "missing.json"))
    assert caught.value.returncode == 2


def test_invalid_json_is_reported(tmp_path):
    path = tmp_path / "draw.json"
    path.write_text("{not json", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_draw", str(path), stdout=out)
    assert "not valid JSON" in out.getvalue()


def test_other_url_schemes_are_refused():
    with pytest.raises(CommandError, match="Only http and https"):
        run("file:///etc/passwd")


def test_unreachable_url_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CommandError, match="Cannot fetch") as caught:
        run(f"http://127.0.0.1:{port}/contests/x/draw.json", "--timeout", "2")
    assert caught.value.returncode == 2


@pytest.mark.django_db(transaction=True)
def test_verifies_the_record_the_site_serves(live_server):
    contest, _draw = drawn_contest(entries=25, winners=5, alternates=3)
    path = reverse("contests:draw_json", kwargs={"slug": contest.slug})
    assert run(live_server.url + path).startswith("OK")


@pytest.mark.django_db(transaction=True)
def test_a_url_before_the_draw_is_a_clear_error(live_server):
    with pytest.raises(CommandError, match="HTTP 404"):
        run(live_server.url + "/contests/not-drawn/draw.json")


def test_a_record_served_for_another_contest_fails(monkeypatch, record):
    monkeypatch.setattr(
        draw_algorithm, "fetch_audit_record", lambda url, timeout: json.dumps(record)
    )
    with pytest.raises(CommandError):
        run("https://tweetup.example.org/contests/another-contest/draw.json")
    assert run(f"https://tweetup.example.org/contests/{record['contest']}/draw.json")


def test_verifier_needs_no_django(tmp_path, record):
    path = write(tmp_path, record)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    code = (
        "import sys, json; import contests.draw_algorithm as d; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'; "
        f"r = json.load(open({path!r})); print(d.verify_audit_record(r))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    script = subprocess.run(
        [sys.executable, "-m", "contests.draw_algorithm", path],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (script.returncode, script.stdout.strip()) == (0, "OK")


def test_the_verifier_downloaded_from_the_site_runs_alone(client, tmp_path, record):
    response = client.get(reverse("contests:verifier"))
    assert response.status_code == 200
    assert 'filename="verify_draw.py"' in response["Content-Disposition"]
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "verify_draw.py").write_bytes(b"".join(response.streaming_content))
    path = write(folder, record)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "PYTHON"))
    }

    def verify() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-I", "verify_draw.py", path],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert (verify().returncode, verify().stdout.strip()) == (0, "OK")
    record["winners"] = list(reversed(record["winners"]))
    write(folder, record)
    assert verify().returncode == 1


def _downloaded_verifier(client, folder: Path) -> Path:
    response = client.get(reverse("contests:verifier"))
    folder.mkdir(exist_ok=True)
    script = folder / "verify_draw.py"
    script.write_bytes(b"".join(response.streaming_content))
    return script


def _alone_env() -> dict:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "PYTHON"))
    }


def test_the_downloaded_verifier_names_itself_in_its_usage(client, tmp_path):
    script = _downloaded_verifier(client, tmp_path / "elsewhere")
    result = subprocess.run(
        [sys.executable, "-I", script.name],
        cwd=script.parent,
        env=_alone_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: verify_draw.py ")
    assert "contests.draw_algorithm" not in result.stderr


def test_the_module_run_with_python_m_names_itself_so():
    result = subprocess.run(
        [sys.executable, "-m", "contests.draw_algorithm"],
        cwd=settings.BASE_DIR,
        env=_alone_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: python -m contests.draw_algorithm ")


@pytest.mark.django_db(transaction=True)
def test_the_downloaded_verifier_checks_a_record_from_its_url(client, live_server, tmp_path):
    contest, _draw = drawn_contest(entries=12, winners=5, alternates=3)
    script = _downloaded_verifier(client, tmp_path / "elsewhere")
    draw_url = live_server.url + reverse("contests:draw_json", kwargs={"slug": contest.slug})

    def verify(source: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-I", script.name, source, "--timeout", "20"],
            cwd=script.parent,
            env=_alone_env(),
            capture_output=True,
            text=True,
            check=False,
        )

    result = verify(draw_url)
    assert (result.returncode, result.stdout.strip()) == (0, "OK"), result.stderr
    missing = verify(live_server.url + "/contests/not-drawn/draw.json")
    assert missing.returncode == 2
    assert "HTTP 404" in missing.stderr


def test_the_verifier_refuses_other_url_schemes_and_says_why(capsys):
    assert draw_algorithm.main(["file:///etc/passwd"]) == 2
    assert "Only http and https" in capsys.readouterr().err


def test_the_verifier_reads_a_record_from_a_url_as_from_a_file(monkeypatch, record, capsys):
    served = json.dumps(record)
    monkeypatch.setattr(draw_algorithm, "fetch_audit_record", lambda url, timeout: served)
    slug = record["contest"]
    assert draw_algorithm.main([f"https://tweetup.example.org/contests/{slug}/draw.json"]) == 0
    assert capsys.readouterr().out.strip() == "OK"
    assert draw_algorithm.main(["https://tweetup.example.org/contests/other/draw.json"]) == 1
    assert "served for 'other'" in capsys.readouterr().out
