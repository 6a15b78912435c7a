"""WSGI entry point (gunicorn). Tenant work is served synchronously: see ARCHITECTURE.md."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superpayment.settings")
application = get_wsgi_application()
