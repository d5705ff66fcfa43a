"""Settings for the bench's own processes: production settings plus the baseline views' URLs.

The database, broker and signing key come from the environment the bench runner sets (a
dedicated database it creates and drops), so nothing here touches a developer's data.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The client is the benchmark: an authority's rate limit would measure the limiter instead.
AUTHORITY_THROTTLE_RATE = None
# A browsable-API renderer or debug query log would slow every request the baseline does not pay.
DEBUG = False
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# collectstatic is not part of the bench: an empty folder keeps WhiteNoise quiet.
STATIC_ROOT = VAR_DIR / "bench" / "static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# Loopback over plain HTTP: the session cookie must travel without TLS.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
