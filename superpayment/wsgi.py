"""WSGI entry point (gunicorn). Tenant work is served synchronously: see ARCHITECTURE.md."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superpayment.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Import every view and load reference data now, not on each worker's first request (which
    otherwise takes about a second). Touches no database, so it is safe before gunicorn forks."""
    from django.urls import get_resolver

    from superpayment.money import supported_currencies
    from tenants.validators import countries

    get_resolver().url_patterns  # noqa: B018 - imports every URLconf and view module
    get_resolver().reverse_dict  # noqa: B018 - builds the reverse() table
    supported_currencies()
    countries()


_warm_up()
