"""Compile the translation catalogues (locale/*/LC_MESSAGES/*.po) into the build folder."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Compile locale/*/LC_MESSAGES/*.po with Babel into TWEETUP_BUILD_DIR/locale, "
        "where the site reads them (LOCALE_PATHS), so the source tree is never written to."
    )

    def handle(self, *args, **options):
        source = Path(settings.BASE_DIR) / "locale"
        target = Path(settings.BUILD_DIR) / "locale"
        catalogues = sorted(source.glob("*/LC_MESSAGES/*.po"))
        if not catalogues:
            raise CommandError(f"No catalogue (*.po) in {source}.")
        for po_path in catalogues:
            relative = po_path.relative_to(source)
            locale = relative.parts[0]
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file, locale=locale)
            errors = list(catalogue.check())
            if errors:
                message, problems = errors[0]
                raise CommandError(f"{po_path}: {message.id!r}: {problems[0]}")
            mo_path = target / relative.with_suffix(".mo")
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalogue)
            translated = sum(1 for message in catalogue if message.id and message.string)
            self.stdout.write(
                f"{po_path.relative_to(source.parent)} -> {mo_path}: "
                f"{translated} of {len(catalogue)} messages translated"
            )
            # A catalogue an older version compiled into the source tree would
            # take precedence over this one (LOCALE_PATHS' first folder wins).
            stale = po_path.with_suffix(".mo")
            if stale.exists():
                stale.unlink()
                self.stdout.write(f"Removed {stale}, compiled into the source tree earlier.")
