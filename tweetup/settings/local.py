"""Development: what `make run` uses."""

from .base import *  # noqa: F403
from .base import SECURE_CSP, env

DEBUG = env.bool("DEBUG", default=True)

# Django's debug pages style themselves inline: while DEBUG, the policy only
# reports in the browser's console what it would refuse (CSP_REPORT_ONLY=0 enforces it).
if env.bool("CSP_REPORT_ONLY", default=DEBUG):
    SECURE_CSP_REPORT_ONLY, SECURE_CSP = SECURE_CSP, {}
