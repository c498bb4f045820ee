"""Third-party apps under a name in the admin's language."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes (the login lockout's records), whose own name in the admin is "Axes"; its
    models' and fields' names are translated in locale/zh_Hans (it ships no Chinese)."""

    verbose_name = _("登录防护")
