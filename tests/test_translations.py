"""Every string the site shows has its French translation in the catalogue."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.conftest import need

BASE_DIR = Path(__file__).resolve().parent.parent
CATALOGUE = Path("locale/fr/LC_MESSAGES/django.po")
LEFT_OUT = shutil.ignore_patterns(".venv", ".git", "var", "*.mo", "__pycache__", "db.sqlite3*")


def untranslated(path: Path) -> list[str]:
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    return [
        str(message.id)
        for message in catalogue
        if message.id
        and (
            message.fuzzy
            or not (all(message.string) if isinstance(message.string, tuple) else message.string)
        )
    ]


def test_the_committed_catalogue_translates_every_string_it_holds():
    assert not untranslated(BASE_DIR / CATALOGUE)


def test_the_catalogue_holds_every_string_of_the_code_and_templates(tmp_path):
    """makemessages on a copy of the tree finds no string the catalogue lacks."""
    need(bool(shutil.which("xgettext")), "gettext's xgettext is not installed")
    copy = tmp_path / "tree"
    shutil.copytree(BASE_DIR, copy, ignore=LEFT_OUT)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--ignore=bench", "-v0"],
        cwd=copy,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tweetup.settings.test"},
        check=True,
    )
    missing = untranslated(copy / CATALOGUE)
    assert not missing, "Translate these in locale/fr/LC_MESSAGES/django.po:\n" + "\n".join(missing)
