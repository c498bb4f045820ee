"""Report pages: dashboards by region or enterprise, the worker list, and their exports."""

from django.urls import path

from . import views
from .returns import urls as returns_urls

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("national/", views.national_dashboard, name="national"),
    path("national/<str:table>.xlsx", views.national_export, name="national_export"),
    path("region/<str:code>/", views.region_dashboard, name="region"),
    path("region/<str:code>/<str:table>.xlsx", views.region_export, name="region_export"),
    path("enterprise/<int:pk>/", views.enterprise_dashboard, name="enterprise"),
    path(
        "enterprise/<int:pk>/<str:table>.xlsx",
        views.enterprise_export,
        name="enterprise_export",
    ),
    path("enterprise/<int:pk>/workers/", views.enterprise_workers, name="workers"),
]
# Monthly returns (月报): reports/returns/urls.py.
urlpatterns += returns_urls.urlpatterns
