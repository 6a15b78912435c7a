"""ASGI entry point, for tooling that wants one. Production serves WSGI through gunicorn: the
tenant schema lives on the thread's connection and async ORM code can lose it."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superpayment.settings")
application = get_asgi_application()
