"""Accounts in the admin: an administrator sets a user's role and scope on the user's own page."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from enterprises.models import UserScope

from .roles import user_role_sync

User = get_user_model()


class UserScopeInline(admin.StackedInline):
    """Role and scope (enterprise or region) of the account."""

    model = UserScope
    can_delete = True
    autocomplete_fields = ["region", "enterprise"]
    verbose_name = verbose_name_plural = _("角色与权限范围")


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class LedgerUserAdmin(UserAdmin):
    inlines = [UserScopeInline]
    list_display = ["username", "first_name", "is_active", "is_staff", "role", "scope_of"]
    list_select_related = ["scope__region", "scope__enterprise"]
    list_filter = ["is_active", "is_staff", "is_superuser", "scope__role", "groups"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The role decides the group (and so the permissions): kept in step on every save.
        user_role_sync(user=form.instance)

    @admin.display(description=_("角色"), ordering="scope__role")
    def role(self, obj):
        scope = getattr(obj, "scope", None)
        return scope.get_role_display() if scope else "—"

    @admin.display(description=_("管辖范围"))
    def scope_of(self, obj):
        scope = getattr(obj, "scope", None)
        if scope is None:
            return "—"
        return scope.enterprise or scope.region or _("全省")
