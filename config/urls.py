"""Root URLs: the admin (data entry and administration) and the language switch."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django.views.i18n import set_language

admin.site.site_header = _("安置台账")
admin.site.site_title = _("安置台账")
admin.site.index_title = _("台账管理")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # Security (issue 5): every page needs a login (LoginRequiredMiddleware) except the admin's
    # login page (exempted by Django) and this one, so the login page can switch language.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
