"""What is built from the source goes to TWEETUP_BUILD_DIR, never into the source tree."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def run_django(code: str, build_dir: Path) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tweetup.settings.local",
            "TWEETUP_BUILD_DIR": str(build_dir),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_the_catalogues_compile_into_the_build_folder_where_the_site_reads_them(tmp_path):
    build = tmp_path / "build"
    source_mo = sorted((BASE_DIR / "locale").glob("*/LC_MESSAGES/*.mo"))
    before = {path: path.stat().st_mtime_ns for path in source_mo}
    out = run_django(
        "from django.core.management import call_command; call_command('compilecatalogue')",
        build,
    )
    assert (build / "locale" / "fr" / "LC_MESSAGES" / "django.mo").is_file(), out
    # Nothing compiled into the source tree (an older one's is removed, not written).
    for path in sorted((BASE_DIR / "locale").glob("*/LC_MESSAGES/*.mo")):
        assert before.get(path) == path.stat().st_mtime_ns, f"{path} was written"
    french = run_django(
        "from django.utils import translation; translation.activate('fr'); "
        "print(translation.gettext('English'))",
        build,
    )
    assert french.strip() == "Anglais"


def test_collectstatic_gathers_into_the_build_folder(tmp_path):
    build = tmp_path / "build"
    out = run_django("from django.conf import settings; print(settings.STATIC_ROOT)", build)
    assert Path(out.strip()) == build / "static"
