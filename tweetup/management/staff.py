"""What ``createorganizer`` and ``createtouradmin`` share: a staff account in a group."""

import getpass
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tweetup.roles import staff_member_create

PASSWORD_VARIABLE = "TWEETUP_STAFF_PASSWORD"  # noqa: S105 - the name of a variable


class StaffCommand(BaseCommand):
    """Create a staff account in ``group``; the password is asked for, or read from a file."""

    group = ""
    role = ""

    @property
    def help(self) -> str:
        return (
            f"Create a {self.role} account (group {self.group!r}), which logs in to the "
            f"admin. The password is asked for twice, or read from --password-file or "
            f"the {PASSWORD_VARIABLE} variable; Django's password validators check it."
        )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="The account's address.")
        parser.add_argument(
            "--password-file",
            type=Path,
            help="A file whose first line is the password (e.g. a secret of the deployment).",
        )

    def handle(self, *args, username, email, password_file, **options):
        password = self._password(password_file)
        try:
            user = staff_member_create(
                username=username, email=email, password=password, group_name=self.group
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"{self.role.capitalize()} {user.username!r} created, in the group "
                f"{self.group!r}. Log in at {settings.SITE_URL.rstrip('/')}/admin/."
            )
        )

    def _password(self, password_file: Path | None) -> str:
        if password_file is not None:
            try:
                lines = password_file.read_text().splitlines()
            except OSError as error:
                raise CommandError(f"Cannot read {password_file}: {error.strerror}.") from error
            return lines[0] if lines else ""
        if os.environ.get(PASSWORD_VARIABLE):
            return os.environ[PASSWORD_VARIABLE]
        if not sys.stdin.isatty():
            raise CommandError(
                f"No password: give --password-file or set {PASSWORD_VARIABLE}, or run "
                "the command in a terminal to type it."
            )
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ; nothing was created.")
        return password
