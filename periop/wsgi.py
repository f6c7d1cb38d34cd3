"""WSGI entry point (gunicorn periop.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "periop.settings")

application = get_wsgi_application()
