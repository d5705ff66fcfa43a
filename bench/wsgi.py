"""WSGI entry point of the bench's gunicorn (``bench.settings``: the app plus baseline views)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
application = get_wsgi_application()
