"""WSGI entry point (gunicorn periop.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "periop.settings")

application = get_wsgi_application()

# The active knowledge-base release from the database (a deployment with none stores and
# activates the configured directory); an invalid release stops start-up here.
from periop.drugs.registry import start_up  # noqa: E402

start_up()
