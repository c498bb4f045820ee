"""Monthly return pages, in the reports namespace (added to reports/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("returns/region/<str:code>/", views.region_returns, name="returns"),
    path("returns/region/<str:code>/generate/", views.return_generate, name="return_generate"),
    path("returns/<int:pk>/", views.return_detail, name="return_detail"),
    path(
        "returns/<int:pk>/submit/",
        views.return_action,
        {"action": "submit"},
        name="return_submit",
    ),
    path(
        "returns/<int:pk>/approve/",
        views.return_action,
        {"action": "approve"},
        name="return_approve",
    ),
    path(
        "returns/<int:pk>/send-back/",
        views.return_action,
        {"action": "send_back"},
        name="return_send_back",
    ),
    path(
        "returns/<int:pk>/reopen/",
        views.return_action,
        {"action": "reopen"},
        name="return_reopen",
    ),
    path("returns/<int:pk>/workers/", views.return_workers, name="return_workers"),
    path("returns/<int:pk>/compare/", views.return_compare, name="return_compare"),
    path("returns/<int:pk>/print/", views.return_print, name="return_print"),
    path("returns/<int:pk>.xlsx", views.return_export, name="return_export"),
]
