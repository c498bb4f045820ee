"""Root URLs: reports (the home page), the admin (data entry and administration) and the
language switch."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from .health import health

urlpatterns = [
    # For the load balancer and monitoring: no login, no data (config/health.py).
    path("health/", health, name="health"),
    # The home page is the reports dashboard of the user's own scope: what most users come for.
    path("", RedirectView.as_view(pattern_name="reports:home", permanent=False)),
    path("reports/", include("reports.urls")),
    # Every page needs a login (LoginRequiredMiddleware) except the admin's login page
    # (exempted by Django) and this one, so the login page can switch language.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
