"""Settings of `manage.py lintmigrations` (`make check`): the test settings and the linter.

django-migration-linter is a dev tool: the site's own settings never list it.
"""

from tweetup.settings.test import *  # noqa: F403
from tweetup.settings.test import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_migration_linter"]
