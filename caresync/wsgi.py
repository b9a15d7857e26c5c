"""WSGI entry point (gunicorn in production)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caresync.settings")

from caresync.core.heap import FreezeAfterWarmUp  # noqa: E402

application = FreezeAfterWarmUp(get_wsgi_application())
