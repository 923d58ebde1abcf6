"""Production: secrets and hosts must come from the environment."""

from .base import *  # noqa: F403
from .base import cache_settings, env, smtp_mailer

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A connection kept between requests may have been closed by the database (a
# restart, a failover): test it before reuse rather than fail the next request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CACHES = cache_settings("rediscache://127.0.0.1:6379/1")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Served behind one TLS-terminating proxy unless told otherwise.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# Production sends real mail: EMAIL_HOST is required.
MAILERS = {"default": smtp_mailer(env("EMAIL_HOST"), port=587, use_tls=True)}
