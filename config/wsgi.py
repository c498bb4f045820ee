"""WSGI entry point for Placement Ledger.

The web server does not run Django's system checks (only `manage.py` does): the settings a page
cannot work without are checked here, so that a server without its ID-number keys or its secret
key refuses to start instead of answering /health/ "ok" and every worker page with a 500."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()


def _refuse_without_keys() -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from placement.checks import id_number_keys_check

    problems = [error.msg for error in id_number_keys_check(None)]
    if not settings.SECRET_KEY:
        problems.append("DJANGO_SECRET_KEY must be set in the environment.")
    if problems:
        raise ImproperlyConfigured(" ".join(problems))


_refuse_without_keys()
