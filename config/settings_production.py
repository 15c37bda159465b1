"""Production settings: config.settings with the dev defaults that are unsafe on the internet
removed. Use DJANGO_SETTINGS_MODULE=config.settings_production; `python manage.py check --deploy`
is clean with it. Every value still comes from the environment (docs/operations.md lists them)."""

from .settings import *  # noqa: F403  (this module is the dev settings plus the overrides below)
from .settings import env

DEBUG = False
# No defaults for secrets: a deployment that forgot them must not start with the dev values.
SECRET_KEY = env.str("SECRET_KEY")
CREDENTIALS_KEYS = env.list("CREDENTIALS_KEYS")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# HTTPS only. TLS usually ends at a proxy that says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe /healthz over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)  # one year
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
