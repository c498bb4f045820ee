"""Root URLs: reports (the home page), the admin (data entry and administration) and the
language switch."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # --- Reports (issue 4): the home page is the reports dashboard ---
    path("", RedirectView.as_view(pattern_name="reports:home", permanent=False)),
    path("reports/", include("reports.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
