"""System checks of the site's own settings (``manage.py check --deploy``).

Rate limits count per client address, read through ``TRUSTED_PROXY_COUNT``
proxies (``tweetup.http.client_ip``), while ``SECURE_PROXY_SSL_HEADER`` says
that a TLS-terminating proxy stands in front of the site. The two describe the
same proxies, so they must agree:

- ``tweetup.W001``: the proxy header is trusted but ``TRUSTED_PROXY_COUNT`` is
  0. Every client then has the proxy's address, and shares one rate limit
  with everybody (one busy network locks the whole public out of entering).
- ``tweetup.W002``: ``TRUSTED_PROXY_COUNT`` is above 0 but no proxy header is
  trusted. If clients reach gunicorn directly, each picks its own address
  with an ``X-Forwarded-For`` header and no rate limit holds.
- ``tweetup.I001`` (information, never fails a check): where the client
  address is read, so whoever deploys can check it against the proxies.
- ``tweetup.W003``: a detail of the privacy notice or the imprint (who holds
  the data, whom to write to) is empty or still the example ``make run`` shows.

A proxy chain the checks cannot see (a CDN before the TLS proxy) is declared
by setting both; a check that does not apply can be silenced with
``SILENCED_SYSTEM_CHECKS``.
"""

from django.conf import settings
from django.core import checks

# The privacy notice's and the imprint's details when the environment gives none:
# examples for `make run`, which production must replace (tweetup.W003).
EXAMPLE_LEGAL = {
    "PRIVACY_CONTROLLER_NAME": "Example Laboratory",
    "PRIVACY_CONTROLLER_ADDRESS": "1 Example Road, 1211 Geneva, Switzerland",
    "PRIVACY_CONTACT_EMAIL": "privacy@example.org",
    "IMPRINT_PUBLISHER": "Example Laboratory, Communication Group",
    "IMPRINT_ADDRESS": "1 Example Road, 1211 Geneva, Switzerland",
    "IMPRINT_EMAIL": "tweetup@example.org",
    "IMPRINT_RESPONSIBLE": "Alex Example, Head of Communication",
}


@checks.register(checks.Tags.security, deploy=True)
def legal_details_set(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    left = [
        name
        for name, example in EXAMPLE_LEGAL.items()
        if getattr(settings, name, example) in (example, "")
    ]
    if not left:
        return []
    return [
        checks.Warning(
            "The privacy notice and the imprint show empty or example details: "
            + ", ".join(left)
            + ".",
            hint="Set these environment variables to the organisation that holds the data "
            "and the people to write to (README, Production).",
            id="tweetup.W003",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def proxy_settings_agree(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    ssl_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not isinstance(count, int) or count < 0:
        return [
            checks.Error(
                "TRUSTED_PROXY_COUNT must be a whole number, 0 or more.",
                id="tweetup.E001",
            )
        ]
    messages: list[checks.CheckMessage] = []
    if ssl_header and count == 0:
        messages.append(
            checks.Warning(
                "SECURE_PROXY_SSL_HEADER trusts a proxy, but TRUSTED_PROXY_COUNT is 0: every "
                "client gets the proxy's address, and all share one rate limit.",
                hint="Set TRUSTED_PROXY_COUNT to the number of proxies that append to "
                "X-Forwarded-For in front of gunicorn.",
                id="tweetup.W001",
            )
        )
    if count > 0 and not ssl_header:
        messages.append(
            checks.Warning(
                f"TRUSTED_PROXY_COUNT is {count} but SECURE_PROXY_SSL_HEADER trusts no proxy: "
                "if clients reach gunicorn directly, each one picks its address with "
                "X-Forwarded-For and no rate limit holds.",
                hint="Set TRUSTED_PROXY_COUNT=0 when nothing stands in front of gunicorn; "
                "otherwise declare the proxy's header in SECURE_PROXY_SSL_HEADER.",
                id="tweetup.W002",
            )
        )
    if count > 0:
        messages.append(
            checks.Info(
                f"Client addresses (rate limits) are read as the address number {count} from "
                "the right of X-Forwarded-For: exactly that many proxies must append to it.",
                id="tweetup.I001",
            )
        )
    return messages
